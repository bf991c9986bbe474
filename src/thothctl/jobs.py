"""Thoth's Cloud Scheduler jobs: desired state from the config, drift, apply, and operations.

The desired job is built from a :class:`~thothctl.config.JobSpec` plus the live Cloud Run service
URL (target = URL + path, OIDC audience = URL) and the scheduler service account. ``diff`` compares
it field by field with the live job; ``apply`` creates missing jobs and updates only the fields
that differ (the update mask names just those). ``run(wait=True)`` forces a run and polls GetJob
until the job's last attempt is newer than the request. Next run times are computed locally.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from thothctl import cloudrun, serviceaccounts, validate
from thothctl.errors import NotFoundError, OperationError, UsageError, grpc_code_name
from thothctl.retry import is_transient

# gRPC code numbers used in Job.status
_CODE_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
# field -> update mask path
MASK_PATH = {
    "description": "description",
    "schedule": "schedule",
    "time_zone": "time_zone",
    "uri": "http_target",
    "method": "http_target",
    "body": "http_target",
    "headers": "http_target",
    "service_account": "http_target",
    "audience": "http_target",
    "attempt_deadline": "attempt_deadline",
    "retry_count": "retry_config",
    "min_backoff": "retry_config",
    "max_backoff": "retry_config",
    "max_doublings": "retry_config",
    "max_retry_duration": "retry_config",
}
TARGET_FIELDS = ("uri", "audience")
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


# --- names -----------------------------------------------------------------------------------


def parent(clients: Any, config: Any) -> str:
    return f"projects/{clients.project}/locations/{config.region}"


def resolve(config: Any, name: str) -> tuple[Any | None, str]:
    """A short name (``daily-sync``) or job id (``thoth-daily-sync``) -> (spec or None, job id).

    A job id that is not in the config is accepted (to describe or remove strays)."""
    for spec in config.jobs.values():
        if name in (spec.name, spec.id):
            return spec, spec.id
    try:
        validate.check_job_id(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return None, name


def check_names(config: Any, names: Sequence[str], *, configured_only: bool = False) -> list[Any]:
    out = []
    for name in names:
        if configured_only:
            out.append(config.job(name))
        else:
            out.append(resolve(config, name))
    return out


# --- schedules -------------------------------------------------------------------------------


def _tz(name: str) -> dt.tzinfo:
    import zoneinfo

    if not name or name.lower() in ("utc", "etc/utc"):
        return dt.UTC
    return zoneinfo.ZoneInfo(name)


def tz_label(name: str) -> str:
    return "UTC" if not name or name.lower() in ("utc", "etc/utc") else name


def next_runs(
    schedule: str, time_zone: str, count: int = 5, after: dt.datetime | None = None
) -> list[dt.datetime]:
    """The next ``count`` fire times (aware, in the job's time zone), computed locally."""
    from croniter import croniter

    start = (after or dt.datetime.now(dt.UTC)).astimezone(_tz(time_zone))
    it = croniter(schedule, start)
    return [it.get_next(dt.datetime) for _ in range(count)]


def describe_schedule(schedule: str, time_zone: str) -> str:
    """A human reading of common cron shapes ("every day at 02:00 UTC"), else the cron itself."""
    tz = tz_label(time_zone)
    fields = schedule.split()
    if len(fields) != 5:
        return f"cron '{schedule}' ({tz})"
    minute, hour, dom, month, dow = fields

    def num(text: str, hi: int) -> int | None:
        return int(text) if text.isdigit() and int(text) <= hi else None

    m, h = num(minute, 59), num(hour, 23)
    if (minute, hour, dom, month, dow) == ("*", "*", "*", "*", "*"):
        return "every minute"
    if (
        minute.startswith("*/")
        and minute[2:].isdigit()
        and (hour, dom, month, dow) == ("*", "*", "*", "*")
    ):
        return f"every {int(minute[2:])} minutes"
    if m is not None and (hour, dom, month, dow) == ("*", "*", "*", "*"):
        return "every hour on the hour" if m == 0 else f"every hour at :{m:02d}"
    if (
        m is not None
        and hour.startswith("*/")
        and hour[2:].isdigit()
        and (dom, month, dow) == ("*", "*", "*")
    ):
        return f"every {int(hour[2:])} hours at :{m:02d} {tz}"
    if m is None or h is None or month != "*":
        return f"cron '{schedule}' ({tz})"
    at = f"at {h:02d}:{m:02d} {tz}"
    if dom == "*" and dow == "*":
        return f"every day {at}"
    if dom == "*" and dow in ("1-5", "MON-FRI", "mon-fri"):
        return f"every weekday {at}"
    if dom == "*" and dow.isdigit() and int(dow) <= 7:
        return f"every {_DAYS[int(dow) % 7]} {at}"
    if dow == "*" and dom.isdigit():
        return f"on day {int(dom)} of every month {at}"
    return f"cron '{schedule}' ({tz})"


# --- desired and live ------------------------------------------------------------------------


def desired_fields(spec: Any, service_uri: str | None, scheduler_email: str) -> dict[str, Any]:
    base_uri = (service_uri or "").rstrip("/")
    return {
        "description": spec.description,
        "schedule": spec.schedule,
        "time_zone": spec.time_zone,
        "uri": base_uri + spec.path if service_uri else None,
        "method": spec.method,
        "body": spec.body,
        "headers": dict(spec.headers),
        "service_account": scheduler_email,
        "audience": base_uri if service_uri else None,
        "attempt_deadline": float(spec.attempt_deadline),
        "retry_count": spec.retry.retry_count,
        "min_backoff": float(spec.retry.min_backoff),
        "max_backoff": float(spec.retry.max_backoff),
        "max_doublings": spec.retry.max_doublings,
        "max_retry_duration": float(spec.retry.max_retry_duration),
    }


def _secs(value: Any) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value or 0)


