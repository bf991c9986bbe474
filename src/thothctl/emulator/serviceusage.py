"""google.api.serviceusage.v1.ServiceUsage (docs/emulator.md, "Service Usage").

Services are named with the project NUMBER in responses, as the real API does. Enabling is a
long-running operation (``operation_ms``); enabling an enabled service answers the synthetic
``operations/noop.DONE_OPERATION``. BatchEnableServices is atomic and takes at most 20 ids; an
unknown service is refused with PERMISSION_DENIED ("Permission denied to enable service [x]").
GetService/BatchGetServices of an unknown service answer NOT_FOUND (the real API varies between
403 and 404; emulator choice).
"""

from __future__ import annotations

import uuid
from typing import Any

from google.cloud.service_usage_v1 import types
from google.longrunning import operations_pb2

from thothctl.emulator import base
from thothctl.emulator.base import EmulatedService, rpc
from thothctl.emulator.operations import operations, pack

ENABLED_TABLE = "serviceusage.enabled"

# The public services the emulator knows (id -> title).
CATALOG: dict[str, str] = {
    "secretmanager.googleapis.com": "Secret Manager API",
    "cloudscheduler.googleapis.com": "Cloud Scheduler API",
    "run.googleapis.com": "Cloud Run Admin API",
    "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "iamcredentials.googleapis.com": "IAM Service Account Credentials API",
    "logging.googleapis.com": "Cloud Logging API",
    "monitoring.googleapis.com": "Cloud Monitoring API",
    "serviceusage.googleapis.com": "Service Usage API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "artifactregistry.googleapis.com": "Artifact Registry API",
    "cloudbuild.googleapis.com": "Cloud Build API",
    "pubsub.googleapis.com": "Cloud Pub/Sub API",
    "storage.googleapis.com": "Cloud Storage API",
    "compute.googleapis.com": "Compute Engine API",
    "cloudtrace.googleapis.com": "Cloud Trace API",
    "aiplatform.googleapis.com": "Vertex AI API",
    "firestore.googleapis.com": "Cloud Firestore API",
    "sqladmin.googleapis.com": "Cloud SQL Admin API",
    "bigquery.googleapis.com": "BigQuery API",
    "cloudkms.googleapis.com": "Cloud Key Management Service (KMS) API",
    "containerregistry.googleapis.com": "Container Registry API",
    "vpcaccess.googleapis.com": "Serverless VPC Access API",
    "cloudfunctions.googleapis.com": "Cloud Functions API",
    "eventarc.googleapis.com": "Eventarc API",
    "workflows.googleapis.com": "Workflows API",
}

# What a project with a deployed Cloud Run service already has enabled.
SEEDED_ENABLED = (
    "serviceusage.googleapis.com",
    "run.googleapis.com",
    "logging.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
)
ALWAYS_ENABLED = ("serviceusage.googleapis.com",)


