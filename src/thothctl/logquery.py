"""What the user asked `thothctl logs` for, as one Cloud Logging filter.

Everything the user typed is checked here, before the first call: the source, durations and
timestamps (``--since``/``--until``), the severity, and a light syntax check of ``--filter``
(balanced quotes and parentheses, no dangling operator). :func:`build_query` returns a
:class:`Query` whose ``filter`` selects one source (jobs, service, secrets or all) in the Logging
query language. Reading and following the entries is :mod:`thothctl.logs`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thothctl import validate
from thothctl.errors import UsageError

SOURCES = ("jobs", "service", "secrets", "all")
SEVERITIES = (
    "DEFAULT",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "ALERT",
    "EMERGENCY",
)
DEFAULT_SINCE = "1d"
DEFAULT_LIMIT = 100

# The logs each source reads (unencoded log ids).
SCHEDULER_LOG = "cloudscheduler.googleapis.com/executions"
RUN_LOGS = ("run.googleapis.com/requests", "run.googleapis.com/stdout", "run.googleapis.com/stderr")
AUDIT_LOG = "cloudaudit.googleapis.com/data_access"
SECRET_MANAGER = "secretmanager.googleapis.com"


@dataclass(frozen=True)
class Query:
    source: str
    filter: str
    since: dt.datetime | None
    until: dt.datetime | None
    limit: int
    job: str | None = None


def parse_time(
    value: str, *, now: dt.datetime | None = None, option: str = "--since"
) -> dt.datetime:
    """'1h', '30m', '1h30m', '2d' (that long ago) or an RFC 3339 timestamp / date
    ('2026-11-28T02:00Z', '2026-11-28T02:00:00+01:00', '2026-11-28'; no zone means UTC)."""
    text = (value or "").strip()
    now = now or dt.datetime.now(dt.UTC)
    if re.fullmatch(r"(\d+[dhms])+|\d+(\.\d+)?[dhms]?", text) and not re.fullmatch(r"\d{4}", text):
        try:
            return now - dt.timedelta(seconds=validate.parse_duration(text))
        except ValueError:
            pass
        except OverflowError:  # before year 1
            raise UsageError(f"{option} {value!r} is too far back (before the year 1)") from None
    when = parse_timestamp(text)
    if when is None:
        raise UsageError(
            f"{option} {value!r} is neither a duration nor a timestamp: use a duration like 30m, 1h "
            "or 2d, or an RFC 3339 time like 2026-11-28T02:00Z"
        )
    return when


def parse_timestamp(text: str) -> dt.datetime | None:
    """An RFC 3339 timestamp or date as an aware UTC datetime, or None if it is not one."""
    fixed = text.replace("z", "Z")
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?", fixed
    ):
        return None
    m = re.fullmatch(r"(.*:\d{2})\.(\d+)(.*)", fixed)
    if m:
        fixed = f"{m.group(1)}.{(m.group(2) + '000000')[:6]}{m.group(3)}"
    try:
        when = dt.datetime.fromisoformat(fixed)
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def check_severity(value: str) -> str:
    text = (value or "").strip().upper()
    if text == "WARN":
        text = "WARNING"
    if text not in SEVERITIES:
        raise UsageError(
            f"--severity {value!r} is not a log severity: use one of {', '.join(SEVERITIES)}"
        )
    return text


def check_filter(text: str) -> str:
    """A light local syntax check: balanced quotes and parentheses, no dangling operator. An
    error quotes the whole token at fault."""
    opened: list[int] = []  # where each '(' still open is
    i = 0
    string_at = None  # where the string being read began
    while i < len(text):
        ch = text[i]
        if string_at is not None:
            if ch == "\\":
                i += 1
            elif ch == '"':
                string_at = None
        elif ch == '"':
            string_at = i
        elif ch == "(":
            opened.append(i)
        elif ch == ")" and not opened:
            raise UsageError(
                f"--filter closes a '(' it never opened, in {_token_at(text, i)!r}",
                hint=_FILTER_HINT,
            )
        elif ch == ")":
            opened.pop()
        i += 1
    if string_at is not None:
        raise UsageError(
            f"--filter never closes the string {text[string_at:]!r}: a '\"' is missing",
            hint=_FILTER_HINT,
        )
    if opened:
        where = _token_at(text, opened[-1])
        raise UsageError(f"--filter never closes the '(' in {where!r}", hint=_FILTER_HINT)
    stripped = text.strip()
    if not stripped:
        raise UsageError("--filter is empty", hint=_FILTER_HINT)
    if re.search(r"(?:[=<>:~!]|\bAND|\bOR|\bNOT)$", stripped) and not stripped.endswith(":*"):
        last = stripped.split()[-1]
        raise UsageError(
            f"--filter ends with the operator in {last!r}: a value must follow it",
            hint=_FILTER_HINT,
        )
    if re.match(r"(AND|OR)\b", stripped):
        raise UsageError(
            "--filter starts with AND/OR: it needs an expression on its left", hint=_FILTER_HINT
        )
    return text


def _token_at(text: str, i: int) -> str:
    """The whitespace-delimited token of ``text`` holding position ``i``."""
    start = text.rfind(" ", 0, i) + 1
    end = text.find(" ", i)
    return text[start : end if end >= 0 else len(text)]


_FILTER_HINT = "use the Logging query language, e.g. --filter 'jsonPayload.status=\"UNAVAILABLE\"'"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_time(when: dt.datetime) -> str:
    """RFC 3339 in UTC, as the Logging API writes it (fraction only when there is one)."""
    return (
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{when.microsecond:06d}".rstrip("0") if when.microsecond else "")
        + "Z"
    )


def source_filter(config: Any, source: str, job_ids: Sequence[str] = ()) -> str:
    """The part of the filter that selects one source (without time/severity)."""
    _check_source(source)
    if source == "jobs":
        ids = list(job_ids) or [j.id for j in config.jobs.values()]
        parts = [f"log_id({_quote(SCHEDULER_LOG)})", 'resource.type="cloud_scheduler_job"']
        if ids:
            values = " OR ".join(_quote(i) for i in ids)
            parts.append(
                f"resource.labels.job_id=({values})"
                if len(ids) > 1
                else f"resource.labels.job_id={values}"
            )
        return " AND ".join(parts)
    if source == "service":
        return f'resource.type="cloud_run_revision" AND resource.labels.service_name={_quote(config.service)}'
    if source == "secrets":
        return f'log_id({_quote(AUDIT_LOG)}) AND resource.labels.service="{SECRET_MANAGER}"'
    return " OR ".join(  # all
        f"({source_filter(config, s, job_ids)})" for s in ("jobs", "service", "secrets")
    )


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise UsageError(f"unknown log source {source!r}: use one of {', '.join(SOURCES)}")


def _window(
    since: str | None, until: str | None, *, follow: bool, now: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The time range: --since (default 1d ago, none when following) to --until (none)."""
    if follow and until:
        raise UsageError("--until cannot be combined with --follow (following never ends)")
    start = parse_time(since, now=now, option="--since") if since is not None else None
    if start is None and not follow:
        start = parse_time(DEFAULT_SINCE, now=now)
    end = parse_time(until, now=now, option="--until") if until is not None else None
    if start and end and start > end:
        raise UsageError(f"--since ({format_time(start)}) is after --until ({format_time(end)})")
    return start, end


