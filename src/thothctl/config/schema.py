"""The configuration's one field table, and the typed result of loading it.

Every key of ``thothctl.toml`` is one :class:`Field` below: its type, its check, its range or
allowed values, its default and what it means. That table drives everything else, so a new key is
one row here:

* loading and validation (``thothctl.config.load``: a generic loop over the table),
* ``thothctl config show`` (every key, its value and where it came from),
* the ``config init`` template and the README's configuration reference
  (``thothctl.config.template``),
* shell completion of secret and job names (``thothctl.config.names``).

``[secrets.NAME]`` and ``[jobs.NAME]`` are :class:`Table` s: a field table per item, plus rules
that relate two fields of one item. The built-in Thoth secrets and jobs are plain data
(``BUILTIN_SECRETS``, ``BUILTIN_JOBS``) merged under the user's file like any other layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thothctl import suggest
from thothctl import validate as v
from thothctl.errors import UsageError

SOURCE_DEFAULT = "default"


class _Required:
    """The default of a key every item must set (a job's ``id`` and ``schedule``)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Derived:
    """A default computed from the item's name (a secret's ``env`` is its name in capitals)."""

    doc: str
    of_name: Callable[[str], Any]


# kind -> (Python type a TOML value must have, how an error names it). A duration is a string
# such as "320s" or a number of seconds; v.parse_duration checks it.
VALUE_TYPES: dict[str, tuple[type | None, str]] = {
    "string": (str, "a string"),
    "bool": (bool, "true or false"),
    "integer": (int, "an integer"),
    "duration": (None, "a duration"),
    "list": (list, "a list of strings"),
    "table": (dict, "a table of strings"),
}


@dataclass(frozen=True)
class Field:
    """One key: ``kind`` (a VALUE_TYPES name), ``doc`` (what it means), ``default`` (a value, None for
    unset, REQUIRED or Derived), ``check`` (normalises a value, or each element of a list, or
    raises ValueError), ``range`` (inclusive bounds of an integer or a duration, in seconds),
    ``choices`` (the allowed strings), ``env`` (the environment variable that overrides it)."""

    key: str
    kind: str
    doc: str
    default: Any = None
    check: Callable[[Any], Any] | None = None
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    noun: str = ""  # how errors name a value of this key ("secret format", "job id")
    what: str = ""  # how a type error names the expected value, when VALUE_TYPES says too little
    env: str | None = None
    unique: bool = False  # no two items may share the value (a job id)
    dedupe: bool = False  # a list keeps the first of repeated entries
    example: Any = None  # shown by the template for a key no built-in item sets

    @property
    def expected(self) -> str:
        return self.what or VALUE_TYPES[self.kind][1]

    def rule(self) -> str:
        """The range or the allowed values, as a reader sees them ("15s .. 30m")."""
        if self.range:
            low, high = (self.bound(b) for b in self.range)
            return f"{low} .. {high}"
        return " | ".join(self.choices)

    def bound(self, value: float) -> str:
        return v.format_duration(value) if self.kind == "duration" else str(int(value))


@dataclass(frozen=True)
class Rule:
    """A check that relates fields of one item; ``key`` is the field the error names."""

    key: str
    broken: Callable[[Mapping[str, Any]], bool]
    message: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Table:
    """``[NAME.ITEM]`` tables: each item's name is checked by ``check_name``, its keys by
    ``fields`` and ``rules``; ``build`` turns the checked values into the typed spec."""

    name: str
    check_name: Callable[[str], str]
    fields: tuple[Field, ...]
    build: Callable[[str, dict[str, Any]], Any]
    rules: tuple[Rule, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


def _gitlab_scope(value: str) -> str:
    if not isinstance(value, str) or not value.replace("_", "").isalpha() or not value.islower():
        raise ValueError(f"{value!r} is not a GitLab scope (e.g. read_api, api)")
    return value


# --- the typed configuration ------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSpec:
    name: str
    env: str
    description: str
    required: bool
    default: str | None
    format: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrySpec:
    retry_count: int
    min_backoff: float
    max_backoff: float
    max_doublings: int
    max_retry_duration: float


@dataclass(frozen=True)
class JobSpec:
    name: str
    id: str
    description: str
    schedule: str
    time_zone: str
    path: str
    method: str
    body: str
    headers: dict[str, str]
    attempt_deadline: float
    retry: RetrySpec


def _job_spec(name: str, values: dict[str, Any]) -> JobSpec:
    """A JobSpec from checked values: the RetrySpec's fields go to ``retry``."""
    retry_keys = RetrySpec.__dataclass_fields__
    retry = RetrySpec(**{k: values[k] for k in retry_keys})
    rest = {k: val for k, val in values.items() if k not in retry_keys}
    return JobSpec(name=name, retry=retry, **rest)


@dataclass
class Config:
    project: str | None
    region: str
    service: str
    apis: tuple[str, ...]
    runtime_service_account: str
    scheduler_service_account: str
    secrets: dict[str, SecretSpec]
    jobs: dict[str, JobSpec]
    gitlab_token_scopes: tuple[str, ...] = ("read_api",)
    gitlab_token_warning_days: int = 14
    env_name: str | None = None
    config_file: Path | None = None
    environments: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # every key, as written or defaulted

    def source_of(self, key: str) -> str:
        return self.sources.get(key, SOURCE_DEFAULT)

    def service_account_email(self, value: str, project: str) -> str:
        return value if "@" in value else f"{value}@{project}.iam.gserviceaccount.com"

    def runtime_email(self, project: str) -> str:
        return self.service_account_email(self.runtime_service_account, project)

    def scheduler_email(self, project: str) -> str:
        return self.service_account_email(self.scheduler_service_account, project)

    def secret(self, name: str) -> SecretSpec:
        try:
            return self.secrets[name]
        except KeyError:
            message, hint = suggest.unknown(
                "secret",
                name,
                list(self.secrets),
                env_vars={s.env: n for n, s in self.secrets.items()},
                listed_as="configured secret",
            )
            raise UsageError(
                message, hint=hint or "add it under [secrets] in thothctl.toml"
            ) from None

    def job(self, name: str) -> JobSpec:
        """Find a job by short name (``daily-sync``) or job id (``thoth-daily-sync``)."""
        if name in self.jobs:
            return self.jobs[name]
        for job in self.jobs.values():
            if job.id == name:
                return job
        message, _ = suggest.unknown("job", name, list(self.jobs))
        ids = [j.id for j in self.jobs.values()]
        raise UsageError(message, hint=suggest.did_you_mean(name, [*self.jobs, *ids]))


# --- the field table --------------------------------------------------------------------------

TOP_FIELDS: tuple[Field, ...] = (
    Field(
        "project",
        "string",
        "Google Cloud project id (else $THOTHCTL_PROJECT, $CLOUDSDK_CORE_PROJECT, gcloud config, "
        "ADC)",
        check=v.check_project,
        env="THOTHCTL_PROJECT",
        example="my-project",
    ),
    Field(
        "region",
        "string",
        "region of the Cloud Run service (else gcloud config run/region)",
        "us-central1",
        check=v.check_region,
        env="THOTHCTL_REGION",
    ),
    Field(
        "service",
        "string",
        "the existing Cloud Run service the jobs call (thothctl never deploys it)",
        "thoth-mcp-server",
        check=v.check_run_service,
    ),
    Field(
        "apis",
        "list",
        "APIs `apis enable` and `init` turn on (short or full names)",
        ["secretmanager", "cloudscheduler", "run", "iam"],
        check=v.check_api,
        what="a list of API names",
        dedupe=True,
    ),
    Field(
        "runtime_service_account",
        "string",
        "account the service runs as: gets secretAccessor on each secret (an id or an email)",
        "thoth-mcp-sa",
        check=v.check_service_account,
    ),
    Field(
        "scheduler_service_account",
        "string",
        "account Cloud Scheduler signs OIDC tokens as: gets run.invoker on the service only",
        "thoth-scheduler",
        check=v.check_service_account,
    ),
    Field(
        "gitlab_token_scopes",
        "list",
        "GitLab scopes the sync needs: a gitlab-token without them is refused before it is stored",
        ["read_api"],
        check=lambda s: _gitlab_scope(s),
        what="a list of GitLab scopes",
        dedupe=True,
    ),
    Field(
        "gitlab_token_warning_days",
        "integer",
        "`doctor` and `secrets set|rotate gitlab-token` warn when the token expires within this "
        "many days",
        14,
        range=(1, 365),
    ),
)

SECRETS = Table(
    "secrets",
    v.check_secret_id,
    (
        Field(
            "env",
            "string",
            "environment variable: CI input for `secrets set --no-input`, and what `exec` sets",
            Derived("NAME in capitals, '-' as '_'", lambda name: name.upper().replace("-", "_")),
            check=v.check_env_var,
            noun="env var",
            unique=True,
        ),
        Field(
            "description",
            "string",
            "shown as the prompt (one line, at most 200 characters)",
            Derived("NAME", str),
            check=lambda text: v.check_text(text, limit=200, one_line=True, required=True),
        ),
        Field("required", "bool", "init fails without it (false: may be skipped)", True),
        Field(
            "default",
            "string",
            "offered at the prompt, used by init when the env var is unset (a valid value: "
            "not empty, at most 64 KiB, no NUL byte, JSON for a json secret)",
        ),
        Field(
            "format",
            "string",
            "how the value is checked and asked for (text: hidden, typed twice; url: an https "
            "URL, typed visibly; json: must parse, pasted or read from a file)",
            "text",
            choices=("text", "json", "url"),
            noun="secret format",
        ),
        Field(
            "aliases",
            "list",
            "version aliases `secrets rotate` moves onto the enabled versions, newest first: the "
            "first to the newest, the second to the next older (removed when none is left)",
            [],
            check=v.check_alias,
            what="a list of alias names",
            example=["current", "previous"],
        ),
    ),
    build=lambda name, values: SecretSpec(name=name, **values),
    rules=(
        Rule(
            "default",
            lambda secret: _bad_default(secret) is not None,
            lambda secret: f"the default is not a usable value: {_bad_default(secret)}",
        ),
        Rule(
            "aliases",
            lambda secret: len(set(secret["aliases"])) != len(secret["aliases"]),
            lambda secret: f"{list(secret['aliases'])!r} names an alias twice: give each once",
        ),
    ),
)


def _bad_default(secret: Mapping[str, Any]) -> str | None:
    """Why a secret's default could not be uploaded (None: it could, or there is none)."""
    if secret["default"] is None:
        return None
    try:
        v.check_secret_bytes(secret["default"].encode("utf-8", "surrogatepass"), secret["format"])
    except ValueError as exc:
        return str(exc)
    return None


# A duration Cloud Scheduler takes: from 0 to what a protobuf Duration carries.
_ANY_DURATION = (0, v.MAX_DURATION)
MAX_BODY_BYTES = 1_000_000  # Cloud Scheduler: a job's payload is at most 1 MB


def _check_body(body: str) -> str:
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise ValueError(f"the body is {size} bytes: Cloud Scheduler takes at most 1 MB")
    return body


def _body_needs_a_body_method(job: Mapping[str, Any]) -> bool:
    return bool(job["body"]) and job["method"] not in v.BODY_METHODS


JOBS = Table(
    "jobs",
    v.check_job_id,
    (
        Field(
            "id",
            "string",
            "Cloud Scheduler job id",
            REQUIRED,
            v.check_job_id,
            noun="job id",
            unique=True,
        ),
        Field(
            "description",
            "string",
            "the job's description in Cloud Scheduler (at most 500 characters)",
            "",
            lambda text: v.check_text(text, limit=500),
        ),
        Field(
            "schedule",
            "string",
            "unix cron, 5 fields, as Cloud Scheduler documents it (no L, W, #, ?)",
            REQUIRED,
            v.check_cron,
        ),
        Field("time_zone", "string", "IANA time zone", "UTC", v.check_time_zone),
        Field("path", "string", "appended to the Cloud Run service URL", "/sync", v.check_url_path),
        Field(
            "method",
            "string",
            "POST, PUT or PATCH to send a body; also GET, HEAD, DELETE, OPTIONS",
            "POST",
            v.check_http_method,
        ),
        Field("body", "string", "request body (sent as is; at most 1 MB)", "", _check_body),
        Field(
            "headers",
            "table",
            "extra request headers (not Host, Content-Length, User-Agent, X-CloudScheduler*, "
            "X-Google-*, X-AppEngine-*: Cloud Scheduler sets those)",
            {},
            v.check_headers,
        ),
        Field(
            "attempt_deadline",
            "duration",
            "how long one attempt may take",
            "180s",
            range=(15, 1800),
        ),
        Field("retry_count", "integer", "retries after a failed attempt", 0, range=(0, 5)),
        Field("min_backoff", "duration", "first retry delay", "5s", range=_ANY_DURATION),
        Field("max_backoff", "duration", "longest retry delay", "3600s", range=_ANY_DURATION),
        Field(
            "max_doublings",
            "integer",
            "times the delay doubles before growing linearly",
            5,
            range=(0, 16),
        ),
        Field(
            "max_retry_duration",
            "duration",
            "how long to keep retrying (0s: no limit)",
            "0s",
            range=_ANY_DURATION,
        ),
    ),
    build=_job_spec,
    rules=(
        Rule(
            "method",
            _body_needs_a_body_method,
            lambda job: (
                f"{job['method']} cannot send the job's body: a body is only allowed "
                f'with {", ".join(v.BODY_METHODS)} (use one of them, or set body = "")'
            ),
        ),
        Rule(
            "max_backoff",
            lambda job: job["max_backoff"] < job["min_backoff"],
            lambda job: "max_backoff must not be shorter than min_backoff",
        ),
    ),
)

TABLES: tuple[Table, ...] = (SECRETS, JOBS)

# --- the built-in Thoth deployment ------------------------------------------------------------

BUILTIN_SECRETS: dict[str, dict[str, Any]] = {
    "gitlab-token": {
        "env": "GITLAB_TOKEN",
        "description": "GitLab personal access token",
        "required": True,
        "format": "text",
    },
    "gitlab-url": {
        "env": "GITLAB_BASE_URL",
        "description": "GitLab base URL",
        "required": True,
        "default": "https://gitlab.com",
        "format": "url",
    },
    "google-application-credentials": {
        "env": "GOOGLE_APPLICATION_CREDENTIALS_JSON",
        "description": "Google service account credentials (JSON)",
        "required": False,
        "format": "json",
    },
}

_SYNC = {"time_zone": "UTC", "path": "/sync", "method": "POST"}
_JSON = {"Content-Type": "application/json"}
BUILTIN_JOBS: dict[str, dict[str, Any]] = {
    "daily-sync": {
        "id": "thoth-daily-sync",
        "description": "Thoth daily full sync of the GitLab handbook",
        "schedule": "0 2 * * *",
        **_SYNC,
        "body": '{"scheduled":true,"sync_type":"daily"}',
        "headers": _JSON,
        "attempt_deadline": "320s",
        "retry_count": 3,
        "min_backoff": "5s",
        "max_backoff": "3600s",
        "max_doublings": 5,
        "max_retry_duration": "0s",
    },
    "hourly-incremental-sync": {
        "id": "thoth-hourly-incremental-sync",
        "description": "Thoth hourly incremental sync of the GitLab handbook",
        "schedule": "0 * * * *",
        **_SYNC,
        "body": '{"scheduled":true,"sync_type":"incremental","incremental":true}',
        "headers": _JSON,
        "attempt_deadline": "180s",
        "retry_count": 2,
        "min_backoff": "5s",
        "max_backoff": "1800s",
        "max_doublings": 3,
        "max_retry_duration": "0s",
    },
}

# The built-in configuration as one TOML-shaped dict (the lowest layer of every load).
DEFAULTS: dict[str, Any] = {
    **{f.key: f.default for f in TOP_FIELDS},
    "secrets": BUILTIN_SECRETS,
    "jobs": BUILTIN_JOBS,
}

TOP_KEYS: tuple[str, ...] = (*(f.key for f in TOP_FIELDS), *(t.name for t in TABLES))
SECRET_KEYS = SECRETS.keys
JOB_KEYS = JOBS.keys
SECRET_FORMATS = SECRETS.field("format").choices
# Environment variables that override config values (also named in each flag's help).
ENV_OVERRIDES = {f.key: f.env for f in TOP_FIELDS if f.env}


def fill_defaults(table: Table, name: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The item with every key of the table: missing ones get the field's default (an explicitly
    empty value stays, for its check to refuse); a missing required key stays missing."""
    filled: dict[str, Any] = {}
    for f in table.fields:
        value = item.get(f.key)
        if isinstance(f.default, Derived) and value is None:
            value = f.default.of_name(name)
        elif f.key not in item:
            if f.default is REQUIRED:
                continue
            value = copy.deepcopy(f.default)
        filled[f.key] = value
    return filled