def live_fields(job: Any) -> dict[str, Any]:
    http = job.http_target
    rc = job.retry_config
    return {
        "description": job.description,
        "schedule": job.schedule,
        "time_zone": job.time_zone,
        "uri": http.uri,
        "method": http.http_method.name if http.http_method else "POST",
        "body": bytes(http.body).decode("utf-8", "replace"),
        "headers": dict(http.headers),
        "service_account": http.oidc_token.service_account_email,
        "audience": http.oidc_token.audience,
        "attempt_deadline": _secs(job.attempt_deadline),
        "retry_count": rc.retry_count,
        "min_backoff": _secs(rc.min_backoff_duration),
        "max_backoff": _secs(rc.max_backoff_duration),
        "max_doublings": rc.max_doublings,
        "max_retry_duration": _secs(rc.max_retry_duration),
    }


def _same(key: str, want: Any, have: Any) -> bool:
    if have is None:
        return want is None
    if key == "time_zone":
        return tz_label(want).lower() == tz_label(have).lower()
    if key == "headers":
        return {k.lower(): v for k, v in want.items()} == {k.lower(): v for k, v in have.items()}
    if key == "uri" or key == "audience":
        return want is None or want.rstrip("/") == (have or "").rstrip("/")
    return want == have


@dataclass
class FieldChange:
    field: str
    live: Any
    desired: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "live": self.live, "desired": self.desired}


def diff(desired: dict[str, Any], live: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(k, live.get(k), v) for k, v in desired.items() if not _same(k, v, live.get(k))
    ]


def job_message(spec: Any, name: str, desired: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "description": desired["description"],
        "schedule": desired["schedule"],
        "time_zone": desired["time_zone"],
        "http_target": {
            "uri": desired["uri"],
            "http_method": desired["method"],
            "body": desired["body"].encode(),
            "headers": desired["headers"],
            "oidc_token": {
                "service_account_email": desired["service_account"],
                "audience": desired["audience"],
            },
        },
        "attempt_deadline": dt.timedelta(seconds=desired["attempt_deadline"]),
        "retry_config": {
            "retry_count": desired["retry_count"],
            "min_backoff_duration": dt.timedelta(seconds=desired["min_backoff"]),
            "max_backoff_duration": dt.timedelta(seconds=desired["max_backoff"]),
            "max_doublings": desired["max_doublings"],
            "max_retry_duration": dt.timedelta(seconds=desired["max_retry_duration"]),
        },
    }


# --- status of jobs --------------------------------------------------------------------------


