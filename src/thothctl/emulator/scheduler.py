"""google.cloud.scheduler.v1.CloudScheduler (API-NOTES §2), with a scheduler that really fires.

RPCs: CreateJob, GetJob, ListJobs, UpdateJob (snake_case update masks; a sub-message path replaces
the whole sub-message), DeleteJob, PauseJob, ResumeJob, RunJob. Validation as documented: job id
``[A-Za-z0-9_-]{1,500}``, description <= 500, exactly one target, 5-field unix-cron schedule and a
tz database time zone ("Schedule or time zone is invalid."), HTTP ``uri`` http(s) <= 2083, body
only with POST/PUT/PATCH, attempt deadline 15 s - 30 min for HTTP targets, ``retry_count`` 0-5.
Defaults are filled in and returned (attempt deadline 180 s, backoff 5 s - 1 h, 5 doublings,
OIDC audience = target uri, OAuth scope cloud-platform, HTTP method POST).

Firing. A background thread (started in ``on_start``) evaluates ENABLED jobs once a second and
fires those whose ``schedule_time`` has come; the control op ``scheduler_tick`` ({"at": epoch
seconds or RFC 3339}) does the same at a chosen instant, so tests need not wait for the clock.
RunJob dispatches at once (also for a PAUSED job, which stays PAUSED). A firing sends what Cloud
Scheduler sends: the method, the user headers (minus Host, Content-Length, User-Agent,
X-Google-*, X-AppEngine-*), ``User-Agent: Google-Cloud-Scheduler``, ``X-CloudScheduler: true``,
``X-CloudScheduler-JobName: JOB_ID``, ``X-CloudScheduler-ScheduleTime`` (RFC 3339 in the job's
time zone), ``Content-Type: application/octet-stream`` when a body has none, and
``Authorization: Bearer`` an RS256 OIDC ID token from :mod:`thothctl.emulator.oidc` (aud = the
audience, email = the service account). The attempt deadline is enforced; failures are retried
per the retry config (backoff doubles ``max_doublings`` times then grows linearly, capped);
each attempt writes the ``cloudscheduler.googleapis.com/executions`` AttemptStarted and
AttemptFinished entries of API-NOTES §2.10. ``scheduler_config`` ({"time_scale": 0.01,
"auto": false}) scales deadlines and backoffs down for tests and turns the clock thread off.

Choices where API-NOTES says "inferred":

- Pause of a non-ENABLED job / Resume of a non-PAUSED job → FAILED_PRECONDITION.
- RunJob returns the job as it was (dispatch is asynchronous); it is allowed on PAUSED jobs.
- ``last_attempt_time`` (the attempt's start) and ``status`` are written together when the
  attempt finishes, so a reader never sees a new attempt time with an old result.
- ``status`` after success is an empty Status (code 0); after failure the gRPC code mapped from
  the HTTP status, with the debugInfo text as message ("URL_ERROR-ERROR_AUTHENTICATION. Original
  HTTP response code number = 403"); a timeout is DEADLINE_EXCEEDED, no answer UNAVAILABLE.
- ``X-CloudScheduler-JobName`` carries the short job id; a forced run's ScheduleTime is "now".
- A missing OIDC/OAuth service account, or one of another project → INVALID_ARGUMENT.
- The emulator only sends to loopback targets (127.0.0.0/8, localhost, ::1); any other host
  fails the attempt with UNAVAILABLE and says why, so it never reaches the internet.
- Pub/Sub and App Engine targets are accepted and "fire" successfully without sending anything.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import re
import threading
import time
import urllib.parse
import uuid
import zoneinfo
from typing import Any

from google.cloud.scheduler_v1 import types
from google.protobuf import duration_pb2, empty_pb2, field_mask_pb2
from google.rpc import status_pb2

from thothctl.emulator import base, oidc
from thothctl.emulator.base import EmulatedService, rpc

JOBS_TABLE = "scheduler.jobs"
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
USER_FIELDS = (
    "description",
    "pubsub_target",
    "app_engine_http_target",
    "http_target",
    "schedule",
    "time_zone",
    "retry_config",
    "attempt_deadline",
)
TARGETS = ("pubsub_target", "app_engine_http_target", "http_target")
DROPPED_HEADERS = ("host", "content-length", "user-agent")
DROPPED_PREFIXES = ("x-google-", "x-appengine-")
BODY_METHODS = (types.HttpMethod.POST, types.HttpMethod.PUT, types.HttpMethod.PATCH)
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


def tz_for(name: str) -> dt.tzinfo:
    if not name or name.lower() == "utc":
        return dt.UTC
    return zoneinfo.ZoneInfo(name)


def next_fire(schedule: str, time_zone: str, after: dt.datetime) -> dt.datetime:
    """The first cron fire time strictly after ``after`` (aware), in UTC."""
    from croniter import croniter

    local = after.astimezone(tz_for(time_zone))
    nxt = croniter(schedule, local).get_next(dt.datetime)
    return nxt.astimezone(dt.UTC)


def _dur(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(dt.timedelta(seconds=seconds))
    return d


def _seconds(d: duration_pb2.Duration) -> float:
    return d.seconds + d.nanos / 1e9


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _copy(job: types.Job) -> types.Job:
    return types.Job.deserialize(types.Job.serialize(job))


class SchedulerService(EmulatedService):
    service_name = "google.cloud.scheduler.v1.CloudScheduler"
    api = "cloudscheduler.googleapis.com"
    api_title = "Cloud Scheduler API"

    def __init__(self, emulator):
        super().__init__(emulator)
        self.time_scale = 1.0
        self.auto = True
        self.tick_interval = 1.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: set[str] = set()
        self._epoch = 0
        self._guard = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    def on_start(self) -> None:
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

    def on_stop(self) -> None:
        self._stop.set()
        with self._guard:
            self._epoch += 1
        self._thread = None

    def _clock(self, stop: threading.Event) -> None:
        while not stop.wait(self.tick_interval):
            if self.auto:
                try:
                    self.tick(base.now())
                except Exception:  # the clock must keep running
                    pass

    # --- validation ------------------------------------------------------------------------
    def _parent(self, parent: str) -> tuple[str, str]:
        parts = parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations" or not parts[3]:
            raise base.invalid(
                f"Invalid parent {parent!r}: expected projects/PROJECT_ID/locations/LOCATION_ID."
            )
        return self.emu.resolve_project(parts[1])["id"], parts[3]

    def _key(self, name: str) -> str:
        parts = name.split("/")
        if len(parts) != 6 or parts[4] != "jobs":
            raise base.invalid(
                f"Invalid job name {name!r}: expected projects/PROJECT_ID/locations/LOCATION_ID/jobs/JOB_ID."
            )
        pid, loc = self._parent("/".join(parts[:4]))
        if not JOB_ID_RE.match(parts[5]):
            raise base.invalid(
                f"Invalid job id {parts[5]!r}: it can contain only letters ([A-Za-z]), numbers ([0-9]), "
                "hyphens (-), or underscores (_); the maximum length is 500 characters."
            )
        return f"projects/{pid}/locations/{loc}/jobs/{parts[5]}"

    def _get(self, name: str) -> types.Job:
        job = self.store.table(JOBS_TABLE).get(self._key(name))
        if job is None:
            raise base.not_found("Job not found.")
        return job

    def _account_ok(self, email: str, project_id: str, what: str) -> None:
        if not email:
            raise base.invalid(f"{what}.service_account_email is required.")
        if not email.endswith(f"@{project_id}.iam.gserviceaccount.com"):
            raise base.invalid(
                f"{what}.service_account_email {email!r} must be within the same project as the job."
            )
        iam = self.emu.service("google.iam.admin.v1.IAM")
        if iam is not None and hasattr(iam, "exists") and not iam.exists(email):
            raise base.invalid(f"Service account {email} does not exist.")

    def _normalize(self, job: types.Job, project_id: str) -> None:
        """Validate user-settable fields and fill the defaults the server returns."""
        pb = types.Job.pb(job)
        if len(job.description) > 500:
            raise base.invalid("Job description must be at most 500 characters.")
        targets = [t for t in TARGETS if pb.HasField(t)]
        if len(targets) != 1:
            raise base.invalid(
                "Exactly one target (http_target, pubsub_target or app_engine_http_target) is required."
            )
        schedule = " ".join(job.schedule.split())
        try:
            from croniter import croniter

            tz_for(job.time_zone)
            ok = len(schedule.split()) == 5 and croniter.is_valid(schedule)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            ok = False
        if not ok:
            raise base.invalid("Schedule or time zone is invalid.")
        job.schedule = schedule
        if not job.time_zone:
            job.time_zone = "Etc/UTC"
        target = targets[0]
        if target == "http_target":
            http = pb.http_target
            if not http.uri.startswith(("http://", "https://")):
                raise base.invalid('HttpTarget.uri must begin with either "http://" or "https://".')
            if len(urllib.parse.quote(http.uri, safe=":/?&=%#")) > 2083:
                raise base.invalid("HttpTarget.uri must be at most 2083 characters.")
            if http.http_method == types.HttpMethod.HTTP_METHOD_UNSPECIFIED:
                http.http_method = types.HttpMethod.POST
            if http.body and http.http_method not in BODY_METHODS:
                raise base.invalid(
                    "HttpTarget.body is allowed only if the HTTP method is POST, PUT, or PATCH."
                )
            for key in list(http.headers):
                low = key.lower()
                if low in DROPPED_HEADERS or low.startswith(DROPPED_PREFIXES):
                    del http.headers[key]
            if sum(len(k) + len(v) for k, v in http.headers.items()) >= 80 * 1024:
                raise base.invalid("HttpTarget.headers must be smaller than 80KB.")
            if http.HasField("oidc_token"):
                self._account_ok(http.oidc_token.service_account_email, project_id, "oidc_token")
                if not http.oidc_token.audience:
                    http.oidc_token.audience = http.uri
            elif http.HasField("oauth_token"):
                self._account_ok(http.oauth_token.service_account_email, project_id, "oauth_token")
                if not http.oauth_token.scope:
                    http.oauth_token.scope = CLOUD_PLATFORM
            if not pb.HasField("attempt_deadline"):
                pb.attempt_deadline.CopyFrom(_dur(180))
            deadline = _seconds(pb.attempt_deadline)
            if not 15 <= deadline <= 1800:
                raise base.invalid(
                    "attempt_deadline must be between 15 seconds and 30 minutes for HTTP targets."
                )
        elif target == "pubsub_target":
            ps = pb.pubsub_target
            if not re.match(rf"^projects/{re.escape(project_id)}/topics/[^/]+$", ps.topic_name):
                raise base.invalid(
                    "PubsubTarget.topic_name must be projects/PROJECT_ID/topics/TOPIC_ID in the job's project."
                )
            if not ps.data and not ps.attributes:
                raise base.invalid(
                    "PubsubTarget must contain either non-empty data, or at least one attribute."
                )
        else:
            ae = pb.app_engine_http_target
            if ae.http_method in (types.HttpMethod.PATCH, types.HttpMethod.OPTIONS):
                raise base.invalid("AppEngineHttpTarget does not permit PATCH or OPTIONS.")
            if ae.http_method == types.HttpMethod.HTTP_METHOD_UNSPECIFIED:
                ae.http_method = types.HttpMethod.POST
        had_retry_config = pb.HasField("retry_config")
        rc = pb.retry_config
        if not had_retry_config:
            rc.max_doublings = 5
        if rc.retry_count < 0 or rc.retry_count > 5:
            raise base.invalid(
                "retry_count: values greater than 5 and negative values are not allowed."
            )
        if not rc.HasField("min_backoff_duration"):
            rc.min_backoff_duration.CopyFrom(_dur(5))
        if not rc.HasField("max_backoff_duration"):
            rc.max_backoff_duration.CopyFrom(_dur(3600))
        if not rc.HasField("max_retry_duration"):
            rc.max_retry_duration.CopyFrom(_dur(0))
        for field in ("min_backoff_duration", "max_backoff_duration", "max_retry_duration"):
            if _seconds(getattr(rc, field)) < 0:
                raise base.invalid(f"retry_config.{field} must not be negative.")
        if _seconds(rc.min_backoff_duration) > _seconds(rc.max_backoff_duration):
            raise base.invalid(
                "retry_config.min_backoff_duration must not exceed max_backoff_duration."
            )
        if rc.max_doublings < 0:
            raise base.invalid("retry_config.max_doublings must not be negative.")

    def _reschedule(self, job: types.Job, after: dt.datetime | None = None) -> None:
        nxt = next_fire(job.schedule, job.time_zone, after or base.now())
        types.Job.pb(job).schedule_time.CopyFrom(base.timestamp(nxt))

    # --- RPCs ------------------------------------------------------------------------------
    @rpc(
        "CreateJob",
        types.CreateJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.create",
    )
    def create_job(self, request, context):
        pid, loc = self._parent(request.parent)
        job = _copy(request.job)
        if job.name:
            key = self._key(job.name)
            if not key.startswith(f"projects/{pid}/locations/{loc}/jobs/"):
                raise base.invalid(f"Job name {job.name!r} is not under parent {request.parent!r}.")
        else:
            key = f"projects/{pid}/locations/{loc}/jobs/{uuid.uuid4().hex}"
        table = self.store.table(JOBS_TABLE)
        if key in table:
            raise base.already_exists(f"Job {key} already exists.")
        pb = types.Job.pb(job)
        for field in ("user_update_time", "state", "status", "schedule_time", "last_attempt_time"):
            pb.ClearField(field)
        job.name = key
        self._normalize(job, pid)
        job.state = types.Job.State.ENABLED
        pb.user_update_time.CopyFrom(base.timestamp())
        self._reschedule(job)
        table[key] = job
        return _copy(job)

    @rpc("GetJob", types.GetJobRequest, types.Job, permission="cloudscheduler.jobs.get")
    def get_job(self, request, context):
        return _copy(self._get(request.name))

    @rpc(
        "ListJobs",
        types.ListJobsRequest,
        types.ListJobsResponse,
        permission="cloudscheduler.jobs.list",
    )
    def list_jobs(self, request, context):
        pid, loc = self._parent(request.parent)
        prefix = f"projects/{pid}/locations/{loc}/jobs/"
        jobs = [
            _copy(j)
            for n, j in sorted(self.store.table(JOBS_TABLE).items())
            if n.startswith(prefix)
        ]
        page, token = base.paginate(
            jobs, request.page_size, request.page_token, default=500, maximum=500
        )
        return types.ListJobsResponse(jobs=page, next_page_token=token)

    @rpc(
        "UpdateJob",
        types.UpdateJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.update",
    )
    def update_job(self, request, context):
        if not request.job.name:
            raise base.invalid("job.name must be specified.")
        current = self._get(request.job.name)
        pid = current.name.split("/")[1]
        updated = _copy(current)
        src, dst = types.Job.pb(request.job), types.Job.pb(updated)
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        if paths:
            for path in paths:
                if path.split(".", 1)[0] not in USER_FIELDS:
                    raise base.invalid(f"Invalid mask for Job: {path}")
            field_mask_pb2.FieldMask(paths=paths).MergeMessage(
                src, dst, replace_message_field=True, replace_repeated_field=True
            )
            for target in TARGETS:  # naming a new target replaces the old one (oneof)
                if target in [p.split(".", 1)[0] for p in paths] and src.HasField(target):
                    getattr(dst, target).CopyFrom(getattr(src, target))
        else:
            for field in USER_FIELDS:
                dst.ClearField(field)
                fd = dst.DESCRIPTOR.fields_by_name[field]
                if fd.message_type:
                    if src.HasField(field):
                        getattr(dst, field).CopyFrom(getattr(src, field))
                else:
                    setattr(dst, field, getattr(src, field))
            if not dst.schedule:
                dst.schedule = current.schedule
        self._normalize(updated, pid)
        dst.user_update_time.CopyFrom(base.timestamp())
        self._reschedule(updated)
        self.store.table(JOBS_TABLE)[current.name] = updated
        return _copy(updated)

    @rpc(
        "DeleteJob",
        types.DeleteJobRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="cloudscheduler.jobs.delete",
    )
    def delete_job(self, request, context):
        job = self._get(request.name)
        del self.store.table(JOBS_TABLE)[job.name]
        return empty_pb2.Empty()

    @rpc(
        "PauseJob",
        types.PauseJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.pause",
    )
    def pause_job(self, request, context):
        job = self._get(request.name)
        if job.state != types.Job.State.ENABLED:
            raise base.failed_precondition(
                f"Job {job.name} is {job.state.name}; a job must be in ENABLED to be paused."
            )
        job.state = types.Job.State.PAUSED
        return _copy(job)

    @rpc(
        "ResumeJob",
        types.ResumeJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.enable",
    )
    def resume_job(self, request, context):
        job = self._get(request.name)
        if job.state != types.Job.State.PAUSED:
            raise base.failed_precondition(
                f"Job {job.name} is {job.state.name}; a job must be in PAUSED to be resumed."
            )
        job.state = types.Job.State.ENABLED
        self._reschedule(job)
        return _copy(job)

    @rpc(
        "RunJob",
        types.RunJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.run",
    )
    def run_job(self, request, context):
        job = self._get(request.name)
        if job.state in (types.Job.State.DISABLED, types.Job.State.UPDATE_FAILED):
            raise base.failed_precondition(f"Job {job.name} is {job.state.name} and cannot be run.")
        self._dispatch(job.name, None)
        return _copy(job)

    # --- firing ----------------------------------------------------------------------------
    def tick(self, at: dt.datetime) -> list[str]:
        """Fire every ENABLED job due at ``at``. Returns the names fired."""
        fired = []
        with self.store.lock:
            for name, job in list(self.store.table(JOBS_TABLE).items()):
                if job.state != types.Job.State.ENABLED or "schedule_time" not in job:
                    continue
                due = types.Job.pb(job).schedule_time.ToDatetime(dt.UTC)
                if due > at:
                    continue
                with self._guard:
                    if name in self._running:
                        continue  # never two outstanding executions: this one waits
                self._reschedule(job, max(at, due))
                self.store.touch()
                self._dispatch(name, due)
                fired.append(name)
        return fired

    def _dispatch(self, name: str, scheduled: dt.datetime | None) -> None:
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

    def _attempts(
        self, name: str, scheduled: dt.datetime | None, epoch: int, stop: threading.Event
    ) -> None:
        with self.store.lock:
            job = self.store.table(JOBS_TABLE).get(name)
            if job is None:
                return
            job = _copy(job)
        pb = types.Job.pb(job)
        rc = pb.retry_config
        tz = tz_for(job.time_zone)
        schedule_time = (scheduled or base.now()).astimezone(tz)
        first = time.time()
        attempt = 0
        while True:
            start = base.now()
            code, number, message, http_status, latency = self._attempt(job, schedule_time)
            with self.store.lock:
                with self._guard:
                    if self._epoch != epoch:
                        return
                live = self.store.table(JOBS_TABLE).get(name)
                if live is None:
                    return
                lpb = types.Job.pb(live)
                lpb.last_attempt_time.CopyFrom(base.timestamp(start))
                lpb.status.CopyFrom(
                    status_pb2.Status(code=number, message="" if number == 0 else message)
                )
                retry = (
                    number != 0
                    and attempt < rc.retry_count
                    and (
                        _seconds(rc.max_retry_duration) == 0
                        or time.time() - first < _seconds(rc.max_retry_duration) * self.time_scale
                    )
                )
                delay = 0.0
                if retry:
                    delay = backoff_s(
                        attempt,
                        _seconds(rc.min_backoff_duration),
                        _seconds(rc.max_backoff_duration),
                        rc.max_doublings,
                    )
                    lpb.schedule_time.CopyFrom(
                        base.timestamp(base.now() + dt.timedelta(seconds=delay))
                    )
                elif live.state == types.Job.State.ENABLED:
                    after = base.now() if scheduled is None else max(base.now(), scheduled)
                    self._reschedule(live, after)
                self.store.touch()
            self._log_finished(job, schedule_time, code, message, http_status, latency)
            if not retry:
                return
            attempt += 1
            if stop.wait(delay * self.time_scale):
                return

    def _attempt(
        self, job: types.Job, schedule_time: dt.datetime
    ) -> tuple[str, int, str, int | None, float]:
        """One attempt. Returns (code name, code number, message, HTTP status or None, latency)."""
        pb = types.Job.pb(job)
        target = next(t for t in TARGETS if pb.HasField(t))
        self._log_started(job, schedule_time, target)
        if target != "http_target":
            return "OK", 0, "", None, 0.0
        http = pb.http_target
        url = urllib.parse.urlsplit(http.uri)
        host = url.hostname or ""
        if not _is_loopback(host):
            return (
                "UNAVAILABLE",
                14,
                (
                    f"URL_UNREACHABLE-UNREACHABLE_NETWORK. The emulator only sends to loopback targets, not {host!r}."
                ),
                None,
                0.0,
            )
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
        method = types.HttpMethod(http.http_method).name
        deadline = _seconds(pb.attempt_deadline) * self.time_scale
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        conn_cls = http_client_for(url.scheme)
        started = time.time()
        conn = conn_cls(host, url.port, timeout=max(deadline, 0.01))
        try:
            conn.request(
                method, path, body=bytes(http.body) if http.body else None, headers=headers
            )
            response = conn.getresponse()
            response.read()
            status = response.status
        except TimeoutError:
            return (
                "DEADLINE_EXCEEDED",
                4,
                "URL_UNREACHABLE-UNREACHABLE_TIMEOUT. The attempt deadline was exceeded.",
                None,
                time.time() - started,
            )
        except OSError as exc:
            return (
                "UNAVAILABLE",
                14,
                f"URL_UNREACHABLE-UNREACHABLE_NETWORK. {type(exc).__name__}: {exc}",
                None,
                time.time() - started,
            )
        finally:
            conn.close()
        code, number = grpc_code_for_http(status)
        return code, number, debug_info(status), status, time.time() - started

    # --- logging ---------------------------------------------------------------------------
    def _log_resource(self, job: types.Job) -> dict[str, Any]:
        parts = job.name.split("/")
        return {
            "project_id": parts[1],
            "resource_type": "cloud_scheduler_job",
            "resource_labels": {"job_id": parts[5], "location": parts[3], "project_id": parts[1]},
        }

    def _log_started(self, job: types.Job, schedule_time: dt.datetime, target: str) -> None:
        pb = types.Job.pb(job)
        payload = {
            "@type": LOG_TYPE + "AttemptStarted",
            "jobName": job.name,
            "scheduledTime": schedule_time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "targetType": TARGET_TYPE[target],
        }
        if target == "http_target":
            payload["url"] = pb.http_target.uri
        self._write(job, severity="INFO", json_payload=payload)

    def _log_finished(
        self,
        job: types.Job,
        schedule_time: dt.datetime,
        code: str,
        message: str,
        http_status: int | None,
        latency: float,
    ) -> None:
        pb = types.Job.pb(job)
        target = next(t for t in TARGETS if pb.HasField(t))
        payload: dict[str, Any] = {
            "@type": LOG_TYPE + "AttemptFinished",
            "jobName": job.name,
            "scheduledTime": schedule_time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "targetType": TARGET_TYPE[target],
            "debugInfo": message or (debug_info(http_status) if http_status else "OK"),
        }
        if target == "http_target":
            payload["url"] = pb.http_target.uri
        if code != "OK":
            payload["status"] = code
        http_request = None
        if http_status is not None:
            http_request = {"status": http_status, "latency": latency}
        self._write(
            job,
            severity="INFO" if code == "OK" else "ERROR",
            json_payload=payload,
            http_request=http_request,
        )

    def _write(self, job: types.Job, **entry: Any) -> None:
        try:
            self.emu.write_log(log_id=EXECUTION_LOG, **self._log_resource(job), **entry)
        except Exception:  # logging never breaks an execution
            pass

    # --- control plane ---------------------------------------------------------------------
    def control_ops(self):
        def tick(args):
            at = args.get("at")
            if at is None:
                when = base.now()
            elif isinstance(at, int | float):
                when = dt.datetime.fromtimestamp(at, dt.UTC)
            else:
                when = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
            return self.tick(when)

        def configure(args):
            if "time_scale" in args:
                scale = float(args["time_scale"])
                if not 0 < scale <= 1:
                    raise ValueError("time_scale must be in (0, 1]")
                self.time_scale = scale
            if "auto" in args:
                self.auto = bool(args["auto"])
            return {"time_scale": self.time_scale, "auto": self.auto}

        def running(args):
            with self._guard:
                return sorted(self._running)

        return {"scheduler_tick": tick, "scheduler_config": configure, "scheduler_running": running}


def http_client_for(scheme: str):
    return http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection


SERVICES = [SchedulerService]
