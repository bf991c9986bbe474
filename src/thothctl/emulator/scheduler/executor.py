"""Cloud Scheduler's executor: the clock, the HTTP attempts and the retries (docs/emulator.md,
"Cloud Scheduler").

A background thread (started when the emulator starts) sleeps until the earliest
``schedule_time`` of the ENABLED jobs (woken early when a job changes, at least once a minute) and
fires those whose time has come, so an idle emulator uses no CPU between fires;
:meth:`Executor.tick` does the same at a chosen instant, so tests need not wait for the clock. A firing sends what Cloud Scheduler sends: the
method, the user headers, ``User-Agent: Google-Cloud-Scheduler``, ``X-CloudScheduler: true``,
``X-CloudScheduler-JobName: JOB_ID``, ``X-CloudScheduler-ScheduleTime`` (RFC 3339 in the job's
time zone), ``Content-Type: application/octet-stream`` when a body has none, and
``Authorization: Bearer`` an RS256 OIDC ID token from :mod:`thothctl.emulator.oidc`. The attempt
deadline is enforced; failures are retried per the retry config (backoff doubles
``max_doublings`` times then grows linearly, capped); each attempt writes the
``cloudscheduler.googleapis.com/executions`` AttemptStarted and AttemptFinished entries.
``time_scale`` scales deadlines and backoffs down for tests; ``auto`` turns the clock off.
Only loopback targets are ever contacted.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from google.cloud.scheduler_v1 import types
from google.rpc import status_pb2

from thothctl.emulator import base, oidc
from thothctl.emulator.scheduler.model import (
    JOBS_TABLE,
    State,
    copy_job,
    reschedule,
    seconds,
    target_of,
    tz_for,
)

TARGET_TYPE = {
    "http_target": "HTTP",
    "pubsub_target": "PUB_SUB",
    "app_engine_http_target": "APP_ENGINE_HTTP",
}
EXECUTION_LOG = "cloudscheduler.googleapis.com/executions"
LOG_TYPE = "type.googleapis.com/google.cloud.scheduler.logging."

# HTTP status -> (gRPC code name, number)
_HTTP_TO_GRPC = {
    400: ("INVALID_ARGUMENT", 3),
    401: ("UNAUTHENTICATED", 16),
    403: ("PERMISSION_DENIED", 7),
    404: ("NOT_FOUND", 5),
    409: ("ABORTED", 10),
    429: ("RESOURCE_EXHAUSTED", 8),
    499: ("CANCELLED", 1),
    500: ("INTERNAL", 13),
    501: ("UNIMPLEMENTED", 12),
    503: ("UNAVAILABLE", 14),
    504: ("DEADLINE_EXCEEDED", 4),
}


def grpc_code_for_http(status: int) -> tuple[str, int]:
    if 200 <= status < 300:
        return "OK", 0
    if status in _HTTP_TO_GRPC:
        return _HTTP_TO_GRPC[status]
    return ("FAILED_PRECONDITION", 9) if 400 <= status < 500 else ("INTERNAL", 13)


def debug_info(status: int) -> str:
    if 200 <= status < 300:
        kind = "URL_CRAWLED"
    elif status == 404:
        kind = "URL_ERROR-ERROR_NOT_FOUND"
    elif status in (401, 403):
        kind = "URL_ERROR-ERROR_AUTHENTICATION"
    elif status >= 500:
        kind = "URL_UNREACHABLE-UNREACHABLE_5xx"
    else:
        kind = "URL_ERROR-ERROR_OTHER"
    return f"{kind}. Original HTTP response code number = {status}"


def backoff_s(attempt: int, minimum: float, maximum: float, doublings: int) -> float:
    """Delay before retry number ``attempt`` (0-based), as documented for RetryConfig."""
    if attempt <= doublings:
        delay = minimum * 2**attempt
    else:
        delay = minimum * 2**doublings * (1 + attempt - doublings)
    return min(delay, maximum)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_client_for(scheme: str):
    return http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Outcome:
    """What one attempt came to."""

    code: str = "OK"
    number: int = 0
    message: str = ""
    http_status: int | None = None
    latency: float = 0.0

    @classmethod
    def unreachable(cls, kind: str, message: str, started: float | None = None) -> Outcome:
        code, number = ("DEADLINE_EXCEEDED", 4) if kind == "TIMEOUT" else ("UNAVAILABLE", 14)
        latency = time.time() - started if started is not None else 0.0
        return cls(code, number, f"URL_UNREACHABLE-UNREACHABLE_{kind}. {message}", None, latency)


MAX_SLEEP_S = 60.0  # the clock wakes at least this often (a suspended laptop, a changed clock)


class Executor:
    def __init__(self, emulator: Any):
        self.emu = emulator
        self.store = emulator.store
        self.time_scale = 1.0
        self._auto = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: set[str] = set()
        self._epoch = 0
        self._guard = threading.Lock()
        self.store.watch(JOBS_TABLE, self._wake.set)

    @property
    def auto(self) -> bool:
        """Whether the clock fires jobs on its own (tests turn it off and tick by hand)."""
        return self._auto

    @auto.setter
    def auto(self, value: bool) -> None:
        self._auto = value
        self._wake.set()

    # --- the clock -------------------------------------------------------------------------
    def start(self) -> None:
        with self._guard:
            self._epoch += 1
            self._running.clear()
        self.time_scale = 1.0
        self.auto = True
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._clock, args=(self._stop,), name="emulator-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._guard:
            self._epoch += 1
        self._thread = None

    def _clock(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            if self.auto:
                try:
                    self.tick(base.now())
                except Exception:  # the clock must keep running
                    pass
            self._wake.wait(self._sleep_s() if self.auto else MAX_SLEEP_S)

    def _next_due(self) -> tuple[dt.datetime, str] | None:
        """The earliest fire of an ENABLED job not running now, and that job."""
        with self.store.lock:
            jobs = list(dict.items(self.store.table(JOBS_TABLE)))
        with self._guard:
            running = set(self._running)
        due = [
            (types.Job.pb(job).schedule_time.ToDatetime(dt.UTC), name)
            for name, job in jobs
            if job.state == State.ENABLED and "schedule_time" in job and name not in running
        ]
        return min(due) if due else None

    def _sleep_s(self) -> float:
        nxt = self._next_due()
        if nxt is None:
            return MAX_SLEEP_S
        return min(MAX_SLEEP_S, max(0.01, (nxt[0] - base.now()).total_seconds()))

    def schedule_summary(self) -> dict[str, Any]:
        """The jobs the clock will fire and the next fire (``emulator status``)."""
        nxt = self._next_due()
        with self.store.lock:
            scheduled = sum(
                1
                for job in dict.values(self.store.table(JOBS_TABLE))
                if job.state == State.ENABLED and "schedule_time" in job
            )
        return {
            "jobs_scheduled": scheduled,
            "next_fire": nxt[0].isoformat().replace("+00:00", "Z") if nxt else None,
            "next_job": nxt[1].rsplit("/", 1)[-1] if nxt else None,
        }

    def running(self) -> list[str]:
        with self._guard:
            return sorted(self._running)

    def tick(self, at: dt.datetime) -> list[str]:
        """Fire every ENABLED job due at ``at``. Returns the names fired."""
        fired = []
        with self.store.lock:
            for name, job in list(self.store.table(JOBS_TABLE).items()):
                if job.state != State.ENABLED or "schedule_time" not in job:
                    continue
                due = types.Job.pb(job).schedule_time.ToDatetime(dt.UTC)
                if due > at:
                    continue
                with self._guard:
                    if name in self._running:
                        continue  # never two outstanding executions: this one waits
                reschedule(job, max(at, due))
                self.store.touch()
                self.dispatch(name, due)
                fired.append(name)
        return fired

    # --- executions ------------------------------------------------------------------------
    def dispatch(self, name: str, scheduled: dt.datetime | None) -> None:
        """Run the job's attempts in the background (``scheduled`` None: a forced run, now)."""
        with self._guard:
            self._running.add(name)
            epoch = self._epoch
        thread = threading.Thread(
            target=self._execute,
            args=(name, scheduled, epoch, self._stop),
            name="emulator-job",
            daemon=True,
        )
        thread.start()

    def _execute(
        self, name: str, scheduled: dt.datetime | None, epoch: int, stop: threading.Event
    ) -> None:
        try:
            self._attempts(name, scheduled, epoch, stop)
        finally:
            with self._guard:
                if self._epoch == epoch:
                    self._running.discard(name)
            self._wake.set()  # its next fire may be due already

    def _attempts(
        self, name: str, scheduled: dt.datetime | None, epoch: int, stop: threading.Event
    ) -> None:
        with self.store.lock:
            job = self.store.table(JOBS_TABLE).get(name)
            if job is None:
                return
            job = copy_job(job)
        schedule_time = (scheduled or base.now()).astimezone(tz_for(job.time_zone))
        first = time.time()
        attempt = 0
        while True:
            start = base.now()
            outcome = self._attempt(job, schedule_time)
            delay = self._retry_delay(job, outcome, attempt, first)
            if not self._record(name, epoch, outcome, start, delay, scheduled):
                return
            self._log_finished(job, schedule_time, outcome)
            if delay is None:
                return
            attempt += 1
            if stop.wait(delay * self.time_scale):
                return

    def _retry_delay(
        self, job: types.Job, outcome: Outcome, attempt: int, first: float
    ) -> float | None:
        """The backoff before the next attempt, or None when this attempt is the last."""
        rc = types.Job.pb(job).retry_config
        limit = seconds(rc.max_retry_duration)
        within = limit == 0 or time.time() - first < limit * self.time_scale
        if outcome.number == 0 or attempt >= rc.retry_count or not within:
            return None
        return backoff_s(
            attempt,
            seconds(rc.min_backoff_duration),
            seconds(rc.max_backoff_duration),
            rc.max_doublings,
        )

    def _record(
        self,
        name: str,
        epoch: int,
        outcome: Outcome,
        start: dt.datetime,
        delay: float | None,
        scheduled: dt.datetime | None,
    ) -> bool:
        """Write the attempt's time and status on the live job (together, so a reader never sees
        a new attempt time with an old result) and its next schedule time. False when the job is
        gone or the emulator was reset meanwhile."""
        with self.store.lock:
            with self._guard:
                if self._epoch != epoch:
                    return False
            live = self.store.table(JOBS_TABLE).get(name)
            if live is None:
                return False
            lpb = types.Job.pb(live)
            lpb.last_attempt_time.CopyFrom(base.timestamp(start))
            message = "" if outcome.number == 0 else outcome.message
            lpb.status.CopyFrom(status_pb2.Status(code=outcome.number, message=message))
            if delay is not None:
                retry_at = base.now() + dt.timedelta(seconds=delay)
                lpb.schedule_time.CopyFrom(base.timestamp(retry_at))
            elif live.state == State.ENABLED:
                reschedule(live, base.now() if scheduled is None else max(base.now(), scheduled))
            self.store.touch()
            return True

    # --- one attempt -----------------------------------------------------------------------
    def _attempt(self, job: types.Job, schedule_time: dt.datetime) -> Outcome:
        """One attempt: Pub/Sub and App Engine targets succeed without sending anything."""
        self._log_started(job, schedule_time)
        if target_of(job) != "http_target":
            return Outcome()
        http = types.Job.pb(job).http_target
        url = urllib.parse.urlsplit(http.uri)
        host = url.hostname or ""
        if not _is_loopback(host):
            return Outcome.unreachable(
                "NETWORK", f"The emulator only sends to loopback targets, not {host!r}."
            )
        deadline = seconds(types.Job.pb(job).attempt_deadline) * self.time_scale
        path = (url.path or "/") + ("?" + url.query if url.query else "")
        started = time.time()
        conn = http_client_for(url.scheme)(host, url.port, timeout=max(deadline, 0.01))
        try:
            conn.request(
                types.HttpMethod(http.http_method).name,
                path,
                body=bytes(http.body) if http.body else None,
                headers=self._headers(job, http, schedule_time),
            )
            response = conn.getresponse()
            response.read()
            status = response.status
        except TimeoutError:
            return Outcome.unreachable("TIMEOUT", "The attempt deadline was exceeded.", started)
        except OSError as exc:
            return Outcome.unreachable("NETWORK", f"{type(exc).__name__}: {exc}", started)
        finally:
            conn.close()
        code, number = grpc_code_for_http(status)
        return Outcome(code, number, debug_info(status), status, time.time() - started)

    def _headers(self, job: types.Job, http: Any, schedule_time: dt.datetime) -> dict[str, str]:
        headers = {k: v for k, v in http.headers.items()}
        headers["User-Agent"] = "Google-Cloud-Scheduler"
        headers["X-CloudScheduler"] = "true"
        headers["X-CloudScheduler-JobName"] = job.name.rsplit("/", 1)[-1]
        headers["X-CloudScheduler-ScheduleTime"] = schedule_time.isoformat(timespec="seconds")
        if http.body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/octet-stream"
        if http.HasField("oidc_token"):
            email = http.oidc_token.service_account_email
            iam = self.emu.service("google.iam.admin.v1.IAM")
            subject = (
                iam.unique_id(email) if iam is not None and hasattr(iam, "unique_id") else None
            )
            headers["Authorization"] = "Bearer " + oidc.mint(
                email, http.oidc_token.audience or http.uri, subject=subject
            )
        elif http.HasField("oauth_token"):
            headers["Authorization"] = (
                "Bearer emulator-oauth-access-token-for-" + http.oauth_token.service_account_email
            )
        return headers

    # --- execution log ---------------------------------------------------------------------
    def _payload(self, job: types.Job, schedule_time: dt.datetime, kind: str) -> dict[str, Any]:
        target = target_of(job)
        payload: dict[str, Any] = {
            "@type": LOG_TYPE + kind,
            "jobName": job.name,
            "scheduledTime": _utc(schedule_time),
            "targetType": TARGET_TYPE[target],
        }
        if target == "http_target":
            payload["url"] = types.Job.pb(job).http_target.uri
        return payload

    def _log_started(self, job: types.Job, schedule_time: dt.datetime) -> None:
        payload = self._payload(job, schedule_time, "AttemptStarted")
        self._write(job, severity="INFO", json_payload=payload)

    def _log_finished(self, job: types.Job, schedule_time: dt.datetime, outcome: Outcome) -> None:
        payload = self._payload(job, schedule_time, "AttemptFinished")
        status = outcome.http_status
        payload["debugInfo"] = outcome.message or (debug_info(status) if status else "OK")
        if outcome.code != "OK":
            payload["status"] = outcome.code
        self._write(
            job,
            severity="INFO" if outcome.code == "OK" else "ERROR",
            json_payload=payload,
            http_request=(
                {"status": status, "latency": outcome.latency} if status is not None else None
            ),
        )

    def _write(self, job: types.Job, **entry: Any) -> None:
        parts = job.name.split("/")
        resource = {"job_id": parts[5], "location": parts[3], "project_id": parts[1]}
        try:
            self.emu.write_log(
                project_id=parts[1],
                log_id=EXECUTION_LOG,
                resource_type="cloud_scheduler_job",
                resource_labels=resource,
                **entry,
            )
        except Exception:  # logging never breaks an execution
            pass
