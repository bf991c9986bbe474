"""Loading the configuration: the built-in Thoth defaults, ``thothctl.toml``, named environments,
env vars, flags, and where every value came from; then one generic check of every value against
the field table (``thothctl.config.schema``).

Precedence, lowest first: built-in defaults < the gcloud configuration file < thothctl.toml <
``[env.NAME]`` < environment variables < flags. The project resolves as ``--project`` >
``THOTHCTL_PROJECT`` > config > ``CLOUDSDK_CORE_PROJECT``/``GOOGLE_CLOUD_PROJECT`` > the active
gcloud configuration > the ADC project (emulator mode: ``thoth-local`` instead of the last three;
the ADC step lives in ``thothctl.cli.context``, since it needs credentials).
"""

from __future__ import annotations

import configparser
import copy
import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from thothctl import suggest
from thothctl import validate as v
from thothctl.config.schema import (
    DEFAULTS,
    ENV_OVERRIDES,
    REQUIRED,
    SOURCE_DEFAULT,
    TABLES,
    TOP_FIELDS,
    TOP_KEYS,
    VALUE_TYPES,
    Config,
    Field,
    Table,
    fill_defaults,
)
from thothctl.errors import AuthError, ConfigError, UsageError

CONFIG_FILENAME = "thothctl.toml"
ENV_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,63}")
EMULATOR_PROJECT = "thoth-local"
_TABLES = {t.name: t for t in TABLES}

# --- reading the layers -----------------------------------------------------------------------


