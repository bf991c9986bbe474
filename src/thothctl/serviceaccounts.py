"""The scheduler service account: make sure it exists, and that it may invoke the service.

Creation is never retried blindly (see DESIGN.md): on ALREADY_EXISTS or a transient error the
account is read back. The invoker grant is ``roles/run.invoker`` on the Cloud Run service only
(never project-wide, never public), written with the etag read-modify-write of
:mod:`thothctl.iampolicy`, so other bindings are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thothctl import iampolicy
from thothctl.errors import OperationError, grpc_code_name
from thothctl.retry import is_transient

INVOKER_ROLE = "roles/run.invoker"


@dataclass
class AccountResult:
    email: str
    created: bool
    exists: bool

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email, "created": self.created, "exists": self.exists}


@dataclass
class GrantResult:
    member: str
    role: str
    resource: str
    changed: bool
    present: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "role": self.role,
            "resource": self.resource,
            "changed": self.changed,
            "present": self.present,
        }


def account_name(email: str) -> str:
    return f"projects/-/serviceAccounts/{email}"


def get_account(clients: Any, email: str) -> Any | None:
    try:
        return clients.iam.get_service_account(request={"name": account_name(email)})
    except Exception as exc:
        if grpc_code_name(exc) == "NOT_FOUND":
            return None
        raise


def ensure_account(
    clients: Any,
    email: str,
    *,
    display_name: str = "Thoth scheduler",
    description: str = "Calls the Thoth sync service from Cloud Scheduler (OIDC)",
    dry_run: bool = False,
) -> AccountResult:
    """Create the service account ``email`` unless it exists."""
    if get_account(clients, email) is not None:
        return AccountResult(email, created=False, exists=True)
    if dry_run:
        return AccountResult(email, created=False, exists=False)
    account_id, _, domain = email.partition("@")
    project = domain.split(".", 1)[0]
    request = {
        "name": f"projects/{project}",
        "account_id": account_id,
        "service_account": {"display_name": display_name, "description": description},
    }
    for last in clients.creation_attempts():
        try:
            clients.iam.create_service_account(request=request)
            return AccountResult(email, created=True, exists=True)
        except Exception as exc:
            code = grpc_code_name(exc)
            if code == "ALREADY_EXISTS":
                return AccountResult(email, created=False, exists=True)
            if not is_transient(exc) or last:
                raise
            # The first try may have taken effect: read back before trying again.
            if get_account(clients, email) is not None:
                return AccountResult(email, created=True, exists=True)
    raise OperationError(f"could not create service account {email}")


def has_invoker(clients: Any, service: str, email: str) -> bool:
    policy = clients.run.get_iam_policy(request={"resource": service})
    return f"serviceAccount:{email}" in iampolicy.members(policy, INVOKER_ROLE)


def grant_invoker(clients: Any, service: str, email: str, *, dry_run: bool = False) -> GrantResult:
    """Give ``email`` roles/run.invoker on the Cloud Run service ``service`` (full name)."""
    member = f"serviceAccount:{email}"
    if dry_run:
        present = has_invoker(clients, service, email)
        return GrantResult(member, INVOKER_ROLE, service, changed=False, present=present)
    change = iampolicy.modify(
        lambda: clients.run.get_iam_policy(request={"resource": service}),
        lambda policy: clients.run.set_iam_policy(request={"resource": service, "policy": policy}),
        lambda policy: iampolicy.add_member(policy, INVOKER_ROLE, member),
        resource=service.rsplit("/", 1)[-1],
    )
    return GrantResult(member, INVOKER_ROLE, service, changed=change.changed, present=True)
