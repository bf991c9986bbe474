"""`thothctl init`: read live state, plan every resource of the config, apply concurrently.

Steps (ids):            depends on
  apis                  -
  sa:scheduler          apis
  secret:NAME           apis
  version:NAME          secret:NAME            (only when the secret has no version yet)
  grant:NAME            secret:NAME            (runtime account -> secretAccessor, per secret)
  grant:invoker         sa:scheduler           (scheduler account -> run.invoker, on the service)
  job:NAME              sa:scheduler, grant:invoker

Every step is an *ensure*: it tolerates finding its work already done (a run interrupted at any
point is finished by running init again, without duplicates). Reads happen in two concurrent
waves; a converged project costs one read per resource (batch reads where the API has them) and
no write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from thothctl import apis as apislib
from thothctl import cloudrun, iampolicy, jobs, secrets, serviceaccounts
from thothctl.config import Config, SecretSpec
from thothctl.errors import (
    NotFoundError,
    PermissionDeniedError,
    grpc_code_name,
    role_for_permission,
)
from thothctl.plan import CREATE, UNCHANGED, UPDATE, FieldChange, Plan, Step

SCOPES = ("apis", "secrets", "iam", "jobs")
SM_API = "secretmanager.googleapis.com"
SCHED_API = "cloudscheduler.googleapis.com"
IAM_API = "iam.googleapis.com"
RUN_API = "run.googleapis.com"
INVOKER_PERMISSIONS = ("run.services.getIamPolicy", "run.services.setIamPolicy")


@dataclass
class SecretState:
    spec: SecretSpec
    exists: bool | None  # None: unknown (Secret Manager API not enabled yet)
    versions: int = 0
    accessors: list[str] = field(default_factory=list)

    @property
    def needs_first_version(self) -> bool:
        return not self.exists or self.versions == 0


@dataclass
class LiveState:
    project: str
    apis: list[apislib.ApiState]
    service: cloudrun.ServiceInfo
    scheduler_email: str
    runtime_email: str
    account_exists: bool | None = None
    invokers: list[str] = field(default_factory=list)
    secrets: dict[str, SecretState] = field(default_factory=dict)
    jobs: dict[str, Any] | None = None  # job id -> live Job; None: unknown

    def enabled(self, api: str) -> bool:
        return any(a.name == api and a.enabled for a in self.apis)

    @property
    def missing_apis(self) -> list[str]:
        return [a.name for a in self.apis if not a.enabled]


def _parallel(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def read_state(cfg: Config, clients: Any) -> LiveState:
    """Read what exists, in two concurrent waves. Raises before any change when a prerequisite
    is missing: the project, the Cloud Run service."""
    project = clients.project
    api_names = list(dict.fromkeys([*cfg.apis, RUN_API]))

    def read_apis() -> list[apislib.ApiState]:
        try:
            return apislib.status(clients, api_names)
        except Exception as exc:
            if grpc_code_name(exc) == "NOT_FOUND":
                raise NotFoundError(
                    f"project {project!r} not found, or you cannot see it",
                    hint="check --project / THOTHCTL_PROJECT and your access (`gcloud projects describe`)",
                ) from None
            raise

    def read_service() -> cloudrun.ServiceInfo | BaseException:
        try:
            return cloudrun.get_service(clients, cfg)
        except Exception as exc:  # judged once the API states are known
            return exc

    states, service = _parallel(read_apis, read_service)
    if not any(s.name == RUN_API and s.enabled for s in states):
        raise cloudrun.missing_service_error(clients, cfg)
    if isinstance(service, BaseException):
        raise service
    state = LiveState(
        project=project,
        apis=[s for s in states if s.name in cfg.apis],
        service=service,
        scheduler_email=cfg.scheduler_email(project),
        runtime_email=cfg.runtime_email(project),
    )

    def read_account() -> None:
        if state.enabled(IAM_API):
            state.account_exists = (
                serviceaccounts.get_account(clients, state.scheduler_email) is not None
            )

    def read_invokers() -> None:
        policy = clients.run.get_iam_policy(request={"resource": service.name})
        state.invokers = iampolicy.members(policy, serviceaccounts.INVOKER_ROLE)

    def read_secrets() -> None:
        if not state.enabled(SM_API):
            state.secrets = {n: SecretState(s, None) for n, s in cfg.secrets.items()}
            return
        for st in secrets.list_secrets(clients, cfg):
            if not st.configured:
                continue
            state.secrets[st.name] = SecretState(
                cfg.secrets[st.name],
                st.exists,
                versions=len(st.versions or []),
                accessors=list((st.bindings or {}).get(secrets.ACCESSOR_ROLE, [])),
            )

    def read_jobs() -> None:
        if state.enabled(SCHED_API):
            pager = clients.scheduler.list_jobs(
                request={"parent": jobs.parent(clients, cfg), "page_size": 500}
            )
            state.jobs = {j.name.rsplit("/", 1)[-1]: j for j in pager}

    _parallel(read_account, read_invokers, read_secrets, read_jobs)
    return state


def check_permissions(cfg: Config, clients: Any, state: LiveState) -> None:
    """The caller's permissions on the service (TestIamPermissions), before any change."""
    response = clients.run.test_iam_permissions(
        request={"resource": state.service.name, "permissions": list(INVOKER_PERMISSIONS)}
    )
    missing = [p for p in INVOKER_PERMISSIONS if p not in set(response.permissions)]
    if missing:
        role = role_for_permission(missing[0]) or "roles/run.admin"
        raise PermissionDeniedError(
            f"you lack {', '.join(missing)} on Cloud Run service {cfg.service} (needed to let "
            "the scheduler invoke it)",
            hint=f"grant yourself {role} on the service or project, then re-run",
        )


