"""IAM policy read-modify-write with the policy's etag, shared by every grant thothctl makes.

``modify(get, set_, mutate)`` reads the policy, applies ``mutate`` (which returns whether it changed
anything), and writes it back with the etag it read. On ABORTED (etag mismatch: someone else
changed the policy in between) it re-reads and tries again, bounded, with jittered backoff.
Existing bindings are never dropped: mutations only add or remove one member of one role.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from thothctl import retry
from thothctl.errors import OperationError

MAX_ATTEMPTS = 10


@dataclass
class PolicyChange:
    changed: bool
    attempts: int
    policy: Any


def members(policy: Any, role: str) -> list[str]:
    out: list[str] = []
    for binding in policy.bindings:
        if binding.role == role and not _has_condition(binding):
            out.extend(binding.members)
    return out


def all_bindings(policy: Any) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for binding in policy.bindings:
        result.setdefault(binding.role, []).extend(binding.members)
    return result


def _has_condition(binding: Any) -> bool:
    try:
        return binding.HasField("condition")
    except (AttributeError, ValueError):
        return False


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


def remove_member(policy: Any, role: str, member: str) -> bool:
    """Remove ``member`` from ``role``; drops the binding if it becomes empty."""
    changed = False
    for binding in list(policy.bindings):
        if binding.role == role and member in binding.members and not _has_condition(binding):
            binding.members.remove(member)
            changed = True
            if not binding.members:
                policy.bindings.remove(binding)
    return changed


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
        if policy.version < 1:
            policy.version = 1
        if not mutate(policy):
            return PolicyChange(False, attempt, policy)
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
