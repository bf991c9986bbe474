"""Cloud Scheduler's rules and state: job names, validation, the defaults the server fills in, and
one method per job operation (docs/emulator.md, "Cloud Scheduler").

Validation as documented: job id ``[A-Za-z0-9_-]{1,500}``, description <= 500, exactly one target,
5-field unix-cron schedule and a tz database time zone ("Schedule or time zone is invalid."), HTTP
``uri`` http(s) <= 2083, body only with POST/PUT/PATCH, attempt deadline 15 s - 30 min for HTTP
targets, ``retry_count`` 0-5. Defaults are filled in and returned (attempt deadline 180 s, backoff
5 s - 1 h, 5 doublings, OIDC audience = target uri, OAuth scope cloud-platform, HTTP method POST).
Update masks are snake_case; a sub-message path replaces the whole sub-message.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.parse
import uuid
import zoneinfo
from typing import Any

from google.cloud.scheduler_v1 import types
from google.protobuf import duration_pb2

from thothctl.emulator import base

JOBS_TABLE = "scheduler.jobs"
JOB_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,500}")  # always fullmatch: $ allows a final \n
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
SERVER_FIELDS = ("user_update_time", "state", "status", "schedule_time", "last_attempt_time")
DROPPED_HEADERS = ("host", "content-length", "user-agent")
DROPPED_PREFIXES = ("x-google-", "x-appengine-")
BODY_METHODS = (types.HttpMethod.POST, types.HttpMethod.PUT, types.HttpMethod.PATCH)
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # any but tab
BACKOFFS = ("min_backoff_duration", "max_backoff_duration", "max_retry_duration")
State = types.Job.State


# One cron field as Cloud Scheduler documents it: values, names (JAN, MON), ranges, steps and
# lists; croniter's extensions (L, W, #, ?, H) are not Cloud Scheduler's.
_CRON_ITEM = r"(?:\*|(?:[0-9]{1,2}|[A-Z]{3})(?:-(?:[0-9]{1,2}|[A-Z]{3}))?)(?:/[0-9]{1,2})?"
CRON_FIELD_RE = re.compile(rf"{_CRON_ITEM}(?:,{_CRON_ITEM})*")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def _time_zone_ok(name: str) -> bool:
    """A tz database name (case-sensitive; not the database's files posix/..., right/...,
    localtime, posixrules, Factory), or "utc" in any case; empty means Etc/UTC."""
    return not name or name.lower() == "utc" or name in _time_zones()


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


def duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(dt.timedelta(seconds=seconds))
    return d


def seconds(d: duration_pb2.Duration) -> float:
    return d.seconds + d.nanos / 1e9


def copy_job(job: types.Job) -> types.Job:
    return types.Job.deserialize(types.Job.serialize(job))


def target_of(job: types.Job) -> str:
    pb = types.Job.pb(job)
    return next(t for t in TARGETS if pb.HasField(t))


def reschedule(job: types.Job, after: dt.datetime | None = None) -> None:
    """Set the job's next ``schedule_time``: its first fire time after ``after`` (default now)."""
    nxt = next_fire(job.schedule, job.time_zone, after or base.now())
    types.Job.pb(job).schedule_time.CopyFrom(base.timestamp(nxt))


