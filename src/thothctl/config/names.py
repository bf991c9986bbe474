"""The names shell completion offers, from the configuration alone: secret names, job names and
ids, environment names, API names, output formats.

Used on every TAB press, so it reads only ``thothctl.toml`` (or ``--config``/``$THOTHCTL_CONFIG``)
and the built-in defaults: no network, no credentials, no ``google.*`` and no typer import.
``python -m thothctl __complete KIND`` answers through here without building the CLI at all
(``thothctl.__main__``); ``thothctl.cli.complete`` serves the same answers to typer.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The config modules load on the first TAB press, not when the CLI imports KINDS for its help.

# kind -> what it completes (also the help of `thothctl __complete`).
KINDS: dict[str, str] = {
    "secret": "secret names from the config",
    "job": "job short names and job ids from the config",
    "env": "environment names ([env.NAME]) from the config file",
    "api": "API names from the config",
    "output": "--output formats",
}
OUTPUT_FORMATS = [("table", "rich table on a terminal, plain rows in a pipe"), ("json", "JSON")]
_NOTHING: dict[str, Any] = {"secrets": {}, "jobs": {}, "apis": [], "envs": []}


def _found(secrets: Mapping, jobs: Mapping, apis: Sequence, envs: Sequence) -> dict[str, Any]:
    """{"secrets": {name: description}, "jobs": {name: (id or None, description)}, "apis",
    "envs"} from items with every key of the field table (as loaded, or filled in)."""
    return {
        "secrets": {name: str(s["description"]) for name, s in secrets.items()},
        "jobs": {
            name: (str(j["id"]) if "id" in j else None, str(j["description"]))
            for name, j in jobs.items()
        },
        "apis": [str(a) for a in apis],
        "envs": list(envs),
    }


def _tolerant(config_path: str | None, env_name: str | None) -> dict[str, Any]:
    """When the config does not load (say, mid-edit): the items its TOML tables name, laid over
    the built-in ones and filled in with the field table's defaults (a job without an id offers
    only its name)."""
    from thothctl.config.load import CONFIG_FILENAME, read_toml
    from thothctl.config.schema import DEFAULTS, TABLES, fill_defaults

    path = Path(config_path).expanduser() if config_path else Path.cwd() / CONFIG_FILENAME
    try:
        data = read_toml(path) if path.is_file() else {}
    except Exception:
        data = {}
    env_tables = data.get("env") if isinstance(data.get("env"), dict) else {}
    layers = [data]
    if env_name and isinstance(env_tables.get(env_name), dict):
        layers.append(env_tables[env_name])
    items = {t.name: copy.deepcopy(DEFAULTS[t.name]) for t in TABLES}
    apis = DEFAULTS["apis"]
    for layer in layers:
        for table in TABLES:
            named = layer.get(table.name)
            for name, spec in named.items() if isinstance(named, dict) else ():
                if isinstance(spec, dict):
                    items[table.name].setdefault(name, {}).update(spec)
        if isinstance(layer.get("apis"), list):
            apis = layer["apis"]
    filled = {
        t.name: {name: fill_defaults(t, name, item) for name, item in items[t.name].items()}
        for t in TABLES
    }
    envs = [k for k, val in env_tables.items() if isinstance(val, dict)]
    return _found(filled["secrets"], filled["jobs"], apis, envs)


def config_candidates(
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Names the config knows: {"secrets": {name: description}, "jobs": {name: (id,
    description)}, "apis": [...], "envs": [...]}. Never raises."""
    from thothctl.config.load import load_config

    environ = os.environ if environ is None else environ
    config_path = config_path or environ.get("THOTHCTL_CONFIG") or None
    env_name = env_name or environ.get("THOTHCTL_ENV") or None
    try:
        # emulator=True: skip reading gcloud's files; only project/region depend on them.
        cfg = load_config(config_path=config_path, env_name=env_name, environ={}, emulator=True)
        raw = cfg.raw
        return _found(raw["secrets"], raw["jobs"], cfg.apis, cfg.environments)
    except Exception:
        pass
    try:
        return _tolerant(config_path, env_name)
    except Exception:
        return copy.deepcopy(_NOTHING)


def candidates(
    kind: str,
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(value, description) pairs for one kind. Unknown kinds give an empty list."""
    if kind == "output":
        return list(OUTPUT_FORMATS)
    if kind not in KINDS:
        return []
    found = config_candidates(config_path, env_name, environ)
    if kind == "secret":
        return list(found["secrets"].items())
    if kind == "job":
        jobs = found["jobs"]
        pairs = [(name, desc) for name, (_id, desc) in jobs.items()]
        pairs += [
            (job_id, f"job id of {name}")
            for name, (job_id, _d) in jobs.items()
            if job_id and job_id != name
        ]
        return pairs
    if kind == "env":
        return [(name, "environment") for name in found["envs"]]
    return [(name, "configured API") for name in found["apis"]]


def completion_lines(
    kind: str,
    incomplete: str = "",
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """What ``thothctl __complete KIND [INCOMPLETE]`` prints: one candidate starting with
    ``incomplete`` a line, then a TAB and its description when it has one."""
    pairs = candidates(kind, config_path, env_name, environ)
    return [f"{val}\t{desc}" if desc else val for val, desc in pairs if val.startswith(incomplete)]
