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

import random
import time
from collections.abc import Callable, Iterator, Mapping

from thothctl.errors import UsageError, code_of

TRANSIENT_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
# An etag-guarded write lost a race: read again and retry.
CONFLICT_CODES = frozenset({"ABORTED", "FAILED_PRECONDITION"})

DEFAULT_DEADLINE = 60.0


def retry_deadline(environ: Mapping[str, str]) -> float:
    """Seconds a call may keep retrying (``THOTHCTL_RETRY_DEADLINE``, default 60)."""
    raw = environ.get("THOTHCTL_RETRY_DEADLINE", str(int(DEFAULT_DEADLINE)))
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise UsageError(
            f"THOTHCTL_RETRY_DEADLINE={raw!r} is not a number of seconds (e.g. 60)"
        ) from None


def is_transient(exc: BaseException) -> bool:
    """Whether an exception is one the retry policy retries."""
    return code_of(exc) in TRANSIENT_CODES


def is_conflict(exc: BaseException) -> bool:
    """Whether an etag-guarded write lost a race with another writer."""
    return code_of(exc) in CONFLICT_CODES


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