def find_config_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """``explicit`` (--config or $THOTHCTL_CONFIG: any readable non-directory, so a pipe such
    as ``<(...)`` works too), else ./thothctl.toml if there is one."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.exists() or path.is_dir():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise UsageError(
                f"config file {explicit} {what}",
                hint="run `thothctl config init` to write one, or fix --config/THOTHCTL_CONFIG",
            )
        return path
    candidate = (cwd or Path.cwd()) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


# Byte-order marks of encodings TOML does not allow (a TOML file is UTF-8).
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


def decode_toml(raw: bytes, label: str) -> str:
    """A TOML file's text: UTF-8 (a leading UTF-8 byte-order mark, as Windows editors write, is
    dropped). Any other encoding is a ConfigError naming where the first bad byte is."""
    for bom, name in _FOREIGN_BOMS:
        if raw.startswith(bom):
            raise ConfigError(
                label,
                "",
                f"the file is {name} (it starts with a {name} byte-order mark): TOML files are "
                "UTF-8",
                hint=f"save it as UTF-8, e.g. `iconv -f {name} -t UTF-8 FILE > NEW`",
            )
    raw = raw.removeprefix(_UTF8_BOM)
    where = None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        where = (exc.start, line, column, raw[exc.start])
    raise ConfigError(
        label,
        "",
        f"the file is not UTF-8: byte 0x{where[3]:02x} at line {where[1]}, column {where[2]} "
        "(Latin-1 or Windows-1252?); TOML files are UTF-8",
        hint="save it as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8 FILE > NEW`",
    )


def read_toml(path: Path, label: str | None = None) -> dict[str, Any]:
    import tomllib

    label = label or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(label, "", f"cannot read the file: {exc.strerror}") from None
    text = decode_toml(raw, label)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(label, "", f"invalid TOML: {exc}") from None


# Environment variables thothctl reads whose empty value is refused: "set but empty" is never
# read as "not set" (gcloud's CLOUDSDK_CONFIG and CLOUDSDK_ACTIVE_CONFIG_NAME keep gcloud's
# meaning: empty is unset).
CONFIG_ENV_VARS = ("THOTHCTL_CONFIG", "THOTHCTL_ENV", *ENV_OVERRIDES.values())


# Read by the CLI's context and the client factory (GOOGLE_*: by google-auth, for real Google).
CLIENT_ENV_VARS = (
    "THOTHCTL_EMULATOR_HOST",
    "THOTHCTL_EMULATOR_DATA",
    "THOTHCTL_QUOTA_PROJECT",
    "THOTHCTL_IMPERSONATE_SERVICE_ACCOUNT",
    "THOTHCTL_OUTPUT",
    "THOTHCTL_TRANSPORT",
    "THOTHCTL_NO_INPUT",
    "THOTHCTL_EMULATOR",
    "THOTHCTL_RETRY_DEADLINE",
)
GOOGLE_ENV_VARS = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_QUOTA_PROJECT")


def refuse_empty_inputs(
    options: Mapping[str, str | None], environ: Mapping[str, str], *, emulated: bool
) -> None:
    """The CLI's own options and variables (the config's are checked by :func:`load_config`):
    none explicitly empty (Google's only when they would be read: not against the emulator),
    and the ones that name something in their form (an account to impersonate, a quota
    project)."""
    refuse_empty(options, environ, CLIENT_ENV_VARS)
    if not emulated:
        refuse_empty({}, environ, GOOGLE_ENV_VARS)
        check_credentials_file(environ.get("GOOGLE_APPLICATION_CREDENTIALS"))
    account = options.get("--impersonate-service-account")
    var = "THOTHCTL_IMPERSONATE_SERVICE_ACCOUNT"  # click reads it into the option
    checks = [
        (
            f"${var}"
            if account and environ.get(var) == account
            else "--impersonate-service-account",
            account or environ.get(var),
            v.check_service_account_email,
        ),
        ("$THOTHCTL_QUOTA_PROJECT", environ.get("THOTHCTL_QUOTA_PROJECT"), v.check_project),
    ]
    for name, value, check in checks:
        _checked_input(name, value, check)


def _key_file_problem(path: Path) -> str | None:
    """Why the file at ``path`` is not a credentials file (None: it may be one). Never says
    anything of the content, and no exception holding it outlives this function."""
    if path.is_dir():
        return "it is a directory"
    if not path.exists():  # google-auth's own "no credentials" (see thothctl.clients)
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    import json

    kind = None
    try:
        data = json.loads(raw.decode("utf-8"))
        kind = data.get("type") if isinstance(data, dict) else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        pass
    return None if isinstance(kind, str) else 'it is not a JSON credentials file (no "type")'


def check_credentials_file(path: str | None) -> None:
    """$GOOGLE_APPLICATION_CREDENTIALS, when set to something that exists, is a JSON
    credentials file: a directory (a traceback in google-auth) or another file is an AuthError
    (exit 4) saying what is wrong with it, not "no credentials found"."""
    why = _key_file_problem(Path(path)) if path else None
    if why is not None:
        raise AuthError(
            f"$GOOGLE_APPLICATION_CREDENTIALS is {path}, but {why}",
            hint="point it at a service account or ADC JSON file, or unset it and run "
            "`gcloud auth application-default login`",
        )


def _checked_input(name: str, value: str | None, check: Any) -> None:
    why = None
    if value is not None:
        try:
            check(value)
        except ValueError as exc:
            why = str(exc)
    if why is not None:
        raise UsageError(f"{name}: {why}", hint="nothing was changed")


def emulator_host(environ: Mapping[str, str]) -> str | None:
    """$THOTHCTL_EMULATOR_HOST, checked: None when unset; set but empty, or not HOST:PORT, is a
    UsageError (an empty one never means "real Google")."""
    refuse_empty({}, environ, ["THOTHCTL_EMULATOR_HOST"])
    value = environ.get("THOTHCTL_EMULATOR_HOST")
    _checked_input("$THOTHCTL_EMULATOR_HOST", value, v.check_host_port)
    return value


def refuse_empty(
    options: Mapping[str, str | None], environ: Mapping[str, str], variables: Iterable[str]
) -> None:
    """UsageError for an option given as "" (or blanks) or a variable set to "": an explicitly
    empty value is an error, never a fall-through to the next source."""
    for flag, value in options.items():
        if value is not None and not value.strip():
            raise UsageError(
                f"{flag} is empty: give it a value, or leave the option out",
                hint="an empty value is never read as 'not given'; nothing was changed",
            )
    for var in variables:
        if var in environ and not environ[var].strip():
            raise UsageError(
                f"${var} is set but empty: give it a value, or unset it (`unset {var}`)",
                hint="an empty variable is never read as 'not set'; nothing was changed",
            )


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
                if not ENV_NAME_RE.fullmatch(env_name):
                    raise ConfigError(
                        source,
                        f"env.{v.show(env_name)}",
                        "an environment's name is letters, digits, '.', '_' or '-' (e.g. prod)",
                    )
                if not isinstance(env_data, dict):
                    raise ConfigError(source, f"env.{env_name}", "expected a table")
                _check_shape(env_data, source, f"env.{env_name}.", in_env=True)
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(source, path, f"expected a table ([{key}.NAME])")
            for item, item_data in value.items():
                if not isinstance(item_data, dict):
                    raise ConfigError(source, f"{path}.{item}", "expected a table")
                for sub in item_data:
                    if sub not in _TABLES[key].keys:
                        raise _unknown_key(source, f"{path}.{item}.{sub}", _TABLES[key].keys)


def _merge(data: dict[str, Any], over: Mapping[str, Any], sources: dict[str, str], label: str):
    """Lay ``over`` (a checked TOML layer) on ``data``, key by key, noting each key's source."""
    for key, value in over.items():
        if key not in _TABLES:
            data[key] = copy.deepcopy(value)
            sources[key] = label
            continue
        for item, fields in value.items():
            target = data[key].setdefault(item, {})
            for sub, sub_value in fields.items():
                target[sub] = copy.deepcopy(sub_value)
                sources[f"{key}.{item}.{sub}"] = label


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
            name = (base / "active_config").read_text(encoding="utf-8").strip() or "default"
        except (OSError, UnicodeDecodeError):
            name = "default"
    path = base / "configurations" / f"config_{name}"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        why = "it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "it does not parse"
        raise ConfigError(
            str(path),
            "",
            f"cannot read gcloud's configuration {name!r}: {why}",
            hint="fix it with `gcloud config configurations describe "
            f"{name}`, or point CLOUDSDK_CONFIG elsewhere",
        ) from None
    found: dict[str, str] = {}
    if parser.has_option("core", "project"):
        found["project"] = parser.get("core", "project").strip()
    if parser.has_option("run", "region"):
        found["region"] = parser.get("run", "region").strip()
    return name, {k: val for k, val in found.items() if val}


def _apply_file(
    data: dict[str, Any], sources: dict[str, str], path: Path, env_name: str | None, cwd: Path
) -> tuple[tuple[str, ...], bool]:
    """Merge the config file and its ``[env.NAME]``; (environment names, file set the project)."""
    label = path.name if path.parent == cwd else str(path)
    file_data = read_toml(path, label)
    _check_shape(file_data, label)
    env_tables = file_data.pop("env", {})
    environments = tuple(env_tables)
    _merge(data, file_data, sources, label)
    project_from_file = "project" in file_data
    if env_name:
        if env_name not in env_tables:
            message, hint = suggest.unknown("environment", env_name, environments)
            raise UsageError(
                message.replace(":", f" in {label}:", 1),
                hint=hint or f"define it as [env.{env_name}] in {label}",
            )
        _merge(data, env_tables[env_name], sources, f"{label} [env.{env_name}]")
        project_from_file = project_from_file or "project" in env_tables[env_name]
    return environments, project_from_file


def _resolve_project(
    data: dict[str, Any], sources: dict[str, str], environ: Mapping[str, str], emulator: bool
) -> None:
    """The project's sources below the config file: the emulator's, $CLOUDSDK_CORE_PROJECT,
    $GOOGLE_CLOUD_PROJECT, then the active gcloud configuration."""
    data["project"] = None
    sources.pop("project", None)
    if emulator:
        data["project"] = EMULATOR_PROJECT
        sources["project"] = "emulator default"
        return
    for var in ("CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        refuse_empty({}, environ, [var])  # gcloud too refuses an empty project property
        if environ.get(var):
            data["project"] = environ[var]
            sources["project"] = f"${var}"
            return
    gc_name, gc = read_gcloud_config(environ)
    if "project" in gc:
        data["project"] = gc["project"]
        sources["project"] = f"gcloud config {gc_name!r} (core/project)"


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
    cwd = cwd or Path.cwd()
    given = {"--config": config_path, "--env": env_name}
    refuse_empty({**given, **{f"--{k}": val for k, val in (flags or {}).items()}}, {}, ())
    refuse_empty({}, environ, CONFIG_ENV_VARS)
    config_path = config_path if config_path is not None else environ.get("THOTHCTL_CONFIG")
    env_name = env_name if env_name is not None else environ.get("THOTHCTL_ENV")
    data = copy.deepcopy(DEFAULTS)
    sources: dict[str, str] = {}
    if not emulator:  # gcloud's own configuration (real projects only)
        gc_name, gc = read_gcloud_config(environ)
        if "region" in gc:
            data["region"] = gc["region"]
            sources["region"] = f"gcloud config {gc_name!r} (run/region)"
    path = find_config_file(config_path, cwd)
    environments: tuple[str, ...] = ()
    project_from_file = False
    if path is not None:
        environments, project_from_file = _apply_file(data, sources, path, env_name, cwd)
    elif env_name:
        raise UsageError(
            f"--env {env_name} needs a config file with [env.{env_name}], and none was found",
            hint="run `thothctl config init` or pass --config",
        )
    for key, var in ENV_OVERRIDES.items():
        if var in environ:
            data[key] = environ[var]
            sources[key] = f"${var}"
    for key, value in (flags or {}).items():
        if value is not None:
            data[key] = value
            sources[key] = f"--{key}"
    if not (project_from_file or "project" in sources):
        _resolve_project(data, sources, environ, emulator)
    cfg = build(data, sources, path)
    cfg.env_name = env_name
    cfg.environments = environments
    return cfg


# --- checking every value against the field table ---------------------------------------------


def _source_for(sources: dict[str, str], key: str) -> str:
    """Where the value at ``key`` came from: its own source, else the nearest enclosing key's
    (``jobs.x.headers.H`` -> ``jobs.x.headers``), else a key written inside it."""
    label, parent = sources.get(key), key
    while label is None and "." in parent:
        parent = parent.rsplit(".", 1)[0]
        label = sources.get(parent)
    if label is None:
        label = next((v for k, v in sources.items() if k.startswith(key + ".")), SOURCE_DEFAULT)
    return "built-in default" if label == SOURCE_DEFAULT else label


def _error(sources: dict[str, str], key: str, rule: str) -> ConfigError:
    return ConfigError(_source_for(sources, key), key, rule)


def _has_type(value: Any, kind: type) -> bool:
    return not (isinstance(value, bool) and kind is not bool) and isinstance(value, kind)


def _convert(f: Field, value: Any, key: str, sources: dict[str, str]) -> Any:
    """The value in Python terms: a tuple for a list, seconds for a duration, checked."""
    if f.kind == "list":
        items = [f.check(x) if f.check else x for x in value]
        return tuple(dict.fromkeys(items)) if f.dedupe else tuple(items)
    if f.kind == "table":
        for sub, sub_value in value.items():
            if not isinstance(sub_value, str):
                raise _error(
                    sources,
                    f"{key}.{sub}",
                    f"expected a string, got {type(sub_value).__name__} {v.show(sub_value)}",
                )
        return f.check(dict(value)) if f.check else dict(value)
    if f.kind == "duration":
        value = v.parse_duration(value)
    return f.check(value) if f.check else value


def check_value(f: Field, value: Any, key: str, sources: dict[str, str]) -> Any:
    """One value checked against its field (type, check, range, choices) and converted.
    Raises ConfigError naming the value's source, the key and the rule."""
    if value is None and f.default is None:
        return None  # an optional key left unset
    expected_type = VALUE_TYPES[f.kind][0]
    if expected_type is not None and not _has_type(value, expected_type):
        got = f"{type(value).__name__} {v.show(value)}"
        raise _error(sources, key, f"expected {f.expected}, got {got}")
    try:
        result = _convert(f, value, key, sources)
    except ValueError as exc:
        raise _error(sources, key, str(exc)) from None
    if f.range and not f.range[0] <= result <= f.range[1]:
        low, high = (f.bound(b) for b in f.range)
        rule = f"{v.show(value)} is out of range: {f.key} must be between {low} and {high}"
        raise _error(sources, key, rule)
    if f.choices and result not in f.choices:
        rule = f"{v.show(value)} is not a {f.noun}: one of {', '.join(f.choices)}"
        raise _error(sources, key, rule)
    return result


def _check_item(
    table: Table, name: str, item: Mapping[str, Any], sources: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the item with every key filled in, its checked values) for ``[TABLE.NAME]``."""
    prefix = f"{table.name}.{name}"
    try:
        table.check_name(name)
    except ValueError as exc:
        raise _error(sources, prefix, str(exc)) from None
    filled = fill_defaults(table, name, item)
    missing = [f.key for f in table.fields if f.default is REQUIRED and f.key not in filled]
    if missing:
        raise _error(sources, prefix, f"missing required key {missing[0]!r}")
    values = {
        f.key: check_value(f, filled[f.key], f"{prefix}.{f.key}", sources) for f in table.fields
    }
    for rule in table.rules:
        if rule.broken(values):
            raise _error(sources, f"{prefix}.{rule.key}", rule.message(values))
    return filled, values


def _clash(
    table: Table, key: str, names: tuple[str, str], value: Any, sources: dict[str, str]
) -> ConfigError:
    """Two items share a value that must be unique: blame the one the user wrote (a built-in
    item keeps its value unless the file changed it)."""
    name, other = names
    if f"{table.name}.{name}.{key}" not in sources and f"{table.name}.{other}.{key}" in sources:
        name, other = other, name
    noun = table.field(key).noun
    rule = f"{noun} {v.show(value)} is also used by {table.name}.{other}"
    return _error(sources, f"{table.name}.{name}.{key}", rule)


def _build_table(table: Table, data: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
    """Every item of one table as its typed spec; fills ``data`` in, for ``config show``."""
    specs: dict[str, Any] = {}
    seen: dict[tuple[str, Any], str] = {}
    for name, item in list(data[table.name].items()):
        filled, values = _check_item(table, name, item, sources)
        data[table.name][name] = filled
        for f in table.fields:
            other = seen.setdefault((f.key, values[f.key]), name) if f.unique else name
            if other != name:
                raise _clash(table, f.key, (name, other), values[f.key], sources)
        specs[name] = table.build(name, values)
    return specs


def build(data: dict[str, Any], sources: dict[str, str], path: Path | None) -> Config:
    """The typed Config from merged TOML-shaped data, every value checked by its field."""
    top = {f.key: check_value(f, data.get(f.key), f.key, sources) for f in TOP_FIELDS}
    tables = {t.name: _build_table(t, data, sources) for t in TABLES}
    return Config(**top, **tables, config_file=path, sources=dict(sources), raw=data)