@dataclass
class Attempt:
    time: dt.datetime | None
    ok: bool
    code: str
    http_status: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "ok": self.ok,
            "code": self.code,
            "http_status": self.http_status,
            "message": self.message,
        }

    @property
    def summary(self) -> str:
        if self.ok:
            return f"ok (HTTP {self.http_status})" if self.http_status else "ok"
        return (
            f"failed: HTTP {self.http_status} ({self.code})"
            if self.http_status
            else f"failed: {self.code}"
        )


def last_attempt(job: Any) -> Attempt | None:
    if "last_attempt_time" not in job:
        return None
    code = int(job.status.code) if "status" in job else 0
    message = job.status.message if "status" in job else ""
    http_status = None
    marker = "Original HTTP response code number = "
    if marker in message:
        tail = message.split(marker, 1)[1].split()[0].strip(".")
        http_status = int(tail) if tail.isdigit() else None
    elif code == 0:
        http_status = 200
    return Attempt(
        job.last_attempt_time, code == 0, _CODE_NAMES.get(code, str(code)), http_status, message
    )


@dataclass
class JobStatus:
    name: str | None  # short name in the config (None: not configured)
    job_id: str
    configured: bool
    exists: bool
    state: str
    schedule: str
    time_zone: str
    schedule_human: str
    next_run: dt.datetime | None
    last: Attempt | None
    target: str
    drift: list[FieldChange] = field(default_factory=list)
    live: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_id": self.job_id,
            "configured": self.configured,
            "exists": self.exists,
            "state": self.state,
            "schedule": self.schedule,
            "time_zone": self.time_zone,
            "schedule_human": self.schedule_human,
            "next_run": self.next_run,
            "last_attempt": self.last.to_json() if self.last else None,
            "target": self.target,
            "drift": [c.to_json() for c in self.drift],
        }


def _service_uri(clients: Any, config: Any) -> str | None:
    try:
        return cloudrun.get_service(clients, config).uri
    except NotFoundError:
        return None


def _status(spec: Any, job: Any, service_uri: str | None, scheduler_email: str) -> JobStatus:
    if job is None:
        return JobStatus(
            name=spec.name,
            job_id=spec.id,
            configured=True,
            exists=False,
            state="MISSING",
            schedule=spec.schedule,
            time_zone=spec.time_zone,
            schedule_human=describe_schedule(spec.schedule, spec.time_zone),
            next_run=None,
            last=None,
            target=(service_uri.rstrip("/") + spec.path) if service_uri else spec.path,
        )
    drift = (
        diff(desired_fields(spec, service_uri, scheduler_email), live_fields(job)) if spec else []
    )
    state = job.state.name
    return JobStatus(
        name=spec.name if spec else None,
        job_id=job.name.rsplit("/", 1)[-1],
        configured=spec is not None,
        exists=True,
        state=state,
        schedule=job.schedule,
        time_zone=job.time_zone,
        schedule_human=describe_schedule(job.schedule, job.time_zone),
        next_run=job.schedule_time if state == "ENABLED" and "schedule_time" in job else None,
        last=last_attempt(job),
        target=job.http_target.uri if "http_target" in job else "(non-HTTP target)",
        drift=drift,
        live=job,
    )


def list_jobs(clients: Any, config: Any) -> list[JobStatus]:
    """Configured jobs (live or missing, with drift) and any other jobs in the location."""
    live = {
        j.name.rsplit("/", 1)[-1]: j
        for j in clients.scheduler.list_jobs(request={"parent": parent(clients, config)})
    }
    service_uri = _service_uri(clients, config)
    email = config.scheduler_email(clients.project)
    rows = [
        _status(spec, live.pop(spec.id, None), service_uri, email) for spec in config.jobs.values()
    ]
    rows.extend(_status(None, job, service_uri, email) for _, job in sorted(live.items()))
    return rows


def get_job(clients: Any, config: Any, job_id: str) -> Any | None:
    try:
        return clients.scheduler.get_job(
            request={"name": f"{parent(clients, config)}/jobs/{job_id}"}
        )
    except Exception as exc:
        if grpc_code_name(exc) == "NOT_FOUND":
            return None
        raise


