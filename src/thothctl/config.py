"""Configuration: the built-in Thoth defaults, ``thothctl.toml``, named environments, env vars,
flags, and where every value came from.

Precedence, lowest first: built-in defaults < the gcloud configuration file < thothctl.toml <
``[env.NAME]`` < environment variables < flags. The project follows DESIGN.md: ``--project`` >
``THOTHCTL_PROJECT`` > config > ``CLOUDSDK_CORE_PROJECT``/``GOOGLE_CLOUD_PROJECT`` > the active
gcloud configuration > the ADC project (emulator mode: ``thoth-local`` instead of the last three).
"""

from __future__ import annotations

import configparser
import copy
import difflib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thothctl import validate as v
from thothctl.errors import ConfigError, UsageError

CONFIG_FILENAME = "thothctl.toml"
EMULATOR_PROJECT = "thoth-local"
SOURCE_DEFAULT = "default"

DEFAULTS: dict[str, Any] = {
    "project": None,
    "region": "us-central1",
    "service": "thoth-mcp-server",
    "apis": ["secretmanager", "cloudscheduler", "run", "iam"],
    "runtime_service_account": "thoth-mcp-sa",
    "scheduler_service_account": "thoth-scheduler",
    "secrets": {
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
            "format": "text",
        },
        "google-application-credentials": {
            "env": "GOOGLE_APPLICATION_CREDENTIALS_JSON",
            "description": "Google service account credentials (JSON)",
            "required": False,
            "format": "json",
        },
    },
    "jobs": {
        "daily-sync": {
            "id": "thoth-daily-sync",
            "description": "Thoth daily full sync of the GitLab handbook",
            "schedule": "0 2 * * *",
            "time_zone": "UTC",
            "path": "/sync",
            "method": "POST",
            "body": '{"scheduled":true,"sync_type":"daily"}',
            "headers": {"Content-Type": "application/json"},
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
            "time_zone": "UTC",
            "path": "/sync",
            "method": "POST",
            "body": '{"scheduled":true,"sync_type":"incremental","incremental":true}',
            "headers": {"Content-Type": "application/json"},
            "attempt_deadline": "180s",
            "retry_count": 2,
            "min_backoff": "5s",
            "max_backoff": "1800s",
            "max_doublings": 3,
            "max_retry_duration": "0s",
        },
    },
}

TOP_KEYS = (
    "project",
    "region",
    "service",
    "apis",
    "runtime_service_account",
    "scheduler_service_account",
    "secrets",
    "jobs",
)
SECRET_KEYS = ("env", "description", "required", "default", "format", "aliases")
JOB_KEYS = tuple(DEFAULTS["jobs"]["daily-sync"].keys())
SECRET_FORMATS = ("text", "json")

# Environment variables that override config values (also named in each flag's help).
ENV_OVERRIDES = {"project": "THOTHCTL_PROJECT", "region": "THOTHCTL_REGION"}


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
    env_name: str | None = None
    config_file: Path | None = None
    environments: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

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
            known = ", ".join(self.secrets) or "none"
            raise UsageError(
                f"unknown secret {name!r}: configured secrets are {known}",
                hint="add it under [secrets] in thothctl.toml",
            ) from None

    def job(self, name: str) -> JobSpec:
        """Find a job by short name (``daily-sync``) or job id (``thoth-daily-sync``)."""
        if name in self.jobs:
            return self.jobs[name]
        for job in self.jobs.values():
            if job.id == name:
                return job
        known = ", ".join(f"{j.name} ({j.id})" for j in self.jobs.values()) or "none"
        raise UsageError(f"unknown job {name!r}: configured jobs are {known}")


# --- loading ---------------------------------------------------------------------------------


def find_config_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(
                f"config file {explicit} does not exist",
                hint="run `thothctl config init` to write one, or fix --config/THOTHCTL_CONFIG",
            )
        return path
    candidate = (cwd or Path.cwd()) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file: {exc.strerror}") from None