class ServiceUsageService(EmulatedService):
    service_name = "google.api.serviceusage.v1.ServiceUsage"
    api = None  # Service Usage itself is always reachable

    def __init__(self, emulator):
        super().__init__(emulator)
        operations(emulator).register_effect("serviceusage.enable", self._effect_enable)
        operations(emulator).register_effect("serviceusage.disable", self._effect_disable)

    # --- state ---------------------------------------------------------------------------
    def seed(self, project: dict[str, Any]) -> None:
        self.store.table(ENABLED_TABLE)[project["id"]] = list(SEEDED_ENABLED)

    def _enabled(self, project_id: str) -> list[str]:
        table = self.store.table(ENABLED_TABLE)
        enabled = table.setdefault(project_id, [])
        for svc in ALWAYS_ENABLED:
            if svc not in enabled:
                enabled.append(svc)
        return enabled

    def _parse(self, name: str) -> tuple[dict[str, Any], str]:
        parts = name.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "services" or not parts[3]:
            raise base.invalid(
                f"Invalid service name {name!r}: expected projects/PROJECT/services/SERVICE."
            )
        return self.emu.resolve_project(parts[1]), parts[3]

    def _parent(self, parent: str) -> dict[str, Any]:
        parts = parent.split("/")
        if len(parts) != 2 or parts[0] != "projects" or not parts[1]:
            raise base.invalid(f"Invalid parent {parent!r}: expected projects/PROJECT.")
        return self.emu.resolve_project(parts[1])

    def _service(self, project: dict[str, Any], service_id: str) -> types.Service:
        state = (
            types.State.ENABLED
            if service_id in self._enabled(project["id"])
            else types.State.DISABLED
        )
        return types.Service(
            name=f"projects/{project['number']}/services/{service_id}",
            parent=f"projects/{project['number']}",
            config=types.ServiceConfig(name=service_id, title=CATALOG.get(service_id, service_id)),
            state=state,
        )

    def _known(self, service_id: str, *, enabling: bool = False) -> None:
        if service_id not in CATALOG:
            if enabling:
                raise base.permission_denied(
                    f"Permission denied to enable service [{service_id}]",
                    reason="SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED",
                    domain="serviceusage.googleapis.com",
                    metadata={"services": service_id},
                )
            raise base.not_found(f"Service {service_id} not found or permission denied.")

    # --- effects (run when an operation completes) --------------------------------------
    def _effect_enable(self, args: dict[str, Any]):
        project = self.emu.resolve_project(args["project"])
        enabled = self._enabled(project["id"])
        for service_id in args["services"]:
            if service_id not in enabled:
                enabled.append(service_id)
        services = [self._service(project, s) for s in args["services"]]
        metadata = types.OperationMetadata(
            resource_names=[
                f"services/{s}/projectSettings/{project['number']}" for s in args["services"]
            ]
        )
        if args.get("batch"):
            return types.BatchEnableServicesResponse(services=services), metadata
        return types.EnableServiceResponse(service=services[0]), metadata

    def _effect_disable(self, args: dict[str, Any]):
        project = self.emu.resolve_project(args["project"])
        enabled = self._enabled(project["id"])
        if args["service"] in enabled:
            enabled.remove(args["service"])
        return types.DisableServiceResponse(service=self._service(project, args["service"])), None

    def _begin(
        self, project: dict[str, Any], kind: str, args: dict[str, Any]
    ) -> operations_pb2.Operation:
        name = f"operations/acat.p2-{project['number']}-{uuid.uuid4()}"
        return operations(self.emu).begin(name, kind, args)

    # --- RPCs ------------------------------------------------------------------------------
    @rpc(
        "GetService", types.GetServiceRequest, types.Service, permission="serviceusage.services.get"
    )
    def get_service(self, request, context):
        project, service_id = self._parse(request.name)
        self._known(service_id)
        return self._service(project, service_id)

    @rpc(
        "BatchGetServices",
        types.BatchGetServicesRequest,
        types.BatchGetServicesResponse,
        permission="serviceusage.services.get",
    )
    def batch_get_services(self, request, context):
        parent = self._parent(request.parent)
        if len(request.names) > 30:
            raise base.invalid("At most 30 services can be requested in one BatchGetServices call.")
        services = []
        for name in request.names:
            project, service_id = self._parse(name)
            if project["id"] != parent["id"]:
                raise base.invalid(f"Service {name} does not belong to parent {request.parent}.")
            self._known(service_id)
            services.append(self._service(project, service_id))
        return types.BatchGetServicesResponse(services=services)

    @rpc(
        "ListServices",
        types.ListServicesRequest,
        types.ListServicesResponse,
        permission="serviceusage.services.list",
    )
    def list_services(self, request, context):
        project = self._parent(request.parent)
        if request.page_size > 200:
            raise base.invalid("page_size cannot exceed 200.")
        flt = request.filter.replace(" ", "")
        if flt not in ("", "state:ENABLED", "state:DISABLED"):
            raise base.invalid(
                f"Invalid filter {request.filter!r}: use state:ENABLED or state:DISABLED."
            )
        services = [self._service(project, s) for s in sorted(CATALOG)]
        if flt:
            want = (
                types.State.ENABLED
                if flt.endswith("ENABLED") and "DIS" not in flt
                else types.State.DISABLED
            )
            services = [s for s in services if s.state == want]
        page, token = base.paginate(services, request, default=50, maximum=200)
        return types.ListServicesResponse(services=page, next_page_token=token)

    @rpc(
        "EnableService",
        types.EnableServiceRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="serviceusage.services.enable",
    )
    def enable_service(self, request, context):
        project, service_id = self._parse(request.name)
        self._known(service_id, enabling=True)
        if service_id in self._enabled(project["id"]):
            return operations_pb2.Operation(
                name="operations/noop.DONE_OPERATION",
                done=True,
                response=pack(
                    types.EnableServiceResponse(service=self._service(project, service_id))
                ),
            )
        return self._begin(
            project, "serviceusage.enable", {"project": project["id"], "services": [service_id]}
        )

    @rpc(
        "BatchEnableServices",
        types.BatchEnableServicesRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="serviceusage.services.enable",
    )
    def batch_enable_services(self, request, context):
        project = self._parent(request.parent)
        ids = list(request.service_ids)
        if not ids:
            raise base.invalid("service_ids must not be empty.")
        if len(ids) > 20:
            raise base.invalid(
                f"A single request can enable a maximum of 20 services at a time; got {len(ids)}."
            )
        for service_id in ids:
            if "/" in service_id:
                raise base.invalid(
                    f"Invalid service id {service_id!r}: use the bare name (e.g. run.googleapis.com)."
                )
            self._known(service_id, enabling=True)
        return self._begin(
            project,
            "serviceusage.enable",
            {"project": project["id"], "services": ids, "batch": True},
        )

    @rpc(
        "DisableService",
        types.DisableServiceRequest,
        operations_pb2.Operation,
        mutating=True,
        permission="serviceusage.services.disable",
    )
    def disable_service(self, request, context):
        project, service_id = self._parse(request.name)
        self._known(service_id)
        if service_id not in self._enabled(project["id"]):
            raise base.failed_precondition(
                f"Service {service_id} is not enabled; it cannot be disabled."
            )
        if service_id in ALWAYS_ENABLED:
            raise base.failed_precondition(f"Service {service_id} cannot be disabled.")
        return self._begin(
            project, "serviceusage.disable", {"project": project["id"], "service": service_id}
        )

    def control_ops(self):
        def set_enabled(args):
            project = self.emu.resolve_project(args.get("project", "thoth-local"))
            with self.store.lock:
                enabled = self._enabled(project["id"])
                for api in args.get("enable", []):
                    if api not in enabled:
                        enabled.append(api)
                for api in args.get("disable", []):
                    if api in enabled and api not in ALWAYS_ENABLED:
                        enabled.remove(api)
                self.store.touch()
                return list(enabled)

        return {"apis_set": set_enabled}


SERVICES = [ServiceUsageService]
