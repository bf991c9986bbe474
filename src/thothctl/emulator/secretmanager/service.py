"""google.cloud.secretmanager.v1.SecretManagerService on the wire: each RPC unpacks its request,
calls one :class:`~thothctl.emulator.secretmanager.model.SecretManagerModel` method and packs the
answer (pagination included). Every AccessSecretVersion also writes a data-access audit entry
(without the payload) to the emulated Cloud Logging. Rules and choices: docs/emulator.md,
"Secret Manager".
"""

from __future__ import annotations

from typing import Any

from google.cloud.secretmanager_v1 import types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import empty_pb2

from thothctl.emulator import base, iam_policy
from thothctl.emulator.base import EmulatedService, rpc
from thothctl.emulator.secretmanager.model import SUPPORTED_ROLES, SecretManagerModel

API = "secretmanager.googleapis.com"
SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
DEFAULT_PAGE = 100  # the real default is undocumented
MAX_PAGE = 25000


def _field(message: Any, name: str) -> Any:
    """The sub-message ``name`` of a request, or None when it is not set."""
    return getattr(message, name) if name in message else None


def _transition_rpc(name: str, request_type: Any, target: str) -> Any:
    """Disable/Enable/DestroySecretVersion: one handler each, one model method for all three."""

    @rpc(
        name,
        request_type,
        types.SecretVersion,
        mutating=True,
        permission=f"secretmanager.versions.{target.lower()}",
    )
    def handler(self, request, context):
        return self.model.transition(request.name, request.etag, target)

    return handler


class SecretManagerService(EmulatedService):
    service_name = SERVICE
    api = API
    api_title = "Secret Manager API"
    stored_types = (types.Secret, types.SecretVersion, policy_pb2.Policy)

    def __init__(self, emulator):
        super().__init__(emulator)
        self.model = SecretManagerModel(emulator)

    # --- secrets ---------------------------------------------------------------------------
    @rpc(
        "CreateSecret",
        types.CreateSecretRequest,
        types.Secret,
        mutating=True,
        permission="secretmanager.secrets.create",
    )
    def create_secret(self, request, context):
        return self.model.create_secret(
            request.parent, request.secret_id, _field(request, "secret")
        )

    @rpc("GetSecret", types.GetSecretRequest, types.Secret, permission="secretmanager.secrets.get")
    def get_secret(self, request, context):
        return self.model.get_secret(request.name)

    @rpc(
        "ListSecrets",
        types.ListSecretsRequest,
        types.ListSecretsResponse,
        permission="secretmanager.secrets.list",
    )
    def list_secrets(self, request, context):
        secrets, total = self.model.list_secrets(request.parent, request.filter)
        page, token = base.paginate(secrets, request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
        return types.ListSecretsResponse(secrets=page, next_page_token=token, total_size=total)

    @rpc(
        "UpdateSecret",
        types.UpdateSecretRequest,
        types.Secret,
        mutating=True,
        permission="secretmanager.secrets.update",
    )
    def update_secret(self, request, context):
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        return self.model.update_secret(_field(request, "secret"), paths)

    @rpc(
        "DeleteSecret",
        types.DeleteSecretRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="secretmanager.secrets.delete",
    )
    def delete_secret(self, request, context):
        self.model.delete_secret(request.name, request.etag)
        return empty_pb2.Empty()

    # --- versions --------------------------------------------------------------------------
    @rpc(
        "AddSecretVersion",
        types.AddSecretVersionRequest,
        types.SecretVersion,
        mutating=True,
        permission="secretmanager.versions.add",
    )
    def add_secret_version(self, request, context):
        return self.model.add_version(request.parent, _field(request, "payload"))

    @rpc(
        "GetSecretVersion",
        types.GetSecretVersionRequest,
        types.SecretVersion,
        permission="secretmanager.versions.get",
    )
    def get_secret_version(self, request, context):
        return self.model.get_version(request.name)

    @rpc(
        "AccessSecretVersion",
        types.AccessSecretVersionRequest,
        types.AccessSecretVersionResponse,
        permission="secretmanager.versions.access",
    )
    def access_secret_version(self, request, context):
        version, data, crc = self.model.access_version(request.name)
        self._audit(version.name, request.name)
        return types.AccessSecretVersionResponse(
            name=version.name, payload=types.SecretPayload(data=data, data_crc32c=crc)
        )

    def _audit(self, version_name: str, requested: str) -> None:
        from google.cloud.audit import audit_log_pb2

        project = self.emu.resolve_project(version_name.split("/")[1])
        method = f"{SERVICE}.AccessSecretVersion"
        entry = audit_log_pb2.AuditLog(
            service_name=API, method_name=method, resource_name=version_name
        )
        entry.authentication_info.principal_email = "anonymous@thothctl.emulator"
        entry.authorization_info.add(
            resource=requested, permission="secretmanager.versions.access", granted=True
        )
        self.emu.write_log(
            project_id=project["id"],
            log_id="cloudaudit.googleapis.com/data_access",
            resource_type="audited_resource",
            resource_labels={"service": API, "method": method, "project_id": project["id"]},
            severity="INFO",
            proto_payload=entry,
        )

    @rpc(
        "ListSecretVersions",
        types.ListSecretVersionsRequest,
        types.ListSecretVersionsResponse,
        permission="secretmanager.versions.list",
    )
    def list_secret_versions(self, request, context):
        versions, total = self.model.list_versions(request.parent, request.filter)
        page, token = base.paginate(versions, request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
        return types.ListSecretVersionsResponse(
            versions=page, next_page_token=token, total_size=total
        )

    disable_secret_version = _transition_rpc(
        "DisableSecretVersion", types.DisableSecretVersionRequest, "DISABLE"
    )
    enable_secret_version = _transition_rpc(
        "EnableSecretVersion", types.EnableSecretVersionRequest, "ENABLE"
    )
    destroy_secret_version = _transition_rpc(
        "DestroySecretVersion", types.DestroySecretVersionRequest, "DESTROY"
    )

    # --- IAM -------------------------------------------------------------------------------
    get_iam_policy = iam_policy.get_policy_rpc("secretmanager.secrets.getIamPolicy")
    set_iam_policy = iam_policy.set_policy_rpc(
        "secretmanager.secrets.setIamPolicy", supported_roles=SUPPORTED_ROLES
    )

    def policy_of(self, resource: str) -> policy_pb2.Policy:
        return self.model.policy_of(resource)

    def keep_policy(self, resource: str, policy: policy_pb2.Policy) -> None:
        self.model.keep_policy(resource, policy)

    @rpc(
        "TestIamPermissions",
        iam_policy_pb2.TestIamPermissionsRequest,
        iam_policy_pb2.TestIamPermissionsResponse,
    )
    def test_iam_permissions(self, request, context):
        granted = self.model.granted(request.resource, list(request.permissions))
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    # --- control ops -----------------------------------------------------------------------
    def control_ops(self):
        return {"secrets_summary": lambda args: self.model.summary()}


SERVICES = [SecretManagerService]
