"""google.cloud.run.v2.Services: services, revisions by generation, IAM policy.

GetService / ListServices / CreateService / UpdateService / DeleteService (the last three
long-running) / Get/SetIamPolicy / TestIamPermissions. Each project is seeded with
``thoth-mcp-server`` (us-central1, runtime ``thoth-mcp-sa``, env vars from the secrets
``gitlab-token`` and ``gitlab-url``); it and every created service are answered by a stub HTTP
server (:mod:`thothctl.emulator.stub`) on a loopback port chosen at start, so their URIs (and
scheduler jobs aimed at them) are refreshed when the emulator starts. What is validated and the
choices where Google does not say: docs/emulator.md, "Cloud Run".
"""

from __future__ import annotations

import random
import re
import string
import threading
import uuid
from typing import Any

from google.cloud.run_v2 import types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.longrunning import operations_pb2

from thothctl.emulator import base, iam_policy
from thothctl.emulator.base import EmulatedService, rpc
from thothctl.emulator.operations import operations, pack
from thothctl.emulator.run_validate import validate

SERVICES_TABLE = "run.services"
POLICIES_TABLE = "run.policies"
STUB_TABLE = "run.stub"  # service name -> {"port": int} for stub-backed services
# revision name -> {"env": {VAR: [secret, version]}, "values": {VAR: value}}: the secret env vars
# a revision was created with, and their values once an instance of it started (stub.py)
REVISIONS_TABLE = "run.revisions"

SEEDED_SERVICE = "thoth-mcp-server"
SEEDED_REGION = "us-central1"
INVOKER_ROLE = "roles/run.invoker"
SERVICE_ID_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?")  # fullmatch: $ allows \n
USER_FIELDS = (
    "description",
    "labels",
    "annotations",
    "client",
    "client_version",
    "ingress",
    "launch_stage",
    "binary_authorization",
    "template",
    "traffic",
    "scaling",
    "invoker_iam_disabled",
    "default_uri_disabled",
    "custom_audiences",
)
RUN_PERMISSIONS = (
    "run.services.get",
    "run.services.list",
    "run.services.update",
    "run.services.delete",
    "run.services.create",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
    "run.routes.invoke",
)


def service_name(project: str, location: str, service: str) -> str:
    return f"projects/{project}/locations/{location}/services/{service}"


def _missing(name: str) -> base.EmulatorError:
    parts = (name.split("/") + [""] * 6)[:6]
    project, location, service = parts[1], parts[3], parts[5]
    return base.not_found(
        f"Resource '{service}' of kind 'SERVICE' in region '{location}' in project '{project}' "
        "does not exist."
    )


def _copy(svc: types.Service) -> types.Service:
    return types.Service.deserialize(types.Service.serialize(svc))


def _revision_id(service: str, generation: int) -> str:
    suffix = "".join(random.choices(string.ascii_lowercase, k=3))
    return f"{service}-{generation:05d}-{suffix}"


def _latest_traffic() -> types.TrafficTarget:
    """All traffic to the latest revision (the default)."""
    return types.TrafficTarget(
        type_=types.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=100
    )


def _check_revision_name(key: str, current: types.Service | None, revision: str) -> None:
    """A changed template may not take the name of a revision the service already has."""
    if not revision or current is None:
        return
    if f"{key}/revisions/{revision}" in (
        current.latest_created_revision,
        current.latest_ready_revision,
    ):
        raise base.already_exists(
            f"Revision named '{revision}' with different configuration already exists."
        )