def _value_note(spec: SecretSpec, value: secrets.SecretValue | None) -> str:
    if value is not None:
        return f"value from {value.source}"
    return f"value needed: prompted for, or ${spec.env}"


def build_plan(
    cfg: Config,
    clients: Any,
    state: LiveState,
    values: Mapping[str, secrets.SecretValue | None],
    *,
    only: set[str] | None = None,
) -> Plan:
    """Every resource as create / update / unchanged, with the function that applies it.

    ``values`` holds the first version of each secret that needs one (None: skip an optional
    secret). A secret that has versions is never given a new one here."""
    scopes = set(only or SCOPES)
    steps: list[Step] = []

    # APIs
    missing = state.missing_apis
    steps.append(
        Step(
            id="apis",
            kind="apis",
            scope="apis",
            resource=f"{len(missing)} of {len(state.apis)} APIs"
            if missing
            else f"{len(state.apis)} APIs",
            action=CREATE if missing else UNCHANGED,
            changes=[FieldChange(a, "disabled", "enabled") for a in missing],
            note="enable in one batch" if missing else "all enabled",
            run=lambda: apislib.enable_missing(clients, missing) or f"enabled {len(missing)} APIs",
        )
    )

    # Scheduler service account and its invoker grant on the service (never project-wide).
    email = state.scheduler_email
    steps.append(
        Step(
            id="sa:scheduler",
            kind="service-account",
            scope="iam",
            resource=email,
            action=UNCHANGED if state.account_exists else CREATE,
            depends_on=["apis"],
            note="" if state.account_exists is not None else "IAM API not enabled yet",
            run=lambda: (
                "created" if serviceaccounts.ensure_account(clients, email).created else "exists"
            ),
        )
    )
    member = f"serviceAccount:{email}"
    steps.append(
        Step(
            id="grant:invoker",
            kind="iam",
            scope="iam",
            resource=f"run.invoker on {cfg.service}",
            note=member,
            action=UNCHANGED if member in state.invokers else CREATE,
            depends_on=["sa:scheduler"],
            run=lambda: (
                "granted"
                if serviceaccounts.grant_invoker(clients, state.service.name, email).changed
                else "already granted"
            ),
        )
    )

    # Secrets: the secret, its first version, the runtime account's accessor grant.
    runtime_member = f"serviceAccount:{state.runtime_email}"
    for name, sec in state.secrets.items():
        value = values.get(name)
        if not sec.exists and value is None and not sec.spec.required:
            continue  # optional, no value given: skipped entirely
        steps.append(
            Step(
                id=f"secret:{name}",
                kind="secret",
                scope="secrets",
                resource=name,
                action=UNCHANGED if sec.exists else CREATE,
                depends_on=["apis"],
                note="" if sec.exists is not None else "Secret Manager API not enabled yet",
                run=_create_secret(clients, name),
            )
        )
        first = sec.needs_first_version
        steps.append(
            Step(
                id=f"version:{name}",
                kind="secret-version",
                scope="secrets",
                resource=f"{name} version 1"
                if first
                else f"{name} ({sec.versions} version{'s' if sec.versions != 1 else ''})",
                action=CREATE if first else UNCHANGED,
                depends_on=[f"secret:{name}"],
                note=_value_note(sec.spec, value)
                if first
                else "has versions: use `thothctl secrets rotate` to change it",
                run=_add_first_version(clients, name, value) if first else None,
            )
        )
        steps.append(
            Step(
                id=f"grant:{name}",
                kind="iam",
                scope="iam",
                resource=f"secretAccessor on {name}",
                note=runtime_member,
                action=UNCHANGED if runtime_member in sec.accessors else CREATE,
                depends_on=[f"secret:{name}"],
                run=lambda n=name: (
                    "granted"
                    if secrets.grant(clients, n, runtime_member).changed
                    else "already granted"
                ),
            )
        )

    # Jobs
    for spec in cfg.jobs.values():
        desired = jobs.desired_fields(spec, state.service.uri, email)
        job_name = f"{jobs.parent(clients, cfg)}/jobs/{spec.id}"
        message = jobs.job_message(spec, job_name, desired)
        live = (state.jobs or {}).get(spec.id)
        if live is None:
            action, changes = CREATE, []
        else:
            diffs = jobs.diff(desired, jobs.live_fields(live))
            action = UPDATE if diffs else UNCHANGED
            changes = [FieldChange(d.field, d.live, d.desired) for d in diffs]
        steps.append(
            Step(
                id=f"job:{spec.name}",
                kind="job",
                scope="jobs",
                resource=f"{spec.name} ({spec.id})",
                action=action,
                changes=changes,
                depends_on=["apis", "sa:scheduler", "grant:invoker"],
                note=jobs.describe_schedule(spec.schedule, spec.time_zone),
                run=_apply_job(clients, cfg, spec.id, message, desired, action),
            )
        )

    return Plan([s for s in steps if s.scope in scopes], project=state.project)


