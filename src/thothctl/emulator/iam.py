"""google.iam.admin.v1.IAM, the service-account subset (docs/emulator.md, "IAM").

CreateServiceAccount / GetServiceAccount / ListServiceAccounts / DeleteServiceAccount /
PatchServiceAccount / DisableServiceAccount / EnableServiceAccount, and the account's own IAM
policy (GetIamPolicy / SetIamPolicy / TestIamPermissions: who may act as or manage it).
Account ids follow the documented rules (6-30 characters, ``[a-z]([-a-z0-9]*[a-z0-9])``) with the
real server's messages; a duplicate answers ALREADY_EXISTS with a ``ResourceInfo``-style message.
Names accept the project id, number or ``-``, and the account's email or unique id.

Choices where Google does not document the answer or the real API varies:

- GetServiceAccount of a missing account answers NOT_FOUND ("Service account NAME does not
  exist."), also under ``projects/-`` where the real service may answer 403.
- A missing project answers NOT_FOUND "Requested entity was not found." for all calls.
- Each project is seeded with the Cloud Run runtime account ``thoth-mcp-sa``.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from google.cloud.iam_admin_v1 import types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import empty_pb2

from thothctl.emulator import base, iam_policy
from thothctl.emulator.base import EmulatedService, rpc

ACCOUNTS_TABLE = "iam.accounts"  # "projects/{id}/serviceAccounts/{email}" -> ServiceAccount
POLICIES_TABLE = "iam.policies"  # account name -> google.iam.v1.Policy
PATCHABLE = {
    "display_name": "display_name",
    "displayName": "display_name",
    "description": "description",
}
SA_PERMISSIONS = (
    "iam.serviceAccounts.get",
    "iam.serviceAccounts.update",
    "iam.serviceAccounts.delete",
    "iam.serviceAccounts.enable",
    "iam.serviceAccounts.disable",
    "iam.serviceAccounts.getIamPolicy",
    "iam.serviceAccounts.setIamPolicy",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
)
ACCOUNT_ID_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])")  # always fullmatch: $ allows a final \n
SEEDED = (
    ("thoth-mcp-sa", "Thoth MCP server runtime", "Runs the thoth-mcp-server Cloud Run service"),
)


def email_for(account_id: str, project_id: str) -> str:
    return f"{account_id}@{project_id}.iam.gserviceaccount.com"


class IamService(EmulatedService):
    service_name = "google.iam.admin.v1.IAM"
    api = "iam.googleapis.com"
    api_title = "Identity and Access Management (IAM) API"
    stored_types = (types.ServiceAccount, policy_pb2.Policy)

    def seed(self, project: dict[str, Any]) -> None:
        for account_id, display, description in SEEDED:
            self._create(project, account_id, display, description)

    # --- helpers ---------------------------------------------------------------------------
    def _project(self, token: str) -> dict[str, Any]:
        try:
            return self.emu.resolve_project(token)
        except base.EmulatorError:
            raise base.not_found("Requested entity was not found.") from None

    def _parent(self, name: str) -> dict[str, Any]:
        parts = name.split("/")
        if len(parts) != 2 or parts[0] != "projects" or not parts[1] or parts[1] == "-":
            raise base.invalid(f"Invalid project name {name!r}: expected projects/PROJECT_ID.")
        return self._project(parts[1])

    def _create(
        self, project: dict[str, Any], account_id: str, display: str, description: str
    ) -> types.ServiceAccount:
        pid = project["id"]
        email = email_for(account_id, pid)
        unique = str(10**20 + random.randrange(9 * 10**20))
        account = types.ServiceAccount(
            name=f"projects/{pid}/serviceAccounts/{email}",
            project_id=pid,
            unique_id=unique,
            email=email,
            display_name=display,
            description=description,
            oauth2_client_id=unique,
            etag=hashlib.sha1(email.encode()).digest()[:8],
        )
        self.store.table(ACCOUNTS_TABLE)[account.name] = account
        return account

    def find(self, name: str) -> types.ServiceAccount:
        """Resolve ``projects/{p|-}/serviceAccounts/{email|unique_id}``."""
        parts = name.split("/")
        if (
            len(parts) != 4
            or parts[0] != "projects"
            or parts[2] != "serviceAccounts"
            or not parts[3]
        ):
            raise base.invalid(
                f"Invalid service account name {name!r}: expected "
                "projects/PROJECT/serviceAccounts/EMAIL_OR_UNIQUE_ID."
            )
        pid = None if parts[1] == "-" else self._project(parts[1])["id"]
        ident = parts[3]
        for account in self.store.table(ACCOUNTS_TABLE).values():
            if pid is not None and account.project_id != pid:
                continue
            if ident in (account.email, account.unique_id):
                return account
        raise base.not_found(f"Service account {name} does not exist.")

    def exists(self, email: str) -> bool:
        with self.store.lock:
            return any(a.email == email for a in self.store.table(ACCOUNTS_TABLE).values())

    def unique_id(self, email: str) -> str | None:
        with self.store.lock:
            for account in self.store.table(ACCOUNTS_TABLE).values():
                if account.email == email:
                    return account.unique_id
        return None

    # --- RPCs --------------------------------------------------------------------------------
    @rpc(
        "CreateServiceAccount",
        types.CreateServiceAccountRequest,
        types.ServiceAccount,
        mutating=True,
        permission="iam.serviceAccounts.create",
    )
    def create_service_account(self, request, context):
        project = self._parent(request.name)
        account_id = request.account_id
        if not 6 <= len(account_id) <= 30:
            raise base.invalid(
                f'The account ID "{account_id}" does not have a length between 6 and 30.'
            )
        if not ACCOUNT_ID_RE.fullmatch(account_id):
            raise base.invalid(f"{account_id} does not match [a-z][a-z\\d\\-]*[a-z\\d].")
        sa = request.service_account
        if len(sa.display_name.encode()) > 100:
            raise base.invalid("display_name must be at most 100 UTF-8 bytes.")
        if len(sa.description.encode()) > 256:
            raise base.invalid("description must be at most 256 UTF-8 bytes.")
        name = f"projects/{project['id']}/serviceAccounts/{email_for(account_id, project['id'])}"
        if name in self.store.table(ACCOUNTS_TABLE):
            raise base.already_exists(
                f"Service account {account_id} already exists within project "
                f"projects/{project['id']}.",
            )
        return self._create(project, account_id, sa.display_name, sa.description)

    @rpc(
        "GetServiceAccount",
        types.GetServiceAccountRequest,
        types.ServiceAccount,
        permission="iam.serviceAccounts.get",
    )
    def get_service_account(self, request, context):
        return self.find(request.name)

    @rpc(
        "ListServiceAccounts",
        types.ListServiceAccountsRequest,
        types.ListServiceAccountsResponse,
        permission="iam.serviceAccounts.list",
    )
    def list_service_accounts(self, request, context):
        project = self._parent(request.name)
        accounts = sorted(
            (a for a in self.store.table(ACCOUNTS_TABLE).values() if a.project_id == project["id"]),
            key=lambda a: a.email,
        )
        page, token = base.paginate(accounts, request, default=20, maximum=100)
        return types.ListServiceAccountsResponse(accounts=page, next_page_token=token)

    @rpc(
        "DeleteServiceAccount",
        types.DeleteServiceAccountRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="iam.serviceAccounts.delete",
    )
    def delete_service_account(self, request, context):
        account = self.find(request.name)
        del self.store.table(ACCOUNTS_TABLE)[account.name]
        self.store.table(POLICIES_TABLE).pop(account.name, None)
        return empty_pb2.Empty()

    @rpc(
        "PatchServiceAccount",
        types.PatchServiceAccountRequest,
        types.ServiceAccount,
        mutating=True,
        permission="iam.serviceAccounts.update",
    )
    def patch_service_account(self, request, context):
        """Only ``display_name`` and ``description`` can change, named in ``update_mask``."""
        incoming = request.service_account
        account = self.find(incoming.name)
        paths = list(request.update_mask.paths)
        if not paths:
            raise base.invalid("update_mask must name at least one of display_name, description.")
        for path in paths:
            if path not in PATCHABLE:
                raise base.invalid(
                    f"Invalid update_mask path {path!r}: only display_name and description can "
                    "be updated."
                )
        if incoming.etag and incoming.etag != account.etag:
            raise base.aborted("The etag of the service account does not match; read it again.")
        changes = {PATCHABLE[path]: getattr(incoming, PATCHABLE[path]) for path in paths}
        if len(changes.get("display_name", "").encode()) > 100:
            raise base.invalid("display_name must be at most 100 UTF-8 bytes.")
        if len(changes.get("description", "").encode()) > 256:
            raise base.invalid("description must be at most 256 UTF-8 bytes.")
        for field, value in changes.items():
            setattr(account, field, value)
        account.etag = base.new_policy_etag()
        return types.ServiceAccount.deserialize(types.ServiceAccount.serialize(account))

    def _set_disabled(self, name: str, disabled: bool) -> empty_pb2.Empty:
        self.find(name).disabled = disabled
        return empty_pb2.Empty()

    @rpc(
        "DisableServiceAccount",
        types.DisableServiceAccountRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="iam.serviceAccounts.disable",
    )
    def disable_service_account(self, request, context):
        return self._set_disabled(request.name, True)

    @rpc(
        "EnableServiceAccount",
        types.EnableServiceAccountRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="iam.serviceAccounts.enable",
    )
    def enable_service_account(self, request, context):
        return self._set_disabled(request.name, False)

    # --- the account's own policy (who may use or manage it) ------------------------------------
    get_iam_policy = iam_policy.get_policy_rpc("iam.serviceAccounts.getIamPolicy")
    set_iam_policy = iam_policy.set_policy_rpc("iam.serviceAccounts.setIamPolicy")

    def policy_of(self, resource: str) -> policy_pb2.Policy:
        account = self.find(resource)
        return self.store.table(POLICIES_TABLE).setdefault(account.name, iam_policy.new_policy())

    def keep_policy(self, resource: str, policy: policy_pb2.Policy) -> None:
        self.store.table(POLICIES_TABLE)[self.find(resource).name] = policy

    @rpc(
        "TestIamPermissions",
        iam_policy_pb2.TestIamPermissionsRequest,
        iam_policy_pb2.TestIamPermissionsResponse,
    )
    def test_iam_permissions(self, request, context):
        self.find(request.resource)
        granted = [
            p
            for p in request.permissions
            if p in SA_PERMISSIONS and not self.emu.permission_denied(p)
        ]
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)


SERVICES = [IamService]