class RunService(EmulatedService):
    service_name = "google.cloud.run.v2.Services"
    api = "run.googleapis.com"
    api_title = "Cloud Run Admin API"
    stored_types = (types.Service, policy_pb2.Policy)

    def __init__(self, emulator):
        super().__init__(emulator)
        operations(emulator).register_effect("run.update", self._effect_ready)
        operations(emulator).register_effect("run.delete", self._effect_deleted)
        self.stubs: dict[str, Any] = {}  # service name -> stub.StubServer
        self._ports: dict[str, int] = {}  # last stub port per service, reused across resets

    # --- seeding and the stub ------------------------------------------------------------
    def seed(self, project: dict[str, Any]) -> None:
        pid = project["id"]
        name = service_name(pid, SEEDED_REGION, SEEDED_SERVICE)
        runtime = f"thoth-mcp-sa@{pid}.iam.gserviceaccount.com"

        def secret_env(var: str, secret: str) -> types.EnvVar:
            return types.EnvVar(
                name=var,
                value_source=types.EnvVarSource(
                    secret_key_ref=types.SecretKeySelector(secret=secret, version="latest")
                ),
            )

        template = types.RevisionTemplate(
            service_account=runtime,
            max_instance_request_concurrency=80,
            timeout="300s",
            containers=[
                types.Container(
                    name=SEEDED_SERVICE,
                    image=f"us-central1-docker.pkg.dev/{pid}/thoth/{SEEDED_SERVICE}:latest",
                    env=[
                        secret_env("GITLAB_TOKEN", "gitlab-token"),
                        secret_env("GITLAB_BASE_URL", "gitlab-url"),
                    ],
                    ports=[types.ContainerPort(name="http1", container_port=8080)],
                )
            ],
        )
        now = base.timestamp()
        svc = types.Service(
            name=name,
            uid=str(uuid.uuid4()),
            generation=1,
            create_time=now,
            update_time=now,
            creator="deployer@example.com",
            last_modifier="deployer@example.com",
            ingress=types.IngressTraffic.INGRESS_TRAFFIC_ALL,
            launch_stage="GA",
            template=template,
            traffic=[_latest_traffic()],
            uri=self._placeholder_uri(),
        )
        svc.latest_created_revision = f"{name}/revisions/{_revision_id(SEEDED_SERVICE, 1)}"
        self._remember_revision(svc)
        self._mark_ready(svc)
        self.store.table(SERVICES_TABLE)[name] = svc
        self.store.table(POLICIES_TABLE)[name] = iam_policy.new_policy()
        self.store.table(STUB_TABLE)[name] = {"port": 0}

    def _placeholder_uri(self) -> str:
        return f"http://{self.emu.stub_host}:0"

    def on_start(self) -> None:
        from thothctl.emulator import stub

        with self.store.lock:
            backed = dict(self.store.table(STUB_TABLE))
        for name, rec in backed.items():
            server = self.stubs.get(name)
            if server is None:
                server = stub.StubServer(
                    self.emu,
                    name,
                    host=self.emu.stub_host,
                    port=rec.get("port") or self._ports.get(name, 0),
                )
                server.start()
                self.stubs[name] = server
                self._ports[name] = server.port
            self._refresh_uri(name, server.url)

    def on_stop(self) -> None:
        for server in list(self.stubs.values()):
            server.stop()
        self.stubs.clear()

    def on_reset(self) -> None:
        """Keep the stub servers listening (stopping one waits for its poll loop): forget what
        they recorded and were told, stop those no service is backed by any more, re-point URIs."""
        with self.store.lock:
            backed = set(self.store.table(STUB_TABLE))
        for name, server in list(self.stubs.items()):
            if name in backed:
                server.reset()
            else:
                server.stop()
                del self.stubs[name]
        self.on_start()

    def _refresh_uri(self, name: str, url: str) -> None:
        """Point a stub-backed service (and scheduler jobs aimed at its old URL) at the stub."""
        with self.store.lock:
            svc = self.store.table(SERVICES_TABLE).get(name)
            if svc is None:
                return
            old = svc.uri
            self.store.table(STUB_TABLE)[name] = {"port": int(url.rsplit(":", 1)[1])}
            if old == url:
                return
            svc.uri = url
            del svc.urls[:]
            svc.urls.append(url)
            self._retarget_jobs(old, url)
            self.store.touch()

    def _retarget_jobs(self, old: str, new: str) -> None:
        if not old or old.endswith(":0"):
            return
        for job in self.store.table("scheduler.jobs").values():
            target = getattr(job, "http_target", None)
            if target is None or not target.uri.startswith(old):
                continue
            target.uri = new + target.uri[len(old) :]
            if target.oidc_token.audience.startswith(old):
                target.oidc_token.audience = new + target.oidc_token.audience[len(old) :]

    # --- helpers used by the stub and the scheduler --------------------------------------
    def lookup(self, name: str) -> types.Service | None:
        with self.store.lock:
            svc = self.store.table(SERVICES_TABLE).get(name)
            return _copy(svc) if svc is not None else None

    def invokers(self, name: str) -> list[str]:
        with self.store.lock:
            policy = self.store.table(POLICIES_TABLE).get(name)
            if policy is None:
                return []
            out: list[str] = []
            for binding in policy.bindings:
                if binding.role in (INVOKER_ROLE, "roles/run.admin", "roles/owner", "roles/editor"):
                    out.extend(binding.members)
            return out

    # --- internals -------------------------------------------------------------------------
    def _remember_revision(self, svc: types.Service) -> None:
        """Keep the secret env refs of the revision ``svc`` just created: its instances resolve
        them when they start (stub.py), whatever later templates say."""
        refs = {
            env.name: [
                env.value_source.secret_key_ref.secret,
                env.value_source.secret_key_ref.version or "latest",
            ]
            for container in svc.template.containers
            for env in container.env
            if env.value_source.secret_key_ref.secret
        }
        revisions = self.store.table(REVISIONS_TABLE)
        revisions.setdefault(svc.latest_created_revision, {"env": refs, "values": {}})

    def _mark_ready(self, svc: types.Service) -> None:
        ts = base.timestamp()
        svc.reconciling = False
        svc.observed_generation = svc.generation
        svc.latest_ready_revision = svc.latest_created_revision
        svc.terminal_condition = types.Condition(
            type_="Ready", state=types.Condition.State.CONDITION_SUCCEEDED, last_transition_time=ts
        )
        del svc.conditions[:]
        for kind in ("RoutesReady", "ConfigurationsReady"):
            svc.conditions.append(
                types.Condition(
                    type_=kind,
                    state=types.Condition.State.CONDITION_SUCCEEDED,
                    last_transition_time=ts,
                )
            )
        del svc.traffic_statuses[:]
        for target in svc.traffic:
            svc.traffic_statuses.append(
                types.TrafficTargetStatus(
                    type_=target.type_,
                    revision=target.revision,
                    percent=target.percent,
                    tag=target.tag,
                )
            )
        if not svc.urls and svc.uri:
            svc.urls.append(svc.uri)
        svc.etag = base.new_etag()

    def _parse(self, name: str) -> tuple[str, str, str]:
        parts = name.split("/")
        if (
            len(parts) != 6
            or parts[0] != "projects"
            or parts[2] != "locations"
            or parts[4] != "services"
        ):
            raise base.invalid(
                f"Invalid resource name {name!r}: expected "
                "projects/PROJECT/locations/LOCATION/services/SERVICE."
            )
        project = self.emu.resolve_project(parts[1])
        return project["id"], parts[3], parts[5]

    def _key(self, name: str) -> str:
        pid, location, svc = self._parse(name)
        return service_name(pid, location, svc)

    def _get(self, name: str) -> types.Service:
        svc = self.store.table(SERVICES_TABLE).get(self._key(name))
        if svc is None:
            raise _missing(name)
        return svc

    # --- effects -----------------------------------------------------------------------------
    def _effect_ready(self, args: dict[str, Any]):
        svc = self.store.table(SERVICES_TABLE).get(args["name"])
        if svc is None:
            raise _missing(args["name"])
        if svc.generation == args["generation"]:
            self._mark_ready(svc)
        return _copy(svc), _copy(svc)

    def _effect_deleted(self, args: dict[str, Any]):
        key = args["name"]
        svc = self.store.table(SERVICES_TABLE).pop(key, None)
        if svc is None:
            raise _missing(key)
        self.store.table(POLICIES_TABLE).pop(key, None)
        self.store.table(STUB_TABLE).pop(key, None)
        stub = self.stubs.pop(key, None)
        if stub is not None:  # stopping waits for its poll loop: not under the store lock
            threading.Thread(target=stub.stop, daemon=True).start()
        return _copy(svc), _copy(svc)

    # --- RPCs --------------------------------------------------------------------------------
    @rpc(
        "CreateService",
        types.CreateServiceRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="run.services.create",
    )
    def create_service(self, request, context):
        parts = request.parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations":
            raise base.invalid(
                f"Invalid parent {request.parent!r}: expected projects/PROJECT/locations/LOCATION."
            )
        sid = request.service_id
        if not SERVICE_ID_RE.fullmatch(sid):
            raise base.invalid(
                f"Invalid service_id {sid!r}: up to 49 lowercase letters, digits or hyphens, "
                "starting with a letter and not ending with a hyphen."
            )
        pid = self.emu.resolve_project(parts[1])["id"]
        key = service_name(pid, parts[3], sid)
        if key in self.store.table(SERVICES_TABLE):
            raise base.already_exists(f"Resource '{sid}' already exists.")
        created = self._next_generation(key, None, request.service, [])
        op_name = f"projects/{pid}/locations/{parts[3]}/operations/{uuid.uuid4()}"
        if request.validate_only:
            preview = pack(_copy(created))
            return operations_pb2.Operation(
                name=op_name, done=True, response=preview, metadata=preview
            )
        created.uri = self._placeholder_uri()
        self.store.table(SERVICES_TABLE)[key] = created
        self.store.table(POLICIES_TABLE)[key] = iam_policy.new_policy()
        self.store.table(STUB_TABLE)[key] = {"port": 0}
        if self.stubs:  # serving: give it its stub HTTP server (and uri) now
            self.on_start()
        return operations(self.emu).begin(
            op_name,
            "run.update",
            {"name": key, "generation": created.generation},
            metadata=_copy(self.store.table(SERVICES_TABLE)[key]),
        )

    @rpc(
        "DeleteService",
        types.DeleteServiceRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="run.services.delete",
    )
    def delete_service(self, request, context):
        """The service is gone when the operation completes (its response: the last state)."""
        svc = self._get(request.name)
        if request.etag and request.etag != svc.etag:
            raise base.aborted(
                f"The etag {request.etag!r} does not match the current etag of the service; "
                "read it again and retry."
            )
        key = self._key(request.name)
        pid, location, _ = self._parse(key)
        op_name = f"projects/{pid}/locations/{location}/operations/{uuid.uuid4()}"
        if request.validate_only:
            return operations_pb2.Operation(
                name=op_name, done=True, response=pack(_copy(svc)), metadata=pack(_copy(svc))
            )
        svc.reconciling = True
        return operations(self.emu).begin(op_name, "run.delete", {"name": key}, metadata=_copy(svc))

    @rpc("GetService", types.GetServiceRequest, types.Service, permission="run.services.get")
    def get_service(self, request, context):
        return self._get(request.name)

    @rpc(
        "ListServices",
        types.ListServicesRequest,
        types.ListServicesResponse,
        permission="run.services.list",
    )
    def list_services(self, request, context):
        parts = request.parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations":
            raise base.invalid(
                f"Invalid parent {request.parent!r}: expected projects/PROJECT/locations/LOCATION."
            )
        if parts[3] == "-":
            raise base.invalid("The location of the parent cannot be the '-' wildcard.")
        pid = self.emu.resolve_project(parts[1])["id"]
        prefix = f"projects/{pid}/locations/{parts[3]}/services/"
        found = [s for n, s in self.store.table(SERVICES_TABLE).items() if n.startswith(prefix)]
        found.sort(key=lambda s: (s.create_time.timestamp(), s.name), reverse=True)
        page, token = base.paginate(found, request, default=100, maximum=500)
        return types.ListServicesResponse(services=page, next_page_token=token)

    @rpc(
        "UpdateService",
        types.UpdateServiceRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="run.services.update",
    )
    def update_service(self, request, context):
        incoming = request.service
        if not incoming.name:
            raise base.invalid("service.name is required.")
        key = self._key(incoming.name)
        pid, location, sid = self._parse(key)
        current = self.store.table(SERVICES_TABLE).get(key)
        if current is None and not request.allow_missing:
            raise _missing(incoming.name)
        if current is not None and incoming.etag and incoming.etag != current.etag:
            raise base.aborted(
                f"The etag {incoming.etag!r} does not match the current etag of service {sid}; "
                "read the service again and retry."
            )
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        updated = self._next_generation(key, current, incoming, paths)
        op_name = f"projects/{pid}/locations/{location}/operations/{uuid.uuid4()}"
        if request.validate_only:
            preview = _copy(updated)
            return operations_pb2.Operation(
                name=op_name, done=True, response=pack(preview), metadata=pack(preview)
            )
        self.store.table(SERVICES_TABLE)[key] = updated
        self._remember_revision(updated)
        if current is None:
            self.store.table(POLICIES_TABLE)[key] = iam_policy.new_policy()
        return operations(self.emu).begin(
            op_name,
            "run.update",
            {"name": key, "generation": updated.generation},
            metadata=_copy(updated),
        )

    def _next_generation(
        self, key: str, current: types.Service | None, incoming: types.Service, paths: list[str]
    ) -> types.Service:
        """The service as the update leaves it (validated, reconciling, generation + 1, a new
        revision when the template changed); nothing is stored."""
        if current is None:
            updated = types.Service(
                name=key,
                uid=str(uuid.uuid4()),
                generation=0,
                create_time=base.timestamp(),
                creator="emulator",
            )
            old_template = None
        else:
            updated = _copy(current)
            old_template = types.RevisionTemplate.serialize(current.template)
        dst = types.Service.pb(updated)
        base.apply_update(
            types.Service.pb(incoming),
            dst,
            paths,
            USER_FIELDS,
            lambda p: f"Invalid update mask path {p!r}: not an updatable field of Service.",
        )
        updated = types.Service.wrap(dst)
        if not updated.traffic:
            updated.traffic.append(_latest_traffic())
        validate(updated)
        template_changed = types.RevisionTemplate.serialize(updated.template) != old_template
        if template_changed:
            _check_revision_name(key, current, updated.template.revision)
        updated.generation += 1
        updated.update_time = base.timestamp()
        updated.last_modifier = "emulator"
        if template_changed:
            rev = updated.template.revision or _revision_id(
                key.rsplit("/", 1)[1], updated.generation
            )
            updated.latest_created_revision = f"{key}/revisions/{rev}"
        updated.reconciling = True
        updated.etag = base.new_etag()
        return updated

    get_iam_policy = iam_policy.get_policy_rpc("run.services.getIamPolicy")
    set_iam_policy = iam_policy.set_policy_rpc("run.services.setIamPolicy")

    def policy_of(self, resource: str) -> policy_pb2.Policy:
        key = self._key(resource)
        self._get(key)
        return self.store.table(POLICIES_TABLE).setdefault(key, iam_policy.new_policy())

    def keep_policy(self, resource: str, policy: policy_pb2.Policy) -> None:
        self.store.table(POLICIES_TABLE)[self._key(resource)] = policy

    @rpc(
        "TestIamPermissions",
        iam_policy_pb2.TestIamPermissionsRequest,
        iam_policy_pb2.TestIamPermissionsResponse,
    )
    def test_iam_permissions(self, request, context):
        self._get(request.resource)
        granted = []
        for perm in request.permissions:
            if "*" in perm:
                raise base.invalid(f"Permission {perm!r}: wildcards are not allowed.")
            if perm in RUN_PERMISSIONS and not self.emu.permission_denied(perm):
                granted.append(perm)
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    # --- control plane -------------------------------------------------------------------------
    def _stub(self, args: dict[str, Any]):
        name = args.get("service") or service_name(
            args.get("project", "thoth-local"), SEEDED_REGION, SEEDED_SERVICE
        )
        server = self.stubs.get(name)
        if server is None:
            raise KeyError(f"no stub HTTP service for {name} (is the emulator started?)")
        return server

    def control_ops(self):
        def behave(args):
            return self._stub(args).behave(
                status=args.get("status"),
                delay_s=args.get("delay_s"),
                times=args.get("times"),
                body=args.get("body"),
            )

        return {
            "stub_requests": lambda a: self._stub(a).recorded(),
            "stub_behave": behave,
            "stub_reset": lambda a: self._stub(a).reset(),
            "stub_url": lambda a: self._stub(a).url,
        }

    def info(self) -> dict[str, Any]:
        return {"stub_urls": {name: s.url for name, s in self.stubs.items()}}


SERVICES = [RunService]