class SchedulerModel:
    def __init__(self, emulator: Any):
        self.emu = emulator
        self.store = emulator.store

    # --- names -----------------------------------------------------------------------------
    def parent(self, parent: str) -> tuple[str, str]:
        parts = parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations" or not parts[3]:
            raise base.invalid(
                f"Invalid parent {parent!r}: expected projects/PROJECT_ID/locations/LOCATION_ID."
            )
        return self.emu.resolve_project(parts[1])["id"], parts[3]

    def key(self, name: str) -> str:
        parts = name.split("/")
        if len(parts) != 6 or parts[4] != "jobs":
            raise base.invalid(
                f"Invalid job name {name!r}: expected projects/PROJECT_ID/locations/LOCATION_ID/jobs/JOB_ID."
            )
        pid, loc = self.parent("/".join(parts[:4]))
        if not JOB_ID_RE.fullmatch(parts[5]):
            raise base.invalid(
                f"Invalid job id {parts[5]!r}: it can contain only letters ([A-Za-z]), numbers ([0-9]), "
                "hyphens (-), or underscores (_); the maximum length is 500 characters."
            )
        return f"projects/{pid}/locations/{loc}/jobs/{parts[5]}"

    def get(self, name: str) -> types.Job:
        """The stored job (not a copy)."""
        job = self.store.table(JOBS_TABLE).get(self.key(name))
        if job is None:
            raise base.not_found("Job not found.")
        return job

    # --- validation and defaults -----------------------------------------------------------
    def normalize(self, job: types.Job, project_id: str) -> None:
        """Validate user-settable fields and fill the defaults the server returns."""
        pb = types.Job.pb(job)
        if len(job.description) > 500:
            raise base.invalid("Job description must be at most 500 characters.")
        targets = [t for t in TARGETS if pb.HasField(t)]
        if len(targets) != 1:
            raise base.invalid(
                "Exactly one target (http_target, pubsub_target or app_engine_http_target) is required."
            )
        self._normalize_schedule(job)
        if targets[0] == "http_target":
            self._normalize_http(pb, project_id)
        elif targets[0] == "pubsub_target":
            self._check_pubsub(pb.pubsub_target, project_id)
        else:
            self._normalize_app_engine(pb.app_engine_http_target)
        _normalize_retry(pb)

    @staticmethod
    def _normalize_schedule(job: types.Job) -> None:
        fields = re.split(r"[ \t]+", job.schedule.strip(" \t"))
        schedule = " ".join(fields)
        try:
            from croniter import croniter

            ok = (
                _time_zone_ok(job.time_zone)
                and len(fields) == 5
                and all(CRON_FIELD_RE.fullmatch(f) for f in fields)
                and croniter.is_valid(schedule)
            )
            if ok:  # a schedule that can never fire (0 0 31 2 *) has no next time
                next_fire(schedule, job.time_zone or "UTC", base.now())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, LookupError, ArithmeticError):
            ok = False
        if not ok:
            raise base.invalid("Schedule or time zone is invalid.")
        job.schedule = schedule
        if not job.time_zone:
            job.time_zone = "Etc/UTC"

    def _normalize_http(self, pb: Any, project_id: str) -> None:
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
        for key, value in http.headers.items():
            if not HEADER_NAME_RE.fullmatch(key) or CONTROL_IN_VALUE.search(value):
                raise base.invalid(
                    f"HttpTarget.headers: {key!r} is not a valid HTTP header (a token name; a "
                    "value without CR, LF or other control characters)."
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
            pb.attempt_deadline.CopyFrom(duration(180))
        if not 15 <= seconds(pb.attempt_deadline) <= 1800:
            raise base.invalid(
                "attempt_deadline must be between 15 seconds and 30 minutes for HTTP targets."
            )

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

    @staticmethod
    def _check_pubsub(ps: Any, project_id: str) -> None:
        if not re.fullmatch(
            rf"projects/{re.escape(project_id)}/topics/[^/\x00-\x1f\x7f]+", ps.topic_name
        ):
            raise base.invalid(
                "PubsubTarget.topic_name must be projects/PROJECT_ID/topics/TOPIC_ID in the job's project."
            )
        if not ps.data and not ps.attributes:
            raise base.invalid(
                "PubsubTarget must contain either non-empty data, or at least one attribute."
            )

    @staticmethod
    def _normalize_app_engine(ae: Any) -> None:
        if ae.http_method in (types.HttpMethod.PATCH, types.HttpMethod.OPTIONS):
            raise base.invalid("AppEngineHttpTarget does not permit PATCH or OPTIONS.")
        if ae.http_method == types.HttpMethod.HTTP_METHOD_UNSPECIFIED:
            ae.http_method = types.HttpMethod.POST

    # --- operations ------------------------------------------------------------------------
    def create_job(self, parent: str, job: types.Job) -> types.Job:
        pid, loc = self.parent(parent)
        job = copy_job(job)
        if job.name:
            key = self.key(job.name)
            if not key.startswith(f"projects/{pid}/locations/{loc}/jobs/"):
                raise base.invalid(f"Job name {job.name!r} is not under parent {parent!r}.")
        else:
            key = f"projects/{pid}/locations/{loc}/jobs/{uuid.uuid4().hex}"
        table = self.store.table(JOBS_TABLE)
        if key in table:
            raise base.already_exists(f"Job {key} already exists.")
        pb = types.Job.pb(job)
        for field in SERVER_FIELDS:
            pb.ClearField(field)
        job.name = key
        self.normalize(job, pid)
        job.state = State.ENABLED
        pb.user_update_time.CopyFrom(base.timestamp())
        reschedule(job)
        table[key] = job
        return copy_job(job)

    def list_jobs(self, parent: str) -> list[types.Job]:
        pid, loc = self.parent(parent)
        prefix = f"projects/{pid}/locations/{loc}/jobs/"
        return [
            copy_job(j)
            for n, j in sorted(self.store.table(JOBS_TABLE).items())
            if n.startswith(prefix)
        ]

    def update_job(self, incoming: types.Job, paths: list[str]) -> types.Job:
        if not incoming.name:
            raise base.invalid("job.name must be specified.")
        current = self.get(incoming.name)
        updated = copy_job(current)
        src, dst = types.Job.pb(incoming), types.Job.pb(updated)
        base.apply_update(src, dst, paths, USER_FIELDS, lambda p: f"Invalid mask for Job: {p}")
        roots = [p.split(".", 1)[0] for p in paths]
        for target in TARGETS:  # naming a new target replaces the old one (oneof)
            if target in roots and src.HasField(target):
                getattr(dst, target).CopyFrom(getattr(src, target))
        if not paths and not dst.schedule:
            dst.schedule = current.schedule
        self.normalize(updated, current.name.split("/")[1])
        dst.user_update_time.CopyFrom(base.timestamp())
        reschedule(updated)
        self.store.table(JOBS_TABLE)[current.name] = updated
        return copy_job(updated)

    def delete_job(self, name: str) -> None:
        job = self.get(name)
        del self.store.table(JOBS_TABLE)[job.name]

    def pause_job(self, name: str) -> types.Job:
        return self._move(name, State.ENABLED, State.PAUSED, "paused")

    def resume_job(self, name: str) -> types.Job:
        return self._move(name, State.PAUSED, State.ENABLED, "resumed")

    def _move(self, name: str, source: Any, target: Any, verb: str) -> types.Job:
        """Pause (ENABLED -> PAUSED) or resume (PAUSED -> ENABLED, rescheduled) a job; from any
        other state FAILED_PRECONDITION (docs/emulator.md, "Cloud Scheduler")."""
        job = self.get(name)
        if job.state != source:
            raise base.failed_precondition(
                f"Job {job.name} is {job.state.name}; a job must be in {source.name} to be {verb}."
            )
        job.state = target
        if target == State.ENABLED:
            reschedule(job)
        return copy_job(job)

    def runnable(self, name: str) -> types.Job:
        """The job RunJob may dispatch now: ENABLED or PAUSED (a paused job stays paused)."""
        job = self.get(name)
        if job.state in (State.DISABLED, State.UPDATE_FAILED):
            raise base.failed_precondition(f"Job {job.name} is {job.state.name} and cannot be run.")
        return job


def _normalize_retry(pb: Any) -> None:
    had_retry_config = pb.HasField("retry_config")
    rc = pb.retry_config
    if not had_retry_config:
        rc.max_doublings = 5
    if rc.retry_count < 0 or rc.retry_count > 5:
        raise base.invalid(
            "retry_count: values greater than 5 and negative values are not allowed."
        )
    for field, default in zip(BACKOFFS, (5, 3600, 0), strict=True):
        if not rc.HasField(field):
            getattr(rc, field).CopyFrom(duration(default))
    for field in BACKOFFS:
        if seconds(getattr(rc, field)) < 0:
            raise base.invalid(f"retry_config.{field} must not be negative.")
    if seconds(rc.min_backoff_duration) > seconds(rc.max_backoff_duration):
        raise base.invalid(
            "retry_config.min_backoff_duration must not exceed max_backoff_duration."
        )
    if rc.max_doublings < 0:
        raise base.invalid("retry_config.max_doublings must not be negative.")
