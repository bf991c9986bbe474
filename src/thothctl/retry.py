"""The one retry module: which errors are transient, the retry policy every Google call gets, and
the one backoff schedule for the loops the library drives itself.

Three kinds of repetition exist in thothctl, and all of them live here:

- the policy :mod:`thothctl.clients` attaches to every RPC (``Clients.retry``: google-api-core's
  Retry with :func:`is_transient` as its predicate, the same backoff numbers, bounded by
  :func:`retry_deadline`);
- ``attempts(deadline=...)``: calls that create something are retried only after the caller has
  checked whether the previous try took effect (ALREADY_EXISTS or a read-back), until the deadline;
- ``attempts(tries=...)``: read-modify-write loops guarded by an etag (IAM policies, Cloud Run
  services) re-read and try again a bounded number of times.

Nothing here imports google.*: the library uses this module directly.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from thothctl.errors import (
    UsageError,
    code_of,
    credentials_error,
    error_info,
    policy_violations,
    retry_delay,
    unreachable_reason,
)

TRANSIENT_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
# An etag-guarded write lost a race: read again and retry.
CONFLICT_CODES = frozenset({"ABORTED", "FAILED_PRECONDITION"})

DEFAULT_DEADLINE = 60.0


def retry_deadline(environ: Mapping[str, str]) -> float:
    """Seconds a call may keep retrying (``THOTHCTL_RETRY_DEADLINE``, default 60)."""
    raw = environ.get("THOTHCTL_RETRY_DEADLINE", str(int(DEFAULT_DEADLINE)))
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):  # nan, inf, -5: never "0" or "forever"
        raise UsageError(
            f"THOTHCTL_RETRY_DEADLINE={raw!r} is not a number of seconds, 0 or more (e.g. 60)"
        )
    return seconds


def is_transient(exc: BaseException) -> bool:
    """Whether an exception is one the retry policy retries.

    Not transient, although their codes are: an endpoint that cannot be reached (refused,
    unresolvable, not speaking gRPC: waiting does not fix an address, a proxy or a stopped
    emulator), credentials that cannot be refreshed (gRPC reports them as UNAVAILABLE), and a
    resource quota (RESOURCE_QUOTA_EXCEEDED: only freeing resources helps, unlike a rate limit).
    A requests timeout (REST) is transient like DEADLINE_EXCEEDED."""
    code = code_of(exc)
    if not code:
        names = {cls.__name__ for cls in type(exc).__mro__}
        return type(exc).__module__.startswith("requests") and "ReadTimeout" in names
    if code not in TRANSIENT_CODES:
        return False
    if unreachable_reason(exc) or credentials_error(exc) is not None:
        return False
    return error_info(exc)[0] != "RESOURCE_QUOTA_EXCEEDED"


def server_delay(exc: BaseException) -> float:
    """Seconds a transient error asks the client to wait before retrying (RetryInfo), or 0."""
    return retry_delay(exc) or 0.0


def is_conflict(exc: BaseException) -> bool:
    """Whether an etag-guarded write lost a race with another writer. A FAILED_PRECONDITION
    that names an organization policy or a disabled API/billing is not a race."""
    if code_of(exc) not in CONFLICT_CODES:
        return False
    return not policy_violations(exc) and error_info(exc)[0] not in _NOT_A_RACE


_NOT_A_RACE = frozenset({"SERVICE_DISABLED", "BILLING_DISABLED"})


def attempts(
    *,
    deadline: float | None = None,
    tries: int | None = None,
    initial: float = 0.1,
    maximum: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[], None] | None = None,
) -> Iterator[bool]:
    """The one backoff schedule for loops the library drives itself.

    Yields once per attempt, ``True`` on the last one (so the caller re-raises instead of
    retrying); between attempts it sleeps with exponential backoff and jitter, from ``initial`` to
    ``maximum`` seconds. Bounded by ``deadline`` seconds, by ``tries`` attempts, or both.
    """
    if deadline is None and tries is None:
        raise ValueError("attempts() needs a deadline or a number of tries")
    stop_at = time.monotonic() + deadline if deadline is not None else None
    delay = initial
    attempt = 0
    while True:
        attempt += 1
        remaining = stop_at - time.monotonic() if stop_at is not None else None
        last = (tries is not None and attempt >= tries) or (
            remaining is not None and remaining <= delay
        )
        yield last
        if last:
            return
        if on_retry is not None:
            on_retry()
        pause = delay + random.uniform(0, delay)
        if remaining is not None:
            pause = min(pause, max(0.0, remaining))
        sleep(pause)
        delay = min(delay * 2, maximum)


def paced(
    target: Callable[[], Any],
    policy: Any,
    on_error: Callable[[Exception], None] | None,
    gretry: Any,
    retry_error: type[Exception],
) -> Any:
    """Run ``target`` under google-api-core's ``retry_target`` with ``policy``'s predicate,
    backoff and deadline (``gretry`` is google.api_core.retry, passed in: this module imports no
    google.*), and three additions: a pause is at least the delay the server asked for
    (RetryInfo), so a quota error's "retry after 30 s" is honoured, or the retrying stops when
    that is past the deadline; otherwise the last pause is cut so that the last try happens at
    the deadline (google-api-core gives up as soon as the next pause would cross it); and a
    RetryError carries how long it tried and how many tries failed (``thothctl_seconds``,
    ``thothctl_tries``) for the one line the user reads."""
    asked, tries, started = [0.0], [0], time.monotonic()

    def noted(exc: Exception) -> None:
        asked[0], tries[0] = server_delay(exc), tries[0] + 1
        if on_error is not None:
            on_error(exc)

    def pauses() -> Iterator[float]:
        backoff = gretry.exponential_sleep_generator(
            policy._initial, policy._maximum, policy._multiplier
        )
        for pause in backoff:
            if asked[0] or policy._timeout is None:
                yield max(pause, asked[0])  # past the deadline: retrying stops, as it should
                continue
            left = policy._timeout - (time.monotonic() - started)
            yield pause if pause < left or left <= 0.1 else left - 0.05  # a last try at the end

    try:
        return gretry.retry_target(
            target, policy._predicate, pauses(), timeout=policy._timeout, on_error=noted
        )
    except retry_error as exc:
        exc.thothctl_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        exc.thothctl_tries = tries[0]  # type: ignore[attr-defined]
        raise