def describe(clients: Any, config: Any, name: str) -> JobStatus:
    spec, job_id = resolve(config, name)
    job = get_job(clients, config, job_id)
    if job is None and spec is None:
        raise NotFoundError(
            f"job {job_id!r} does not exist in {parent(clients, config)}",
            hint="see `thothctl jobs list`",
        )
    return _status(
        spec, job, _service_uri(clients, config), config.scheduler_email(clients.project)
    )


# --- apply -----------------------------------------------------------------------------------


@dataclass
class JobAction:
    name: str
    job_id: str
    action: str  # create | update | unchanged
    changes: list[FieldChange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_id": self.job_id,
            "action": self.action,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass
class ApplyResult:
    service_uri: str
    account: serviceaccounts.AccountResult
    grant: serviceaccounts.GrantResult
    jobs: list[JobAction]
    dry_run: bool

    @property
    def changed(self) -> bool:
        return (
            self.account.created
            or self.grant.changed
            or any(j.action != "unchanged" for j in self.jobs)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "service_uri": self.service_uri,
            "service_account": self.account.to_json(),
            "invoker_grant": self.grant.to_json(),
            "jobs": [j.to_json() for j in self.jobs],
        }


def create_job(clients: Any, config: Any, message: dict[str, Any], desired: dict[str, Any]) -> str:
    """CreateJob, never retried blindly: on ALREADY_EXISTS or a transient error, read back."""
    job_id = message["name"].rsplit("/", 1)[-1]
    for last in clients.creation_attempts():
        try:
            clients.scheduler.create_job(
                request={"parent": parent(clients, config), "job": message}
            )
            return "create"
        except Exception as exc:
            if grpc_code_name(exc) != "ALREADY_EXISTS" and not is_transient(exc):
                raise
            live = get_job(clients, config, job_id)
            if live is not None:
                changes = diff(desired, live_fields(live))
                if changes:
                    update_job(clients, message, changes)
                return "create"
            if last:
                raise
    raise OperationError(f"could not create job {job_id}")


def update_job(clients: Any, message: dict[str, Any], changes: list[FieldChange]) -> None:
    paths = sorted({MASK_PATH[c.field] for c in changes})
    clients.scheduler.update_job(request={"job": message, "update_mask": {"paths": paths}})


INVOKER_PERMISSIONS = ("run.services.getIamPolicy", "run.services.setIamPolicy")


def _check_invoker_permissions(clients: Any, service: str) -> None:
    """TestIamPermissions on the service before the first write, so a caller who may not grant
    the invoker role is stopped before the service account is created (nothing half-applied)."""
    from thothctl.errors import PermissionDeniedError, role_for_permission

    response = clients.run.test_iam_permissions(
        request={"resource": service, "permissions": list(INVOKER_PERMISSIONS)}
    )
    missing = [p for p in INVOKER_PERMISSIONS if p not in set(response.permissions)]
    if missing:
        role = role_for_permission(missing[0]) or "roles/run.admin"
        raise PermissionDeniedError(
            f"permission {', '.join(missing)} denied on {service} (needed to let the scheduler "
            "invoke it); nothing was changed",
            hint=f"grant the caller {role} on the service or project, then re-run",
        )


def apply(
    clients: Any,
    config: Any,
    names: Sequence[str] = (),
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
) -> ApplyResult:
    """Make the named (default: all) configured jobs match the config."""
    specs = [config.job(n) for n in names] if names else list(config.jobs.values())
    progress("Reading the Cloud Run service…")
    service = cloudrun.get_service(clients, config)
    email = config.scheduler_email(clients.project)
    if not dry_run:
        _check_invoker_permissions(clients, service.name)
    progress(f"Checking service account {email}…")
    account = serviceaccounts.ensure_account(clients, email, dry_run=dry_run)
    if dry_run and not account.exists:
        grant = serviceaccounts.GrantResult(
            f"serviceAccount:{email}", serviceaccounts.INVOKER_ROLE, service.name, False, False
        )
    else:
        progress(f"Granting {serviceaccounts.INVOKER_ROLE} on {service.service}…")
        grant = serviceaccounts.grant_invoker(clients, service.name, email, dry_run=dry_run)
    actions = []
    for spec in specs:
        progress(f"Applying {spec.name}…")
        desired = desired_fields(spec, service.uri, email)
        name = f"{parent(clients, config)}/jobs/{spec.id}"
        live = get_job(clients, config, spec.id)
        message = job_message(spec, name, desired)
        if live is None:
            actions.append(JobAction(spec.name, spec.id, "create", diff(desired, {})))
            if not dry_run:
                create_job(clients, config, message, desired)
            continue
        changes = diff(desired, live_fields(live))
        if not changes:
            actions.append(JobAction(spec.name, spec.id, "unchanged"))
            continue
        actions.append(JobAction(spec.name, spec.id, "update", changes))
        if not dry_run:
            update_job(clients, message, changes)
    return ApplyResult(service.uri, account, grant, actions, dry_run)


# --- operations ------------------------------------------------------------------------------


def _require(clients: Any, config: Any, name: str) -> Any:
    spec, job_id = resolve(config, name)
    job = get_job(clients, config, job_id)
    if job is None:
        hint = "create it with `thothctl jobs apply`" if spec else "see `thothctl jobs list`"
        raise NotFoundError(
            f"job {job_id!r} does not exist in {parent(clients, config)}", hint=hint
        )
    return job


@dataclass
class StateChange:
    job_id: str
    state: str
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "changed": self.changed}


