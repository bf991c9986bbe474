"""Thoth's Cloud Scheduler jobs: desired state from the config, drift, writes, and operations.

The desired job is built from a :class:`~thothctl.config.JobSpec` plus the live Cloud Run service
URL (target = URL + path, OIDC audience = URL) and the scheduler service account. ``diff`` compares
it field by field with the live job; ``update_job`` sends an update mask naming just the fields
that differ. Converging the jobs (``jobs apply``) is the init plan filtered to the job steps
(:mod:`thothctl.init.plan`). ``run(wait=True)`` forces a run and polls GetJob until the job's last
attempt is newer than the request; a failed attempt carries a ``diagnosis`` and a ``hint``. Next
run times are computed locally (:mod:`thothctl.schedule`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from thothctl import cloudrun, retry, suggest, validate
from thothctl.errors import NotFoundError, OperationError, UsageError, code_of
from thothctl.plan import FieldChange
from thothctl.schedule import describe_schedule, tz_label

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


# --- names -----------------------------------------------------------------------------------


def parent(clients: Any, config: Any) -> str:
    return f"projects/{clients.project}/locations/{config.region}"


def resolve(config: Any, name: str) -> tuple[Any | None, str]:
    """A short name (``daily-sync``) or job id (``thoth-daily-sync``) -> (spec or None, job id).

    A job id that is not in the config is accepted (to describe or remove strays); a name that
    could not be a job id is an unknown job (exit 2, with the valid names)."""
    for spec in config.jobs.values():
        if name in (spec.name, spec.id):
            return spec, spec.id
    try:
        validate.check_job_id(name)
    except ValueError:
        raise unknown_job(config, name) from None
    return None, name


def unknown_job(config: Any, name: str, live: Any = ()) -> UsageError:
    """The one error for a job name that is neither configured nor live (``live``: the job ids
    in Cloud Scheduler): exit 2, the valid names, and the closest one."""
    ids = [j.id for j in config.jobs.values()]
    names = [*config.jobs, *(i for i in live if i not in ids)]
    message, _ = suggest.unknown("job", name, names)
    return UsageError(message, hint=suggest.did_you_mean(name, [*names, *ids]))


def _where(clients: Any, config: Any) -> str:
    return f"{clients.project} ({config.region})"


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
        return asdict(self)

    @property
    def summary(self) -> str:
        """What the service answered, in words: ``HTTP 200``, ``failed: HTTP 500``, ``failed: no
        answer within the attempt deadline``."""
        if self.ok:
            return f"HTTP {self.http_status}" if self.http_status else "ok"
        if self.http_status:
            return f"failed: HTTP {self.http_status}"
        if self.diagnosis == "deadline":
            return "failed: no answer within the attempt deadline"
        return f"failed: {self.code}"

    @property
    def diagnosis(self) -> str | None:
        """Why a failed attempt failed, where its status tells: ``invoker-missing`` (HTTP 403),
        ``token-rejected`` (HTTP 401) or ``deadline`` (no answer within the attempt deadline)."""
        if self.ok:
            return None
        if self.http_status in (401, 403):
            return "token-rejected" if self.http_status == 401 else "invoker-missing"
        return "deadline" if self.code == "DEADLINE_EXCEEDED" else None

    @property
    def hint(self) -> str | None:
        """What to do about a failed attempt (None: nothing known beyond its status)."""
        return _HINTS.get(self.diagnosis) if self.diagnosis else None


_HINTS = {
    "invoker-missing": "the scheduler service account lacks roles/run.invoker on the service: "
    "run `thothctl jobs apply`",
    "token-rejected": "the OIDC token was rejected (audience must be the service URL): "
    "run `thothctl jobs apply`",
    "deadline": "the service did not answer within the attempt deadline",
}


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


def live_jobs(clients: Any, config: Any) -> dict[str, Any]:
    """Every job in the location, by job id, in one List call (up to 500 jobs a page)."""
    pager = clients.scheduler.list_jobs(
        request={"parent": parent(clients, config), "page_size": 500}
    )
    return {j.name.rsplit("/", 1)[-1]: j for j in pager}


def list_jobs(clients: Any, config: Any) -> list[JobStatus]:
    """Configured jobs (live or missing, with drift) and any other jobs in the location."""
    live = live_jobs(clients, config)
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
        if code_of(exc) == "NOT_FOUND":
            return None
        raise


def describe(clients: Any, config: Any, name: str) -> JobStatus:
    spec, job_id = resolve(config, name)
    job = get_job(clients, config, job_id)
    if job is None and spec is None:
        raise unknown_job(config, name, live_jobs(clients, config))
    return _status(
        spec, job, _service_uri(clients, config), config.scheduler_email(clients.project)
    )


# --- writes ----------------------------------------------------------------------------------


def update_job(clients: Any, message: dict[str, Any], changes: list[FieldChange]) -> None:
    paths = sorted({MASK_PATH[c.field] for c in changes})
    clients.scheduler.update_job(request={"job": message, "update_mask": {"paths": paths}})


def _update_drifted(
    clients: Any, message: dict[str, Any], desired: dict[str, Any], live: Any
) -> str:
    changes = diff(desired, live_fields(live))
    if not changes:
        return "already up to date"
    update_job(clients, message, changes)
    return "updated " + ", ".join(c.field for c in changes)


def create_job(clients: Any, config: Any, message: dict[str, Any], desired: dict[str, Any]) -> str:
    """CreateJob, never retried blindly: on ALREADY_EXISTS or a transient error, read back (and
    update what differs, should another writer have created it first)."""
    job_id = message["name"].rsplit("/", 1)[-1]
    for last in clients.creation_attempts():
        try:
            clients.scheduler.create_job(
                request={"parent": parent(clients, config), "job": message}
            )
            return "created"
        except Exception as exc:
            if code_of(exc) != "ALREADY_EXISTS" and not retry.is_transient(exc):
                raise
            live = get_job(clients, config, job_id)
            if live is not None:
                _update_drifted(clients, message, desired, live)
                return "created"
            if last:
                raise
    raise OperationError(f"could not create job {job_id}")


def ensure_job(
    clients: Any, config: Any, message: dict[str, Any], desired: dict[str, Any], *, exists: bool
) -> str:
    """Converge one job: create it when missing; else re-read it and update only the fields that
    differ now (the update mask names just those)."""
    live = get_job(clients, config, message["name"].rsplit("/", 1)[-1]) if exists else None
    if live is None:
        return create_job(clients, config, message, desired)
    return _update_drifted(clients, message, desired, live)


# --- operations ------------------------------------------------------------------------------


def _require(clients: Any, config: Any, name: str) -> Any:
    spec, job_id = resolve(config, name)
    job = get_job(clients, config, job_id)
    if job is None and spec is None:
        raise unknown_job(config, name, live_jobs(clients, config))
    if job is None:
        raise NotFoundError(
            f"job {spec.name} ({job_id}) does not exist yet in {_where(clients, config)}",
            hint="create it with `thothctl jobs apply`",
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
            f"job {job_id} is paused, so it was not run",
            hint=f"resume it first with `thothctl jobs resume {name}`, or pass --force to run it once",
        )
    previous = job.last_attempt_time if "last_attempt_time" in job else None
    requested = dt.datetime.now(dt.UTC)
    clients.scheduler.run_job(request={"name": job.name})
    if not wait:
        return RunResult(job_id, requested, False, None)
    floor = requested - dt.timedelta(seconds=2)  # tolerate a little clock skew
    for _last in retry.attempts(deadline=timeout, maximum=2.0, sleep=sleep):
        attempt = last_attempt(clients.scheduler.get_job(request={"name": job.name}))
        if (
            attempt is not None
            and attempt.time >= floor
            and (previous is None or attempt.time > previous)
        ):
            return RunResult(job_id, requested, True, attempt)
    raise OperationError(
        f"no attempt of {job_id} finished within {validate.format_duration(timeout)}",
        hint=f"it may still run; check `thothctl jobs describe {name}` or `thothctl logs`",
    )
