"""IAM policy read-modify-write with the policy's etag, shared by every grant thothctl makes.

``modify(get, set_, mutate)`` reads the policy, applies ``mutate`` (which returns whether it changed
anything), and writes it back with the etag it read. On ABORTED (etag mismatch: someone else
changed the policy in between) it re-reads and tries again, bounded, with jittered backoff.
Existing bindings are never dropped: mutations only add or remove one member of one role.

Conditional role bindings (IAM Conditions) follow Google's policy-version rules: policies are
always read with ``requested_policy_version`` 3 (:func:`get_request`), so conditions are seen and
never come back as ``ROLE_withcond_HASH``; a policy that holds a condition is written as version 3
(with its etag, so conditions are never lost to a version-1 overwrite). thothctl grants
unconditionally only; it shows the conditional bindings it finds, and removes a member from them
only when asked by condition title (or all of them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from thothctl import retry
from thothctl.errors import OperationError

MAX_ATTEMPTS = 10
POLICY_VERSION = 3  # the version that carries conditions; requested on every read


@dataclass
class PolicyChange:
    changed: bool
    attempts: int
    policy: Any


@dataclass(frozen=True)
class Condition:
    title: str
    expression: str
    description: str = ""

    def __str__(self) -> str:
        return f"'{self.title}' ({self.expression})"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Binding:
    """One role binding; ``condition`` is None for an unconditional one."""

    role: str
    members: tuple[str, ...]
    condition: Condition | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "members": list(self.members),
            "condition": self.condition.to_json() if self.condition else None,
        }


def get_request(resource: str) -> dict[str, Any]:
    """A GetIamPolicy request that sees conditional bindings as they are (version 3)."""
    return {"resource": resource, "options": {"requested_policy_version": POLICY_VERSION}}


def _has_condition(binding: Any) -> bool:
    try:
        return binding.HasField("condition")
    except (AttributeError, ValueError):
        return False


def condition_of(binding: Any) -> Condition | None:
    if not _has_condition(binding):
        return None
    c = binding.condition
    return Condition(c.title, c.expression, c.description)


def bindings(policy: Any) -> list[Binding]:
    return [Binding(b.role, tuple(b.members), condition_of(b)) for b in policy.bindings]


def members(policy: Any, role: str) -> list[str]:
    """The members holding ``role`` unconditionally."""
    return all_bindings(policy).get(role, [])


def all_bindings(policy: Any) -> dict[str, list[str]]:
    """role -> members of the unconditional bindings (each member once)."""
    result: dict[str, list[str]] = {}
    for b in bindings(policy):
        if b.condition is None:
            held = result.setdefault(b.role, [])
            held.extend(m for m in b.members if m not in held)
    return result


def conditional_bindings(policy: Any) -> list[Binding]:
    return [b for b in bindings(policy) if b.condition is not None]


def conditions_for(policy: Any, role: str, member: str) -> list[Condition]:
    """The conditions under which ``member`` holds ``role`` through conditional bindings."""
    return [
        b.condition
        for b in conditional_bindings(policy)
        if b.role == role and member in b.members and b.condition is not None
    ]


def add_member(policy: Any, role: str, member: str) -> bool:
    """Add ``member`` to ``role`` (unconditional binding). Returns False if already there."""
    for binding in policy.bindings:
        if binding.role == role and not _has_condition(binding):
            if member in binding.members:
                return False
            binding.members.append(member)
            return True
    policy.bindings.add(role=role, members=[member])
    return True


def remove_member(
    policy: Any, role: str, member: str, *, condition: str | None = None, every: bool = False
) -> bool:
    """Remove ``member`` from ``role``: from the unconditional binding; with ``condition`` (a
    title) from the conditional bindings of that title instead; with ``every`` from all of them.
    A binding left without members is dropped."""
    changed = False
    for binding in list(policy.bindings):
        if binding.role != role or member not in binding.members:
            continue
        cond = condition_of(binding)
        if every or (cond.title == condition if cond else condition is None):
            binding.members.remove(member)
            changed = True
            if not binding.members:
                policy.bindings.remove(binding)
    return changed


def _set_version(policy: Any) -> None:
    """Version 3 when a binding has a condition (Google refuses conditions in a version-1
    policy), else at least 1."""
    if any(_has_condition(b) for b in policy.bindings):
        policy.version = POLICY_VERSION
    elif policy.version < 1:
        policy.version = 1


def modify(
    get: Callable[[], Any],
    set_: Callable[[Any], Any],
    mutate: Callable[[Any], bool],
    *,
    resource: str = "the resource",
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> PolicyChange:
    """Read-modify-write a policy with its etag, retrying on concurrent changes."""
    schedule = retry.attempts(tries=attempts, initial=0.05, maximum=2.0, sleep=sleep)
    for attempt, last in enumerate(schedule, 1):
        policy = get()
        if not mutate(policy):
            return PolicyChange(False, attempt, policy)
        _set_version(policy)
        try:
            written = set_(policy)
            return PolicyChange(True, attempt, written)
        except Exception as exc:
            if not retry.is_conflict(exc):
                raise
            if last:
                raise OperationError(
                    f"the IAM policy of {resource} kept changing under us ({attempts} tries)",
                    hint="someone else is editing it; try again in a moment",
                ) from None
    raise AssertionError("unreachable")  # attempts() always yields a last try