def pause(clients: Any, config: Any, name: str) -> StateChange:
    job = _require(clients, config, name)
    job_id = job.name.rsplit("/", 1)[-1]
    if job.state.name == "PAUSED":
        return StateChange(job_id, "PAUSED", False)
    if job.state.name != "ENABLED":
        raise OperationError(f"job {job_id} is {job.state.name} and cannot be paused")
    return StateChange(
        job_id, clients.scheduler.pause_job(request={"name": job.name}).state.name, True
    )


def resume(clients: Any, config: Any, name: str) -> StateChange:
    job = _require(clients, config, name)
    job_id = job.name.rsplit("/", 1)[-1]
    if job.state.name == "ENABLED":
        return StateChange(job_id, "ENABLED", False)
    if job.state.name != "PAUSED":
        raise OperationError(
            f"job {job_id} is {job.state.name} and cannot be resumed",
            hint="re-apply it with `thothctl jobs apply`",
        )
    return StateChange(
        job_id, clients.scheduler.resume_job(request={"name": job.name}).state.name, True
    )


def delete(clients: Any, config: Any, name: str) -> str:
    job = _require(clients, config, name)
    clients.scheduler.delete_job(request={"name": job.name})
    return job.name.rsplit("/", 1)[-1]


@dataclass
class RunResult:
    job_id: str
    requested_at: dt.datetime
    waited: bool
    attempt: Attempt | None

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "requested_at": self.requested_at,
            "waited": self.waited,
            "attempt": self.attempt.to_json() if self.attempt else None,
        }


def run(
    clients: Any,
    config: Any,
    name: str,
    *,
    force: bool = False,
    wait: bool = False,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Force a run; with ``wait``, poll GetJob until an attempt newer than the request shows."""
    job = _require(clients, config, name)
    job_id = job.name.rsplit("/", 1)[-1]
    if job.state.name == "PAUSED" and not force:
        raise UsageError(
            f"job {job_id} is paused; not running it",
            hint=f"resume it first (`thothctl jobs resume {name}`), or pass --force to run it once anyway",
        )
    previous = job.last_attempt_time if "last_attempt_time" in job else None
    requested = dt.datetime.now(dt.UTC)
    clients.scheduler.run_job(request={"name": job.name})
    if not wait:
        return RunResult(job_id, requested, False, None)
    deadline = time.monotonic() + timeout
    delay = 0.1
    floor = requested - dt.timedelta(seconds=2)  # tolerate a little clock skew
    while True:
        current = clients.scheduler.get_job(request={"name": job.name})
        attempt = last_attempt(current)
        if (
            attempt is not None
            and attempt.time >= floor
            and (previous is None or attempt.time > previous)
        ):
            return RunResult(job_id, requested, True, attempt)
        if time.monotonic() >= deadline:
            raise OperationError(
                f"no attempt of {job_id} finished within {validate.format_duration(timeout)}",
                hint=f"it may still run; check `thothctl jobs describe {name}` or `thothctl logs`",
            )
        sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)
