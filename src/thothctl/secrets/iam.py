"""Who may read a secret: grant and revoke one role on one secret (least privilege, never
project-wide), and a permission pre-check before a change made of several writes.

Every policy change is an etag read-modify-write through :func:`thothctl.iampolicy.modify`, so a
concurrent change is re-read and retried and other bindings are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from thothctl import iampolicy
from thothctl.errors import PermissionDeniedError, code_of, role_for_permission
from thothctl.secrets.store import ACCESSOR_ROLE, existing, get_policy, secret_path

__all__ = ["ACCESSOR_ROLE", "GrantResult", "check_permissions", "grant", "revoke"]


@dataclass
class GrantResult:
    secret: str
    member: str
    role: str
    changed: bool
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _modify_policy(
    clients: Any, name: str, mutate: Callable[[Any], bool]
) -> iampolicy.PolicyChange:
    resource = secret_path(clients, name)
    with existing(name):
        return iampolicy.modify(
            lambda: get_policy(clients, name),
            lambda p: clients.secrets.set_iam_policy(request={"resource": resource, "policy": p}),
            mutate,
            resource=f"secret {name}",
        )


def check_permissions(clients: Any, name: str, permissions: list[str]) -> None:
    """Before a change made of several writes (rotate): TestIamPermissions on the secret, so a
    missing permission stops it before the first write instead of half-way. An empty answer
    (the secret does not exist, or the caller may not even test) is left to the calls that
    follow, which report it precisely."""
    resource = secret_path(clients, name)
    try:
        response = clients.secrets.test_iam_permissions(
            request={"resource": resource, "permissions": permissions}
        )
    except Exception as exc:
        if code_of(exc) in ("NOT_FOUND", "PERMISSION_DENIED", "UNIMPLEMENTED"):
            return
        raise
    granted = set(response.permissions)
    missing = [p for p in permissions if p not in granted]
    if granted and missing:
        role = role_for_permission(missing[0]) or "roles/secretmanager.admin"
        raise PermissionDeniedError(
            f"permission {', '.join(missing)} denied on {resource}; nothing was changed",
            hint=f"grant the caller {role} (it includes {missing[0]}) on the secret or project",
        )


def grant(clients: Any, name: str, member: str, role: str = ACCESSOR_ROLE) -> GrantResult:
    change = _modify_policy(clients, name, lambda p: iampolicy.add_member(p, role, member))
    return GrantResult(name, member, role, change.changed, change.attempts)


def revoke(clients: Any, name: str, member: str, role: str = ACCESSOR_ROLE) -> GrantResult:
    change = _modify_policy(clients, name, lambda p: iampolicy.remove_member(p, role, member))
    return GrantResult(name, member, role, change.changed, change.attempts)
