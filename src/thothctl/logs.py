"""What the sync did: Cloud Scheduler executions, the Cloud Run service's logs, secret access.

Reads the entries a :class:`~thothctl.logquery.Query` selects with ListLogEntries (newest first, up
to a limit, returned oldest first) or follows them with TailLogEntries, and turns each LogEntry
into a :class:`LogLine` with a short message: a scheduler attempt is spelled out
("daily-sync: POST …/sync → 503 after 2.1s, will retry"). The server's INVALID_ARGUMENT for a
filter it cannot parse is reported as a UsageError. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from thothctl import validate
from thothctl.clients import message_to_dict
from thothctl.errors import UsageError, code_of
from thothctl.logquery import (
    AUDIT_LOG,
    RUN_LOGS,
    SCHEDULER_LOG,
    SECRET_MANAGER,
    Query,
    format_time,
    parse_timestamp,
)

MAX_PAGE = 1000
ATTEMPT_STARTED = "AttemptStarted"
ATTEMPT_FINISHED = "AttemptFinished"


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
            "timestamp": format_time(self.timestamp) if self.timestamp else None,
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
        data = entry if isinstance(entry, dict) else message_to_dict(entry)
        log = unquote(str(data.get("logName", "")).split("/logs/", 1)[-1])
        resource = data.get("resource", {}) or {}
        labels = resource.get("labels", {}) or {}
        when = parse_timestamp(str(data.get("timestamp", ""))) if data.get("timestamp") else None
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
    if code_of(exc) != "INVALID_ARGUMENT":
        return None
    message = " ".join(str(getattr(exc, "message", None) or exc).split())
    return UsageError(
        f"the log filter was rejected: {message}",
        hint="check --filter; a column number counts in the whole filter sent, which --verbose shows",
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
    renderer = Renderer(config)
    request = {"resource_names": [f"projects/{clients.project}"], "filter": query.filter}
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