def _unknown_key(source: str, key: str, allowed: tuple[str, ...] | list[str]) -> ConfigError:
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, list(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(source, key, f"unknown key{hint}; allowed keys: {', '.join(allowed)}")


def _check_shape(data: Mapping[str, Any], source: str, prefix: str = "", *, in_env: bool = False):
    """Reject unknown keys and wrong table shapes before merging."""
    allowed = TOP_KEYS if in_env else (*TOP_KEYS, "env")
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in allowed:
            raise _unknown_key(source, path, allowed)
        if key == "env":
            if not isinstance(value, dict):
                raise ConfigError(source, path, "expected a table of environments ([env.NAME])")
            for env_name, env_data in value.items():
                if not isinstance(env_data, dict):
                    raise ConfigError(source, f"env.{env_name}", "expected a table")
                _check_shape(env_data, source, f"env.{env_name}.", in_env=True)
        elif key in ("secrets", "jobs"):
            if not isinstance(value, dict):
                raise ConfigError(source, path, f"expected a table ([{key}.NAME])")
            sub_allowed = SECRET_KEYS if key == "secrets" else JOB_KEYS
            for item, item_data in value.items():
                if not isinstance(item_data, dict):
                    raise ConfigError(source, f"{path}.{item}", "expected a table")
                for sub in item_data:
                    if sub not in sub_allowed:
                        raise _unknown_key(source, f"{path}.{item}.{sub}", sub_allowed)


def _merge(base: dict, over: Mapping, sources: dict[str, str], label: str, prefix: str = ""):
    for key, value in over.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "headers":
            _merge(base[key], value, sources, label, f"{path}.")
        else:
            base[key] = copy.deepcopy(value)
            _mark(sources, path, value, label)


def _mark(sources: dict[str, str], path: str, value: Any, label: str):
    if isinstance(value, dict) and not path.endswith("headers"):
        for k, sub in value.items():
            _mark(sources, f"{path}.{k}", sub, label)
    else:
        sources[path] = label


def gcloud_config_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("CLOUDSDK_CONFIG"):
        return Path(environ["CLOUDSDK_CONFIG"])
    if sys.platform == "win32" and environ.get("APPDATA"):
        return Path(environ["APPDATA"]) / "gcloud"
    return Path(environ.get("HOME", str(Path.home()))) / ".config" / "gcloud"


def read_gcloud_config(environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Read the active gcloud configuration file without running gcloud.

    Returns (configuration name, {"project": ..., "region": ...}) with only the values present.
    """
    base = gcloud_config_dir(environ)
    name = environ.get("CLOUDSDK_ACTIVE_CONFIG_NAME")
    if not name:
        try:
            name = (base / "active_config").read_text().strip() or "default"
        except OSError:
            name = "default"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(base / "configurations" / f"config_{name}")
    except (configparser.Error, UnicodeDecodeError):
        return name, {}
    found: dict[str, str] = {}
    if parser.has_option("core", "project"):
        found["project"] = parser.get("core", "project").strip()
    if parser.has_option("run", "region"):
        found["region"] = parser.get("run", "region").strip()
    return name, {k: val for k, val in found.items() if val}


def load_config(
    *,
    config_path: str | None = None,
    env_name: str | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    emulator: bool = False,
    cwd: Path | None = None,
) -> Config:
    """Build the effective configuration. Raises ConfigError (exit 2) on any bad value."""
    environ = os.environ if environ is None else environ
    flags = {k: val for k, val in (flags or {}).items() if val is not None}
    data = copy.deepcopy(DEFAULTS)
    sources: dict[str, str] = {}

    # gcloud's own configuration (real projects only).
    if not emulator:
        gc_name, gc = read_gcloud_config(environ)
        if "region" in gc:
            data["region"] = gc["region"]
            sources["region"] = f"gcloud config {gc_name!r} (run/region)"

    path = find_config_file(config_path or environ.get("THOTHCTL_CONFIG"), cwd)
    environments: tuple[str, ...] = ()
    project_from_file = False
    if path is not None:
        label = path.name if path.parent == (cwd or Path.cwd()) else str(path)
        file_data = read_toml(path)
        _check_shape(file_data, label)
        env_tables = file_data.pop("env", {})
        environments = tuple(env_tables)
        _merge(data, file_data, sources, label)
        project_from_file = "project" in file_data
        if env_name:
            if env_name not in env_tables:
                known = ", ".join(environments) or "none defined"
                raise UsageError(
                    f"unknown environment {env_name!r} in {label}: {known}",
                    hint="define it as [env.NAME] in the config file",
                )
            _merge(data, env_tables[env_name], sources, f"{label} [env.{env_name}]")
            project_from_file = project_from_file or "project" in env_tables[env_name]
    elif env_name:
        raise UsageError(
            f"--env {env_name} needs a config file with [env.{env_name}], and none was found",
            hint="run `thothctl config init` or pass --config",
        )

    # Environment variables, then flags.
    for key, var in ENV_OVERRIDES.items():
        if environ.get(var):
            data[key] = environ[var]
            sources[key] = f"${var}"
    for key, value in flags.items():
        data[key] = value
        sources[key] = f"--{key}"

    # The project's remaining sources, below the config file.
    if not (data.get("project") and (project_from_file or "project" in sources)):
        data["project"] = None
        sources.pop("project", None)
        if emulator:
            data["project"] = EMULATOR_PROJECT
            sources["project"] = "emulator default"
        else:
            for var in ("CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT"):
                if environ.get(var):
                    data["project"] = environ[var]
                    sources["project"] = f"${var}"
                    break
            else:
                gc_name, gc = read_gcloud_config(environ)
                if "project" in gc:
                    data["project"] = gc["project"]
                    sources["project"] = f"gcloud config {gc_name!r} (core/project)"

    cfg = _build(data, sources, path)
    cfg.env_name = env_name
    cfg.environments = environments
    return cfg


def _source_for(sources: dict[str, str], key: str) -> str:
    label = sources.get(key)
    if label is None:
        label = next((v for k, v in sources.items() if k.startswith(key + ".")), SOURCE_DEFAULT)
    return "built-in default" if label == SOURCE_DEFAULT else label


def _check(sources: dict[str, str], key: str, fn: Callable[[Any], Any], value: Any) -> Any:
    try:
        return fn(value)
    except ValueError as exc:
        raise ConfigError(_source_for(sources, key), key, str(exc)) from None


def _typed(sources, key, value, kind: type | tuple[type, ...], what: str):
    ok = not (isinstance(value, bool) and kind is not bool) and isinstance(value, kind)
    if not ok:
        raise ConfigError(
            _source_for(sources, key), key, f"expected {what}, got {type(value).__name__} {value!r}"
        )
    return value


def _build(data: dict[str, Any], sources: dict[str, str], path: Path | None) -> Config:
    project = data.get("project")
    if project is not None:
        _typed(sources, "project", project, str, "a string")
        _check(sources, "project", v.check_project, project)
    region = _check(
        sources,
        "region",
        v.check_region,
        _typed(sources, "region", data["region"], str, "a string"),
    )
    service = _check(
        sources,
        "service",
        v.check_run_service,
        _typed(sources, "service", data["service"], str, "a string"),
    )
    apis_raw = _typed(sources, "apis", data["apis"], list, "a list of API names")
    apis = tuple(dict.fromkeys(_check(sources, "apis", v.check_api, a) for a in apis_raw))
    runtime = _check(
        sources, "runtime_service_account", v.check_service_account, data["runtime_service_account"]
    )
    scheduler = _check(
        sources,
        "scheduler_service_account",
        v.check_service_account,
        data["scheduler_service_account"],
    )

    secrets: dict[str, SecretSpec] = {}
    for name, s in data["secrets"].items():
        key = f"secrets.{name}"
        _check(sources, key, v.check_secret_id, name)
        env = s.get("env") or name.upper().replace("-", "_")
        _check(
            sources,
            f"{key}.env",
            v.check_env_var,
            _typed(sources, f"{key}.env", env, str, "a string"),
        )
        fmt = _typed(sources, f"{key}.format", s.get("format", "text"), str, "a string")
        if fmt not in SECRET_FORMATS:
            raise ConfigError(
                _source_for(sources, f"{key}.format"),
                f"{key}.format",
                f"{fmt!r} is not a secret format: one of {', '.join(SECRET_FORMATS)}",
            )
        default = s.get("default")
        if default is not None:
            _typed(sources, f"{key}.default", default, str, "a string")
        aliases = tuple(
            _check(sources, f"{key}.aliases", v.check_alias, a)
            for a in _typed(
                sources, f"{key}.aliases", s.get("aliases", []), list, "a list of alias names"
            )
        )
        secrets[name] = SecretSpec(
            name=name,
            env=env,
            description=_typed(
                sources, f"{key}.description", s.get("description", name), str, "a string"
            ),
            required=_typed(
                sources, f"{key}.required", s.get("required", True), bool, "true or false"
            ),
            default=default,
            format=fmt,
            aliases=aliases,
        )

    jobs: dict[str, JobSpec] = {}
    seen_ids: dict[str, str] = {}
    for name, j in data["jobs"].items():
        key = f"jobs.{name}"
        _check(sources, key, v.check_job_id, name)
        missing = [k for k in ("id", "schedule") if k not in j]
        if missing:
            raise ConfigError(
                _source_for(sources, key), key, f"missing required key {missing[0]!r}"
            )
        job_id = _check(sources, f"{key}.id", v.check_job_id, j["id"])
        if job_id in seen_ids:
            raise ConfigError(
                _source_for(sources, f"{key}.id"),
                f"{key}.id",
                f"job id {job_id!r} is also used by jobs.{seen_ids[job_id]}",
            )
        seen_ids[job_id] = name
        method = _check(sources, f"{key}.method", v.check_http_method, j.get("method", "POST"))
        body = _typed(sources, f"{key}.body", j.get("body", ""), str, "a string")
        if body and method not in v.BODY_METHODS:
            raise ConfigError(
                _source_for(sources, f"{key}.method"),
                f"{key}.method",
                f"{method} cannot send the job's body: a body is only allowed with "
                f'{", ".join(v.BODY_METHODS)} (use one of them, or set body = "")',
            )
        headers = _typed(
            sources, f"{key}.headers", j.get("headers", {}), dict, "a table of strings"
        )
        for hk, hv in headers.items():
            _typed(sources, f"{key}.headers.{hk}", hv, str, "a string")
        retry_count = _typed(
            sources, f"{key}.retry_count", j.get("retry_count", 0), int, "an integer"
        )
        if not 0 <= retry_count <= 5:
            raise ConfigError(
                _source_for(sources, f"{key}.retry_count"),
                f"{key}.retry_count",
                f"{retry_count} is out of range: retry_count must be between 0 and 5",
            )
        doublings = _typed(
            sources, f"{key}.max_doublings", j.get("max_doublings", 5), int, "an integer"
        )
        if not 0 <= doublings <= 16:
            raise ConfigError(
                _source_for(sources, f"{key}.max_doublings"),
                f"{key}.max_doublings",
                f"{doublings} is out of range: max_doublings must be between 0 and 16",
            )
        min_b = _check(sources, f"{key}.min_backoff", v.parse_duration, j.get("min_backoff", "5s"))
        max_b = _check(
            sources, f"{key}.max_backoff", v.parse_duration, j.get("max_backoff", "3600s")
        )
        if max_b < min_b:
            raise ConfigError(
                _source_for(sources, f"{key}.max_backoff"),
                f"{key}.max_backoff",
                "max_backoff must not be shorter than min_backoff",
            )
        jobs[name] = JobSpec(
            name=name,
            id=job_id,
            description=_typed(
                sources, f"{key}.description", j.get("description", ""), str, "a string"
            ),
            schedule=_check(sources, f"{key}.schedule", v.check_cron, j["schedule"]),
            time_zone=_check(
                sources, f"{key}.time_zone", v.check_time_zone, j.get("time_zone", "UTC")
            ),
            path=_check(sources, f"{key}.path", v.check_url_path, j.get("path", "/sync")),
            method=method,
            body=body,
            headers=dict(headers),
            attempt_deadline=_check(
                sources,
                f"{key}.attempt_deadline",
                lambda x: v.check_duration_range(x, 15, 1800),
                j.get("attempt_deadline", "180s"),
            ),
            retry=RetrySpec(
                retry_count=retry_count,
                min_backoff=min_b,
                max_backoff=max_b,
                max_doublings=doublings,
                max_retry_duration=_check(
                    sources,
                    f"{key}.max_retry_duration",
                    v.parse_duration,
                    j.get("max_retry_duration", 0),
                ),
            ),
        )

    return Config(
        project=project,
        region=region,
        service=service,
        apis=apis,
        runtime_service_account=runtime,
        scheduler_service_account=scheduler,
        secrets=secrets,
        jobs=jobs,
        config_file=path,
        sources=dict(sources),
        raw=data,
    )


def flatten(cfg: Config) -> list[tuple[str, Any, str]]:
    """(key, value, source) rows for `config show`, in a stable order."""
    rows: list[tuple[str, Any, str]] = []

    def walk(prefix: str, value: Any):
        if isinstance(value, dict) and not prefix.endswith("headers"):
            for k, sub in value.items():
                walk(f"{prefix}.{k}" if prefix else k, sub)
        else:
            rows.append((prefix, value, cfg.source_of(prefix)))

    walk("", cfg.raw)
    return rows


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value) if "'" in value or '"' not in value else "'" + value + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(x) for x in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in value.items()) + " }"
        )
    raise TypeError(type(value))


# What each key means: the comments of `config init` and the README's configuration reference.
TOP_DOCS = {
    "project": "Google Cloud project id (else $THOTHCTL_PROJECT, $CLOUDSDK_CORE_PROJECT, gcloud config, ADC)",
    "region": "region of the Cloud Run service",
    "service": "the existing Cloud Run service the jobs call (thothctl never deploys it)",
    "apis": "APIs `apis enable` and `init` turn on (short or full names)",
    "runtime_service_account": "account the service runs as: gets secretAccessor on each secret (an id or an email)",
    "scheduler_service_account": "account Cloud Scheduler signs OIDC tokens as: gets run.invoker on the service only",
}
_SECRET_COMMENTS = {
    "env": "environment variable: CI input for `secrets set --no-input`, and what `exec` sets",
    "description": "shown as the prompt",
    "required": "init fails without it (false: may be skipped)",
    "default": "offered at the prompt, used by init when the env var is unset",
    "format": "text | json (json is validated before upload)",
    "aliases": "version aliases `secrets rotate` moves: the first to the new version, the second to the previous",
}
_JOB_COMMENTS = {
    "id": "Cloud Scheduler job id",
    "description": "the job's description in Cloud Scheduler",
    "schedule": "unix cron, 5 fields",
    "time_zone": "IANA time zone",
    "path": "appended to the Cloud Run service URL",
    "method": "POST, PUT or PATCH to send a body; also GET, HEAD, DELETE, OPTIONS",
    "body": "request body (sent as is)",
    "headers": "extra request headers",
    "attempt_deadline": "15s .. 30m",
    "retry_count": "0 .. 5",
    "min_backoff": "first retry delay",
    "max_backoff": "longest retry delay",
    "max_doublings": "times the delay doubles before growing linearly",
    "max_retry_duration": "0s = unlimited",
}
SECRET_DOCS = _SECRET_COMMENTS
JOB_DOCS = _JOB_COMMENTS


def render_template(project: str | None = None) -> str:
    """A commented thothctl.toml holding the built-in defaults (what `config init` writes)."""
    d = DEFAULTS
    out = [
        "# thothctl configuration. Every value below is the built-in default: delete what you do",
        "# not change. Run `thothctl config show` to see the effective values and their sources.",
        "",
        "# Google Cloud project (else: $THOTHCTL_PROJECT, $CLOUDSDK_CORE_PROJECT, gcloud config).",
        f"project = {_toml_value(project)}" if project else '# project = "my-project"',
        f"region = {_toml_value(d['region'])}              # region of the Cloud Run service",
        f"service = {_toml_value(d['service'])}     # the existing Cloud Run service to schedule",
        "# APIs `thothctl apis enable` and `init` turn on (short or full names).",
        f"apis = {_toml_value(d['apis'])}",
        "# Account the service runs as: gets secretAccessor on each secret (never project-wide).",
        f"runtime_service_account = {_toml_value(d['runtime_service_account'])}",
        "# Account Cloud Scheduler signs OIDC tokens as: gets run.invoker on the service only.",
        f"scheduler_service_account = {_toml_value(d['scheduler_service_account'])}",
    ]
    for name, spec in d["secrets"].items():
        out += ["", f"[secrets.{name}]"]
        for k, val in spec.items():
            note = _SECRET_COMMENTS.get(k)
            out.append(f"{k} = {_toml_value(val)}" + (f"  # {note}" if note else ""))
    out += ['# aliases = ["current", "previous"]  # version aliases moved by `secrets rotate`']
    for name, spec in d["jobs"].items():
        out += ["", f"[jobs.{name}]"]
        for k, val in spec.items():
            note = _JOB_COMMENTS.get(k)
            out.append(f"{k} = {_toml_value(val)}" + (f"  # {note}" if note else ""))
    out += [
        "",
        "# Named environments override any key above; select one with --env NAME.",
        "# [env.prod]",
        '# project = "thoth-prod"',
        "# [env.prod.jobs.daily-sync]",
        '# schedule = "0 3 * * *"',
        "",
    ]
    return "\n".join(out)
