"""The scheduler service account: make sure it exists, and that it may invoke the service.

Creation is never retried blindly (docs/architecture.md, "Retries"): on ALREADY_EXISTS or a
transient error the account is read back. The invoker grant is ``roles/run.invoker`` on the Cloud
Run service only (never project-wide, never public), written with the etag read-modify-write of
:mod:`thothctl.iampolicy`, so other bindings are never dropped. Before it, one permission
pre-check (``check_invoker_permissions``) stops a caller who may not grant it before any change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thothctl import iampolicy, retry
from thothctl.errors import OperationError, PermissionDeniedError, code_of, role_for_permission

INVOKER_ROLE = "roles/run.invoker"
# What the caller needs on the service to grant the invoker role (read-modify-write of its policy).
INVOKER_PERMISSIONS = ("run.services.getIamPolicy", "run.services.setIamPolicy")


@dataclass
class AccountResult:
    email: str
    created: bool


@dataclass
class GrantResult:
    member: str
    resource: str
    changed: bool


def account_name(email: str) -> str:
    return f"projects/-/serviceAccounts/{email}"


def get_account(clients: Any, email: str) -> Any | None:
    try:
        return clients.iam.get_service_account(request={"name": account_name(email)})
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            return None
        raise


def ensure_account(
    clients: Any,
    email: str,
    *,
    display_name: str = "Thoth scheduler",
    description: str = "Calls the Thoth sync service from Cloud Scheduler (OIDC)",
) -> AccountResult:
    """Create the service account ``email`` unless it exists."""
    if get_account(clients, email) is not None:
        return AccountResult(email, created=False)
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
            return AccountResult(email, created=True)
        except Exception as exc:
            if code_of(exc) == "ALREADY_EXISTS":
                return AccountResult(email, created=False)
            if not retry.is_transient(exc) or last:
                raise
            # The first try may have taken effect: read back before trying again.
            if get_account(clients, email) is not None:
                return AccountResult(email, created=True)
    raise OperationError(f"could not create service account {email}")


def invokers(clients: Any, service: str) -> list[str]:
    """The members holding roles/run.invoker on the Cloud Run service ``service`` (full name)
    unconditionally (a conditional binding, e.g. one that expires, does not count)."""
    policy = clients.run.get_iam_policy(request=iampolicy.get_request(service))
    return iampolicy.members(policy, INVOKER_ROLE)


def check_invoker_permissions(clients: Any, service: str) -> None:
    """TestIamPermissions on the service before the first write, so a caller who may not grant
    the invoker role is stopped before the service account is created (nothing half-applied)."""
    response = clients.run.test_iam_permissions(
        request={"resource": service, "permissions": list(INVOKER_PERMISSIONS)}
    )
    missing = [p for p in INVOKER_PERMISSIONS if p not in set(response.permissions)]
    if missing:
        role = role_for_permission(missing[0]) or "roles/run.admin"
        raise PermissionDeniedError(
            f"permission {', '.join(missing)} denied on {service} (needed to let the scheduler "
            "invoke it); nothing was changed",
            hint=f"grant the caller {role} on the service or project, then re-run",
        )


def grant_invoker(clients: Any, service: str, email: str) -> GrantResult:
    """Give ``email`` roles/run.invoker on the Cloud Run service ``service`` (full name)."""
    member = f"serviceAccount:{email}"
    change = iampolicy.modify(
        lambda: clients.run.get_iam_policy(request=iampolicy.get_request(service)),
        lambda policy: clients.run.set_iam_policy(request={"resource": service, "policy": policy}),
        lambda policy: iampolicy.add_member(policy, INVOKER_ROLE, member),
        resource=service.rsplit("/", 1)[-1],
    )
    return GrantResult(member, service, changed=change.changed)
