"""What the sync did: Cloud Scheduler executions, the Cloud Run service's logs, secret access.

Builds one Cloud Logging filter from a source (jobs, service, secrets or all) and the options,
reads entries with ListLogEntries (newest first, up to a limit, returned oldest first) or follows
them with TailLogEntries, and turns each LogEntry into a :class:`LogLine` with a short message:
a scheduler attempt is spelled out ("daily-sync: POST …/sync → 503 after 2.1s, will retry").

Everything the user typed is checked locally before the first call: durations and timestamps,
the severity, and a light syntax check of ``--filter`` (balanced quotes and parentheses, no
dangling operator). The server's INVALID_ARGUMENT for a filter it cannot parse is reported as a
UsageError too. Nothing here prints, and google.* is imported only inside functions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

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
MAX_PAGE = 1000

SCHEDULER_LOG = "cloudscheduler.googleapis.com/executions"
RUN_LOGS = ("run.googleapis.com/requests", "run.googleapis.com/stdout", "run.googleapis.com/stderr")
AUDIT_LOG = "cloudaudit.googleapis.com/data_access"
SECRET_MANAGER = "secretmanager.googleapis.com"
ATTEMPT_STARTED = "AttemptStarted"
ATTEMPT_FINISHED = "AttemptFinished"


# --- what the user asked for -------------------------------------------------------------------


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
    when = _timestamp(text)
    if when is None:
        raise UsageError(
            f"{option} {value!r} is neither a duration nor a timestamp: use a duration like 30m, 1h "
            "or 2d, or an RFC 3339 time like 2026-11-28T02:00Z"
        )
    return when


def _timestamp(text: str) -> dt.datetime | None:
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
    """A light local syntax check: balanced quotes and parentheses, no dangling operator."""
    depth = 0
    i = 0
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UsageError(
                    f"--filter has an unmatched ')' at column {i + 1}", hint=_FILTER_HINT
                )
        i += 1
    if in_string:
        raise UsageError(
            "--filter has an unterminated string (a '\"' is missing)", hint=_FILTER_HINT
        )
    if depth > 0:
        raise UsageError("--filter has an unclosed '(' (a ')' is missing)", hint=_FILTER_HINT)
    stripped = text.strip()
    if not stripped:
        raise UsageError("--filter is empty", hint=_FILTER_HINT)
    if re.search(r"(?:[=<>:~!]|\bAND|\bOR|\bNOT)$", stripped) and not stripped.endswith(":*"):
        raise UsageError(f"--filter ends with an operator: {stripped[-12:]!r}", hint=_FILTER_HINT)
    if re.match(r"(AND|OR)\b", stripped):
        raise UsageError(
            "--filter starts with AND/OR: it needs an expression on its left", hint=_FILTER_HINT
        )
    return text


_FILTER_HINT = "use the Logging query language, e.g. --filter 'jsonPayload.status=\"UNAVAILABLE\"'"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ts(when: dt.datetime) -> str:
    return (
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{when.microsecond:06d}".rstrip("0") if when.microsecond else "")
        + "Z"
    )


def source_filter(config: Any, source: str, job_ids: Sequence[str] = ()) -> str:
    """The part of the filter that selects one source (without time/severity)."""
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
    if source == "all":
        return " OR ".join(
            f"({source_filter(config, s, job_ids)})" for s in ("jobs", "service", "secrets")
        )
    raise UsageError(f"unknown log source {source!r}: use one of {', '.join(SOURCES)}")


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
    if source not in SOURCES:
        raise UsageError(f"unknown log source {source!r}: use one of {', '.join(SOURCES)}")
    now = now or dt.datetime.now(dt.UTC)
    job_ids: list[str] = []
    job_name = None
    if job:
        spec = config.job(job)
        job_ids, job_name = [spec.id], spec.name
        if source in ("service", "secrets"):
            raise UsageError(
                f"--job selects scheduler entries; it does not apply to source {source!r}",
                hint="use `thothctl logs jobs --job NAME` or `thothctl logs --job NAME`",
            )
    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit} must be at least 1")
    if follow and until:
        raise UsageError("--until cannot be combined with --follow (following never ends)")
    start = parse_time(since, now=now, option="--since") if since else None
    if start is None and not follow:
        start = parse_time(DEFAULT_SINCE, now=now)
    end = parse_time(until, now=now, option="--until") if until else None
    if start and end and start > end:
        raise UsageError(f"--since ({_ts(start)}) is after --until ({_ts(end)})")
    sev = check_severity(severity) if severity else None
    extra = check_filter(extra_filter) if extra_filter is not None else None

    # --job narrows the scheduler part only: with source "all", the service's and the secrets'
    # entries around the job's attempts stay in.
    parts = [f"({source_filter(config, source, job_ids)})"]
    if start:
        parts.append(f'timestamp>="{_ts(start)}"')
    if end:
        parts.append(f'timestamp<="{_ts(end)}"')
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
        job=job_name,
    )


# --- what came back -----------------------------------------------------------------------------


@dataclass
class LogLine:
    timestamp: dt.datetime | None
    severity: str
    source: str  # jobs | service | secrets | other
    log: str  # unencoded log id, e.g. cloudscheduler.googleapis.com/executions
    message: str
    insert_id: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    job: str | None = None
    http_status: int | None = None
    latency: float | None = None
    status: str | None = None
    will_retry: bool | None = None
    principal: str | None = None
    payload: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": _ts(self.timestamp) if self.timestamp else None,
            "severity": self.severity,
            "source": self.source,
            "log": self.log,
            "message": self.message,
            "insert_id": self.insert_id,
            "resource": self.resource,
            "job": self.job,
            "http_status": self.http_status,
            "latency_seconds": self.latency,
            "status": self.status,
            "will_retry": self.will_retry,
            "principal": self.principal,
            "payload": self.payload,
        }


def _entry_json(entry: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    try:  # registers AuditLog, so a protoPayload renders as JSON
        from google.cloud.audit import audit_log_pb2  # noqa: F401
    except ImportError:  # pragma: no cover - shipped with google-cloud-logging
        pass
    pb = type(entry).pb(entry) if hasattr(type(entry), "pb") else entry
    return json_format.MessageToDict(pb)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)s", str(value))
    return float(m.group(1)) if m else None


def _short_url(url: str) -> str:
    if not url:
        return "?"
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"…{path}" if parts.netloc else url


def _fmt_seconds(value: float) -> str:
    if value < 0.1:
        return f"{value * 1000:.0f}ms"
    return f"{value:.1f}s" if value < 60 else validate.format_duration(round(value))


class Renderer:
    """Turns LogEntry JSON into LogLines, remembering attempts to spell out results."""

    def __init__(self, config: Any):
        self.config = config
        self.jobs_by_id = {j.id: j for j in config.jobs.values()}
        self.started: dict[tuple[str, str], dt.datetime] = {}
        self.finished: dict[tuple[str, str], int] = {}

    def line(self, entry: Any) -> LogLine:
        data = entry if isinstance(entry, dict) else _entry_json(entry)
        log = unquote(str(data.get("logName", "")).split("/logs/", 1)[-1])
        resource = data.get("resource", {}) or {}
        labels = resource.get("labels", {}) or {}
        when = _timestamp(str(data.get("timestamp", ""))) if data.get("timestamp") else None
        line = LogLine(
            timestamp=when,
            severity=str(data.get("severity", "DEFAULT")),
            source="other",
            log=log,
            message="",
            insert_id=str(data.get("insertId", "")),
            resource={"type": resource.get("type", ""), "labels": dict(labels)},
            payload=data.get("jsonPayload") or data.get("textPayload") or data.get("protoPayload"),
        )
        http = data.get("httpRequest") or {}
        if http.get("status") is not None:
            line.http_status = int(http["status"])
        line.latency = _seconds(http.get("latency"))
        if log == SCHEDULER_LOG or resource.get("type") == "cloud_scheduler_job":
            self._job(line, data, labels)
        elif resource.get("type") == "cloud_run_revision" or log in RUN_LOGS:
            self._service(line, data, http)
        elif log == AUDIT_LOG and (
            labels.get("service") == SECRET_MANAGER or _svc(data) == SECRET_MANAGER
        ):
            self._secret(line, data)
        else:
            line.message = _text(data) or log
        return line

    def _job(self, line: LogLine, data: dict[str, Any], labels: dict[str, Any]) -> None:
        line.source = "jobs"
        payload = data.get("jsonPayload") or {}
        job_id = labels.get("job_id") or str(payload.get("jobName", "")).rsplit("/", 1)[-1]
        spec = self.jobs_by_id.get(job_id)
        line.job = spec.name if spec else job_id
        kind = str(payload.get("@type", "")).rsplit(".", 1)[-1]
        method = spec.method if spec else "HTTP"
        target = f"{method} {_short_url(str(payload.get('url', '')))}"
        key = (str(payload.get("jobName", job_id)), str(payload.get("scheduledTime", "")))
        if kind == ATTEMPT_STARTED:
            if line.timestamp:
                self.started[key] = line.timestamp
            line.message = f"{line.job}: {target} attempt started"
            return
        if kind != ATTEMPT_FINISHED:
            line.message = f"{line.job}: {_text(data) or kind or 'scheduler entry'}"
            return
        started = self.started.get(key)
        if line.latency is None and started and line.timestamp:
            line.latency = max(0.0, (line.timestamp - started).total_seconds())
        status = payload.get("status")
        line.status = str(status) if status else None
        result = str(line.http_status) if line.http_status else (line.status or "?")
        text = f"{line.job}: {target} → {result}"
        if line.latency is not None:
            text += f" after {_fmt_seconds(line.latency)}"
        failed = bool(status) or (line.http_status is not None and line.http_status >= 300)
        if failed:
            if line.http_status and status:
                text += f" ({status})"
            attempts = self.finished[key] = self.finished.get(key, 0) + 1
            if spec is not None:
                line.will_retry = attempts <= spec.retry.retry_count
                left = spec.retry.retry_count - attempts + 1
                text += (
                    ", will retry"
                    if line.will_retry
                    else f", gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
                )
                if line.will_retry and left:
                    text += f" ({left} retr{'ies' if left != 1 else 'y'} left)"
        else:
            line.will_retry = False
            text += ", ok"
        line.message = text

    def _service(self, line: LogLine, data: dict[str, Any], http: dict[str, Any]) -> None:
        line.source = "service"
        if http:
            url = str(http.get("requestUrl", ""))
            path = urlsplit(url).path or url or "/"
            text = f"{http.get('requestMethod', 'GET')} {path} → {line.http_status if line.http_status else '?'}"
            if line.latency is not None:
                text += f" in {_fmt_seconds(line.latency)}"
            agent = str(http.get("userAgent", ""))
            if "Google-Cloud-Scheduler" in agent:
                text += " (from Cloud Scheduler)"
            line.message = text
        else:
            line.message = _text(data) or line.log

    def _secret(self, line: LogLine, data: dict[str, Any]) -> None:
        line.source = "secrets"
        proto = data.get("protoPayload") or {}
        method = str(proto.get("methodName", "")).rsplit(".", 1)[-1] or "access"
        who = (proto.get("authenticationInfo") or {}).get("principalEmail") or "someone"
        line.principal = who if who != "someone" else None
        resource = str(proto.get("resourceName", ""))
        m = re.search(r"secrets/([^/]+)(?:/versions/([^/]+))?", resource)
        what = m.group(1) if m else resource or "a secret"
        if m and m.group(2):
            what += f" (version {m.group(2)})"
        status = proto.get("status") or {}
        verb = "read" if method == "AccessSecretVersion" else method
        text = f"{who} {verb} {what}"
        if status.get("code"):
            line.status = str(status.get("message") or status.get("code"))
            text += (
                f": denied ({line.status})"
                if status.get("code") == 7
                else f": failed ({line.status})"
            )
        line.message = text


def _svc(data: dict[str, Any]) -> str:
    return str((data.get("protoPayload") or {}).get("serviceName", ""))


def _text(data: dict[str, Any]) -> str:
    text = data.get("textPayload")
    if text is None:
        payload = data.get("jsonPayload") or {}
        text = payload.get("message") or payload.get("msg") or ""
        if not text and payload:
            text = ", ".join(
                f"{k}={v}" for k, v in list(payload.items())[:4] if not str(k).startswith("@")
            )
    text = " ".join(str(text).split())
    return text if len(text) <= 200 else text[:199] + "…"


# --- reading ------------------------------------------------------------------------------------


def _invalid_filter(exc: BaseException) -> UsageError | None:
    if getattr(getattr(exc, "grpc_status_code", None), "name", "") != "INVALID_ARGUMENT":
        return None
    message = " ".join(str(getattr(exc, "message", None) or exc).split())
    return UsageError(
        f"the log filter was rejected: {message}",
        hint="check --filter; --verbose shows the whole filter sent (columns count in it)",
    )


def _newest(clients: Any, query: Query) -> tuple[list[Any], bool]:
    """The newest ``query.limit`` matching entries (newest first) and whether more matched."""
    request = {
        "resource_names": [f"projects/{clients.project}"],
        "filter": query.filter,
        "order_by": "timestamp desc",
        "page_size": min(query.limit, MAX_PAGE),
    }
    entries: list[Any] = []
    try:
        for page in clients.logging.list_log_entries(request=request).pages:
            room = query.limit - len(entries)
            entries.extend(page.entries[:room])
            if len(page.entries) > room:
                return entries, True
            if len(entries) == query.limit:
                return entries, bool(page.next_page_token)
    except Exception as exc:
        usage = _invalid_filter(exc)
        if usage:
            raise usage from None
        raise
    return entries, False


def read(clients: Any, config: Any, query: Query) -> tuple[list[LogLine], bool]:
    """The newest ``query.limit`` matching entries, oldest first, and whether more matched."""
    entries, more = _newest(clients, query)
    renderer = Renderer(config)
    return [renderer.line(e) for e in reversed(entries)], more


def follow(
    clients: Any,
    config: Any,
    query: Query,
    *,
    backlog: bool = False,
    on_open: Callable[[], None] | None = None,
) -> Iterator[LogLine]:
    """Stream matching entries as they are written (TailLogEntries). A generator: the caller
    stops it (``close()``, or Ctrl-C while it waits), which cancels the stream. With
    ``backlog``, the newest entries since ``query.since`` are read first (ListLogEntries);
    an entry that arrives in both is shown once."""
    from google.cloud.logging_v2 import types

    renderer = Renderer(config)
    request = types.TailLogEntriesRequest(
        resource_names=[f"projects/{clients.project}"], filter=query.filter
    )
    stream = None
    seen: set[str] = set()
    try:
        if backlog:
            entries, _ = _newest(clients, query)
            for entry in reversed(entries):
                line = renderer.line(entry)
                seen.add(line.insert_id)
                yield line
        if on_open is not None:
            on_open()
        # No deadline: following lasts until the caller stops. The client returns the stream
        # once the first response arrives.
        stream = clients.logging.tail_log_entries(requests=iter([request]), timeout=None)
        for response in stream:
            for entry in response.entries:
                line = renderer.line(entry)
                if line.insert_id and line.insert_id in seen:
                    continue
                yield line
    except Exception as exc:
        usage = _invalid_filter(exc)
        if usage:
            raise usage from None
        raise
    finally:
        if stream is not None:
            try:
                stream.cancel()
            except Exception:
                pass