def _create_secret(clients: Any, name: str) -> Callable[[], str]:
    def run() -> str:
        created, _ = secrets.create(clients, name)
        return "created" if created else "exists"

    return run


def _add_first_version(
    clients: Any, name: str, value: secrets.SecretValue | None
) -> Callable[[], str]:
    def run() -> str:
        if value is None:
            raise NotFoundError(f"no value for {name}")
        result = secrets.add_version(clients, name, value)
        return f"version {result.version}" + ("" if result.added else " (already held this value)")

    return run


def _apply_job(clients, cfg, job_id, message, desired, action) -> Callable[[], str]:
    def run() -> str:
        live = jobs.get_job(clients, cfg, job_id) if action == UPDATE else None
        if action == CREATE:
            jobs.create_job(clients, cfg, message, desired)
            return "created"
        changes = jobs.diff(desired, jobs.live_fields(live)) if live is not None else []
        if live is None:
            jobs.create_job(clients, cfg, message, desired)
            return "created"
        if changes:
            jobs.update_job(clients, message, changes)
            return "updated " + ", ".join(c.field for c in changes)
        return "already up to date"

    return run


def secrets_needing_values(state: LiveState, only: set[str] | None = None) -> list[SecretSpec]:
    """Secrets whose first version init must add (in the order of the config)."""
    if only and "secrets" not in only:
        return []
    return [s.spec for s in state.secrets.values() if s.needs_first_version]
