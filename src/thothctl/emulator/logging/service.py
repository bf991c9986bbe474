"""google.logging.v2.LoggingServiceV2: WriteLogEntries, ListLogEntries, TailLogEntries, ListLogs,
DeleteLog, plus :meth:`LoggingService.append`, the hook behind ``Emulator.write_log`` that the
emulated scheduler, the stub Cloud Run service and Secret Manager use to write their entries.

Entries are kept in the store (table ``logging.entries``) in their JSON form (camelCase, as
``json_format.MessageToDict`` renders a LogEntry), keyed by project, timestamp and insert id, so a
duplicate (same project, timestamp and insert id) replaces the earlier one, as the API
de-duplicates. The newest ``MAX_ENTRIES`` are kept. Filters are evaluated by
:mod:`thothctl.emulator.logging.filter`. What is validated, and the emulator's choices where
Google does not say: docs/emulator.md, "Cloud Logging".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time
from typing import Any
from urllib.parse import quote, unquote

from google.cloud.logging_v2 import types
from google.protobuf import any_pb2, empty_pb2, json_format

from thothctl.emulator import base
from thothctl.emulator.base import EmulatedService, EmulatorError, rpc
from thothctl.emulator.logging import filter as logfilter

try:  # register AuditLog so protoPayload Anys render to and from JSON
    from google.cloud.audit import audit_log_pb2  # noqa: F401
except ImportError:  # pragma: no cover - shipped with google-cloud-logging
    pass

ENTRIES_TABLE = "logging.entries"
MAX_ENTRIES = 20_000
RETENTION = dt.timedelta(days=30)
FUTURE_LIMIT = dt.timedelta(hours=24)
MAX_RESOURCE_NAMES = 100
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_LOG_ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.-")
_RECENT_MAX = 5000


def _nanos(when: dt.datetime) -> int:
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _rfc3339(nanos: int) -> str:
    secs, frac = divmod(nanos, 1_000_000_000)
    base_text = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        return f"{base_text}.{frac:09d}".rstrip("0") + "Z"
    return base_text + "Z"


def _key(project: str, nanos: int, insert_id: str) -> str:
    return f"{project}|{nanos:020d}|{insert_id}"


def _latency(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{float(value):.9f}".rstrip("0").rstrip(".") + "s"
    return str(value)


class LoggingService(EmulatedService):
    service_name = "google.logging.v2.LoggingServiceV2"
    api = "logging.googleapis.com"
    api_title = "Cloud Logging API"

    def __init__(self, emulator):
        super().__init__(emulator)
        self._cond = threading.Condition(threading.Lock())
        self._seq = 0
        self._recent: list[tuple[int, str, dict[str, Any]]] = []  # (seq, project, entry json)
        self._stopping = False
        self.tailers = 0

    # --- storage ---------------------------------------------------------------------------
    def _insert_id(self) -> str:
        return f"emu{self.store.next_id('logging.insert_id'):012d}"

    def _store(self, project: str, nanos: int, entry: dict[str, Any]) -> None:
        """Add one entry (JSON form). Caller validated it. Wakes up tailers."""
        with self.store.lock:
            table = self.store.table(ENTRIES_TABLE)
            table[_key(project, nanos, entry["insertId"])] = {
                "project": project,
                "ts": nanos,
                "entry": entry,
            }
            if len(table) > MAX_ENTRIES + MAX_ENTRIES // 20:
                for key in sorted(table, key=lambda k: k.split("|", 1)[1])[
                    : len(table) - MAX_ENTRIES
                ]:
                    del table[key]
            self.store.touch()
            with self._cond:
                self._seq += 1
                self._recent.append((self._seq, project, entry))
                if len(self._recent) > _RECENT_MAX:
                    del self._recent[: len(self._recent) - _RECENT_MAX]
                self._cond.notify_all()

    def append(
        self,
        *,
        project_id: str,
        log_id: str,
        resource_type: str,
        resource_labels: dict[str, str] | None = None,
        severity: str = "INFO",
        json_payload: dict[str, Any] | None = None,
        text_payload: str | None = None,
        proto_payload: Any = None,
        http_request: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
        timestamp: dt.datetime | None = None,
        insert_id: str | None = None,
    ) -> dict[str, Any]:
        """Write one entry on behalf of an emulated Google service. Thread-safe; may be called
        while holding the store lock. Returns the entry's JSON form."""
        with self.store.lock:
            project = self.emu.resolve_project(project_id)["id"]
            now = base.now()
            when = timestamp or now
            nanos = _nanos(when)
            entry: dict[str, Any] = {
                "logName": f"projects/{project}/logs/{quote(log_id, safe='')}",
                "resource": {
                    "type": resource_type,
                    "labels": {k: str(v) for k, v in (resource_labels or {}).items()},
                },
                "timestamp": _rfc3339(nanos),
                "receiveTimestamp": _rfc3339(_nanos(now)),
                "insertId": insert_id or self._insert_id(),
            }
            sev = str(severity or "DEFAULT").upper()
            if logfilter.severity_number(sev) is None or sev.lstrip("-").isdigit():
                sev = "DEFAULT"
            if sev != "DEFAULT":
                entry["severity"] = sev
            if json_payload is not None:
                entry["jsonPayload"] = json.loads(json.dumps(json_payload, default=str))
            elif text_payload is not None:
                entry["textPayload"] = str(text_payload)
            elif proto_payload is not None:
                packed = any_pb2.Any()
                packed.Pack(proto_payload)
                entry["protoPayload"] = json_format.MessageToDict(packed)
            if http_request:
                req = dict(http_request)
                if "latency" in req:
                    req["latency"] = _latency(req["latency"])
                if "status" in req:
                    req["status"] = int(req["status"])
                entry["httpRequest"] = req
            if labels:
                entry["labels"] = {k: str(v) for k, v in labels.items()}
            self._store(project, nanos, entry)
            return entry

    def _entries(self, projects: list[str]) -> list[dict[str, Any]]:
        wanted = set(projects)
        rows = [row for row in self.store.table(ENTRIES_TABLE).values() if row["project"] in wanted]
        rows.sort(key=lambda r: (r["ts"], r["entry"].get("insertId", "")))
        return rows

    # --- validation ------------------------------------------------------------------------
    def _parse_log_name(self, log_name: str) -> tuple[str, str]:
        """-> (project id, log id as stored: URL-encoded). Accepts a project number."""
        name = log_name.lstrip("/")
        parts = name.split("/", 3)
        if (
            len(parts) != 4
            or parts[0] != "projects"
            or parts[2] != "logs"
            or not parts[1]
            or not parts[3]
        ):
            raise base.invalid(
                f"Invalid log name {log_name!r}: expected projects/[PROJECT_ID]/logs/[LOG_ID] "
                "with LOG_ID URL-encoded."
            )
        log_id = unquote(parts[3])
        if len(parts[3]) >= 512 or not set(log_id) <= _LOG_ID_CHARS:
            raise base.invalid(
                f"Invalid log id {log_id!r} in {log_name!r}: less than 512 characters, only "
                "letters, digits, '/', '_', '-' and '.'."
            )
        project = self.emu.resolve_project(parts[1])["id"]
        return project, quote(log_id, safe="")

    def _projects(self, resource_names: list[str]) -> list[str]:
        if not resource_names:
            raise base.invalid('resource_names is required: e.g. ["projects/my-project"].')
        if len(resource_names) > MAX_RESOURCE_NAMES:
            raise base.invalid(
                f"At most {MAX_RESOURCE_NAMES} resource names may be queried at once."
            )
        projects = []
        for name in resource_names:
            parts = name.split("/")
            if len(parts) != 2 or parts[0] != "projects" or not parts[1]:
                raise base.invalid(
                    f"Invalid resource name {name!r}: the emulator supports projects/[PROJECT_ID]."
                )
            projects.append(self.emu.resolve_project(parts[1])["id"])
        return list(dict.fromkeys(projects))

    @staticmethod
    def _filter(text: str):
        try:
            return logfilter.compile_filter(text)
        except logfilter.FilterError as exc:
            raise base.invalid(f"Unparseable filter: {exc}") from None

    # --- RPCs ------------------------------------------------------------------------------
    @rpc(
        "WriteLogEntries",
        types.WriteLogEntriesRequest,
        types.WriteLogEntriesResponse,
        mutating=True,
        permission="logging.logEntries.create",
    )
    def write_log_entries(self, request, context):
        req = types.WriteLogEntriesRequest.pb(request)
        if not req.entries:
            raise base.invalid("entries must not be empty.")
        now = base.now()
        ready: list[tuple[str, int, dict[str, Any]]] = []
        errors: dict[int, EmulatorError] = {}
        for index, pb_entry in enumerate(req.entries):
            try:
                ready.append(self._prepare(req, pb_entry, now))
            except EmulatorError as err:
                errors[index] = err
        if errors and not req.partial_success:
            first = min(errors)
            raise base.invalid(f"Log entry with index {first} is invalid: {errors[first].message}")
        if not req.dry_run:
            for project, nanos, entry in ready:
                if (
                    now - RETENTION
                    <= dt.datetime.fromtimestamp(nanos / 1e9, dt.UTC)
                    <= now + FUTURE_LIMIT
                ):
                    entry["insertId"] = entry.get("insertId") or self._insert_id()
                    self._store(project, nanos, entry)
        if errors:
            self._abort_partial(context, errors)
        return types.WriteLogEntriesResponse()

    def _prepare(self, req, pb_entry, now: dt.datetime) -> tuple[str, int, dict[str, Any]]:
        entry = json_format.MessageToDict(pb_entry)
        log_name = entry.get("logName") or req.log_name
        if not log_name:
            raise base.invalid("log_name is required (in the entry or in the request).")
        project, encoded = self._parse_log_name(log_name)
        entry["logName"] = f"projects/{project}/logs/{encoded}"
        if "resource" not in entry:
            if not req.HasField("resource") or not req.resource.type:
                raise base.invalid("resource is required (in the entry or in the request).")
            entry["resource"] = json_format.MessageToDict(req.resource)
        if not entry["resource"].get("type"):
            raise base.invalid("resource.type is required.")
        if req.labels:
            entry["labels"] = {**dict(req.labels), **entry.get("labels", {})}
        nanos = (
            pb_entry.timestamp.ToNanoseconds() if pb_entry.HasField("timestamp") else _nanos(now)
        )
        entry["timestamp"] = _rfc3339(nanos)
        entry["receiveTimestamp"] = _rfc3339(_nanos(now))
        return project, nanos, entry

    def _abort_partial(self, context, errors: dict[int, EmulatorError]) -> None:
        """The valid entries were written; answer with the status of one failed entry and
        WriteLogEntriesPartialErrors{index -> status} in the details."""
        from google.rpc import status_pb2

        partial = types.WriteLogEntriesPartialErrors.pb()()
        for index, err in errors.items():
            partial.log_entry_errors[index].CopyFrom(
                status_pb2.Status(code=err.code.value[0], message=err.message)
            )
        first = min(errors)
        self.store.touch()
        raise EmulatorError(
            errors[first].code,
            f"{len(errors)} of the log entries were invalid; the others were written. "
            f"Entry {first}: {errors[first].message}",
            details=[partial],
        )

    @rpc(
        "ListLogEntries",
        types.ListLogEntriesRequest,
        types.ListLogEntriesResponse,
        permission="logging.logEntries.list",
    )
    def list_log_entries(self, request, context):
        projects = self._projects(list(request.resource_names))
        order = " ".join(request.order_by.split()).lower()
        if order not in ("", "timestamp asc", "timestamp desc"):
            raise base.invalid(
                f'Invalid order_by {request.order_by!r}: use "timestamp asc" or "timestamp desc".'
            )
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            raise base.invalid(
                f"Invalid page_size {request.page_size}: must be between 0 and {MAX_PAGE_SIZE}."
            )
        match = self._filter(request.filter)
        size = request.page_size or DEFAULT_PAGE_SIZE
        descending = order == "timestamp desc"
        query_hash = hashlib.sha256(
            json.dumps([sorted(projects), request.filter, descending]).encode()
        ).hexdigest()[:16]
        after: tuple[int, str] | None = None
        if request.page_token:
            after = self._decode_token(request.page_token, query_hash)
        rows = self._entries(projects)
        if descending:
            rows.reverse()
        page: list[dict[str, Any]] = []
        last: tuple[int, str] | None = None
        more = False
        for row in rows:
            pos = (row["ts"], row["entry"].get("insertId", ""))
            if after is not None and (pos <= after if not descending else pos >= after):
                continue
            if not match(row["entry"]):
                continue
            if len(page) == size:
                more = True
                break
            page.append(row["entry"])
            last = pos
        token = self._encode_token(last, query_hash) if more and last else ""
        return types.ListLogEntriesResponse(
            entries=[self._to_message(e) for e in page], next_page_token=token
        )

    @staticmethod
    def _encode_token(pos: tuple[int, str], query_hash: str) -> str:
        raw = json.dumps({"q": query_hash, "ts": pos[0], "id": pos[1]}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _decode_token(token: str, query_hash: str) -> tuple[int, str]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            pos = (int(data["ts"]), str(data["id"]))
            same = data["q"] == query_hash
        except (ValueError, KeyError, TypeError):
            raise base.invalid("Invalid page token.") from None
        if not same:
            raise base.invalid(
                "The page token does not belong to this query (resource names, filter and order must not change)."
            )
        return pos

    @staticmethod
    def _to_message(entry: dict[str, Any]) -> types.LogEntry:
        pb = types.LogEntry.pb()()
        json_format.ParseDict(entry, pb, ignore_unknown_fields=True)
        return types.LogEntry.wrap(pb)

    @rpc(
        "TailLogEntries",
        types.TailLogEntriesRequest,
        types.TailLogEntriesResponse,
        permission="logging.logEntries.list",
        stream="stream_stream",
    )
    def tail_log_entries(self, request_iterator, context):
        first = next(iter(request_iterator))  # the dispatcher checked it already
        with self.store.lock:
            projects = set(self._projects(list(first.resource_names)))
        window = first.buffer_window
        if window is not None and window.total_seconds() and not 0 <= window.total_seconds() <= 60:
            raise base.invalid("buffer_window must be between 0 and 60 seconds.")
        match = self._filter(first.filter)
        with self._cond:
            last = self._seq
            self.tailers += 1
            self._cond.notify_all()
        try:
            while context.is_active() and not self._stopping:
                with self._cond:
                    if self._seq == last:
                        self._cond.wait(0.1)
                    fresh = [(seq, project, e) for seq, project, e in self._recent if seq > last]
                    if fresh:
                        last = fresh[-1][0]
                batch = [e for _, project, e in fresh if project in projects and match(e)]
                if batch:
                    batch.sort(key=lambda e: (e.get("timestamp", ""), e.get("insertId", "")))
                    yield types.TailLogEntriesResponse(entries=[self._to_message(e) for e in batch])
        finally:
            with self._cond:
                self.tailers -= 1
                self._cond.notify_all()

    def wait_for_tailers(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` tail streams are open (tests use this)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.tailers < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # --- lifecycle, control plane ------------------------------------------------------------
    def on_start(self) -> None:
        self._stopping = False

    def on_stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    @rpc(
        "ListLogs",
        types.ListLogsRequest,
        types.ListLogsResponse,
        permission="logging.logs.list",
    )
    def list_logs(self, request, context):
        """The logs of a project that have entries, by name (URL-encoded log ids)."""
        projects = self._projects([request.parent])
        names = sorted(
            {
                row["entry"]["logName"]
                for row in self._entries(projects)
                if "logName" in row["entry"]
            }
        )
        page, token = base.paginate(
            names, request, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
        )
        return types.ListLogsResponse(log_names=page, next_page_token=token)

    @rpc(
        "DeleteLog",
        types.DeleteLogRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="logging.logs.delete",
    )
    def delete_log(self, request, context):
        """Delete every entry of one log; NOT_FOUND when it has none. New entries bring it back."""
        project, log_id = self._parse_log_name(request.log_name)
        name = f"projects/{project}/logs/{log_id}"
        table = self.store.table(ENTRIES_TABLE)
        doomed = [
            key
            for key, row in table.items()
            if row["project"] == project and row["entry"].get("logName") == name
        ]
        if not doomed:
            raise base.not_found(f"Log {request.log_name} not found.")
        for key in doomed:
            del table[key]
        return empty_pb2.Empty()

    def control_ops(self):
        def write(args: dict[str, Any]) -> dict[str, Any]:
            args = dict(args)
            if isinstance(args.get("timestamp"), str):
                args["timestamp"] = logfilter.parse_timestamp(args["timestamp"])
            return self.append(**args)

        def entries(args: dict[str, Any]) -> list[dict[str, Any]]:
            with self.store.lock:
                match = self._filter(args.get("filter", ""))
                projects = [self.emu.resolve_project(args.get("project", "thoth-local"))["id"]]
                return [row["entry"] for row in self._entries(projects) if match(row["entry"])]

        return {"logs_write": write, "logs_entries": entries}


SERVICES = [LoggingService]