def build_query(
    config: Any,
    source: str = "all",
    *,
    job: str | None = None,
    since: str | None = None,
    until: str | None = None,
    severity: str | None = None,
    extra_filter: str | None = None,
    limit: int | None = None,
    follow: bool = False,
    now: dt.datetime | None = None,
) -> Query:
    """Validate everything and build the filter. Raises UsageError before any call is made."""
    _check_source(source)
    spec = config.job(job) if job else None
    if spec is not None and source in ("service", "secrets"):
        raise UsageError(
            f"--job selects scheduler entries; it does not apply to source {source!r}",
            hint="use `thothctl logs jobs --job NAME` or `thothctl logs --job NAME`",
        )
    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit} must be at least 1")
    start, end = _window(since, until, follow=follow, now=now or dt.datetime.now(dt.UTC))
    sev = check_severity(severity) if severity is not None else None
    extra = check_filter(extra_filter) if extra_filter is not None else None

    # --job narrows the scheduler part only: with source "all", the service's and the secrets'
    # entries around the job's attempts stay in.
    parts = [f"({source_filter(config, source, [spec.id] if spec else [])})"]
    if start:
        parts.append(f'timestamp>="{format_time(start)}"')
    if end:
        parts.append(f'timestamp<="{format_time(end)}"')
    if sev:
        parts.append(f"severity>={sev}")
    if extra:
        parts.append(f"({extra.strip()})")
    return Query(
        source=source,
        filter=" AND ".join(parts),
        since=start,
        until=end,
        limit=limit or DEFAULT_LIMIT,
        job=spec.name if spec else None,
    )
