"""Who may read a secret: grant and revoke one role on one secret (least privilege, never
project-wide), and a permission pre-check before a change made of several writes.

Every policy change is an etag read-modify-write through :func:`thothctl.iampolicy.modify`, so a
concurrent change is re-read and retried and other bindings are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from thothctl import iampolicy, validate
from thothctl.errors import PermissionDeniedError, UsageError, code_of, role_for_permission
from thothctl.secrets.store import ACCESSOR_ROLE, existing, get_policy, secret_path

__all__ = ["ACCESSOR_ROLE", "GrantResult", "check_permissions", "grant", "revoke"]


@dataclass
class GrantResult:
    secret: str
    member: str
    role: str
    changed: bool
    attempts: int
    # conditions under which the member (still) holds the role through conditional bindings
    conditions: list[iampolicy.Condition] = field(default_factory=list)
    condition: str | None = None  # the condition title a revoke was aimed at

    @property
    def note(self) -> str | None:
        """What stays, in words: the conditional bindings that still give the role."""
        if not self.conditions:
            return None
        held = ", ".join(map(str, self.conditions))
        return f"{self.member} still holds {self.role} on {self.secret} under condition {held}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"note": self.note}


def _modify_policy(
    clients: Any, name: str, mutate: Callable[[Any], bool]
) -> iampolicy.PolicyChange:
    resource = secret_path(clients, name)
    with existing(name, clients):
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


def _checked(member: str, role: str) -> None:
    """The member and role grammar (thothctl.validate), for callers other than the CLI too: a
    member with a trailing newline would be granted and then never found by revoke. Whether a
    public member (allUsers, domain:gmail.com) is allowed is the caller's decision (the CLI's
    --allow-public)."""
    why = None
    try:
        validate.check_member(member, allow_public=True)
        validate.check_role(role)
    except ValueError as exc:
        why = str(exc)
    if why is not None:
        raise UsageError(why, hint="nothing was changed")


def grant(clients: Any, name: str, member: str, role: str = ACCESSOR_ROLE) -> GrantResult:
    """Grant ``role`` unconditionally; the result lists the conditions under which the member
    also holds it through conditional bindings (left as they are)."""
    _checked(member, role)
    change = _modify_policy(clients, name, lambda p: iampolicy.add_member(p, role, member))
    kept = iampolicy.conditions_for(change.policy, role, member)
    return GrantResult(name, member, role, change.changed, change.attempts, kept)


def revoke(
    clients: Any,
    name: str,
    member: str,
    role: str = ACCESSOR_ROLE,
    *,
    condition: str | None = None,
    all_conditions: bool = False,
) -> GrantResult:
    """Revoke ``role``: the unconditional binding; with ``condition`` (a title) the conditional
    bindings of that title instead; with ``all_conditions`` every binding. A member who holds the
    role only under conditions, revoked without either, is a UsageError (nothing changed) naming
    them. The result lists the conditions that still give the member the role."""
    _checked(member, role)
    if condition is not None and all_conditions:
        raise UsageError("give either --condition TITLE or --all-conditions, not both")
    change = _modify_policy(
        clients,
        name,
        lambda p: iampolicy.remove_member(
            p, role, member, condition=condition, every=all_conditions
        ),
    )
    kept = iampolicy.conditions_for(change.policy, role, member)
    if not change.changed and kept and condition is None and not all_conditions:
        held = ", ".join(map(str, kept))
        raise UsageError(
            f"{member} holds {role} on {name} only under condition {held}; nothing changed",
            hint=f"revoke it there with --condition '{kept[0].title}', or everywhere with "
            "--all-conditions",
        )
    return GrantResult(name, member, role, change.changed, change.attempts, kept, condition)
