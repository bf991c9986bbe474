"""Completion candidates from the configuration alone: secret names, job names and ids,
environment names, API names, output formats.

Used on every TAB press, so it reads only ``thothctl.toml`` (or ``--config``/``$THOTHCTL_CONFIG``)
and the built-in defaults: no network, no credentials, no ``google.*`` and no typer import.
``python -m thothctl __complete KIND`` answers through here without building the CLI at all
(see ``thothctl.__main__``); ``thothctl.cli.complete`` wraps the same functions for typer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# kind -> what it completes (also the help of `thothctl __complete`).
KINDS: dict[str, str] = {
    "secret": "secret names from the config",
    "job": "job short names and job ids from the config",
    "env": "environment names ([env.NAME]) from the config file",
    "api": "API names from the config",
    "output": "--output formats",
}

# --- reading the config, tolerantly -----------------------------------------------------------


def _raw_candidates(config_path: str | None, env_name: str | None) -> dict[str, Any]:
    """Fallback when the config does not validate (say, mid-edit): the names in the TOML tables."""
    from thothctl.config import CONFIG_FILENAME, DEFAULTS, read_toml

    secrets = {k: v.get("description", "") for k, v in DEFAULTS["secrets"].items()}
    jobs = {k: (v["id"], v.get("description", "")) for k, v in DEFAULTS["jobs"].items()}
    apis = list(DEFAULTS["apis"])
    envs: list[str] = []
    path = Path(config_path).expanduser() if config_path else Path.cwd() / CONFIG_FILENAME
    try:
        data = read_toml(path) if path.is_file() else {}
    except Exception:
        data = {}
    tables = [data]
    env_tables = data.get("env") if isinstance(data.get("env"), dict) else {}
    envs = [k for k, v in env_tables.items() if isinstance(v, dict)]
    if env_name and isinstance(env_tables.get(env_name), dict):
        tables.append(env_tables[env_name])
    for table in tables:
        for name, spec in (table.get("secrets") or {}).items():
            if isinstance(spec, dict):
                secrets[name] = str(spec.get("description", secrets.get(name, "")))
        for name, spec in (table.get("jobs") or {}).items():
            if isinstance(spec, dict):
                old = jobs.get(name, (f"thoth-{name}", ""))
                jobs[name] = (str(spec.get("id", old[0])), str(spec.get("description", old[1])))
        if isinstance(table.get("apis"), list):
            apis = [str(a) for a in table["apis"]]
    return {"secrets": secrets, "jobs": jobs, "apis": apis, "envs": envs}


def config_candidates(
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Names the config knows: {"secrets": {name: description}, "jobs": {name: (id, description)},
    "apis": [...], "envs": [...]}. Never raises."""
    from thothctl.config import load_config

    environ = os.environ if environ is None else environ
    config_path = config_path or environ.get("THOTHCTL_CONFIG") or None
    env_name = env_name or environ.get("THOTHCTL_ENV") or None
    try:
        # emulator=True: skip reading gcloud's files; only project/region depend on them.
        cfg = load_config(config_path=config_path, env_name=env_name, environ={}, emulator=True)
        return {
            "secrets": {s.name: s.description for s in cfg.secrets.values()},
            "jobs": {j.name: (j.id, j.description) for j in cfg.jobs.values()},
            "apis": list(cfg.apis),
            "envs": list(cfg.environments),
        }
    except Exception:
        pass
    try:
        return _raw_candidates(config_path, env_name)
    except Exception:
        return {"secrets": {}, "jobs": {}, "apis": [], "envs": []}


def candidates(
    kind: str,
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(value, description) pairs for one kind. Unknown kinds give an empty list."""
    if kind == "output":
        return [("table", "rich table on a terminal, plain rows in a pipe"), ("json", "JSON")]
    if kind not in KINDS:
        return []
    found = config_candidates(config_path, env_name, environ)
    if kind == "secret":
        return list(found["secrets"].items())
    if kind == "job":
        jobs = found["jobs"]
        pairs = [(name, desc) for name, (_id, desc) in jobs.items()]
        pairs += [
            (job_id, f"job id of {name}") for name, (job_id, _d) in jobs.items() if job_id != name
        ]
        return pairs
    if kind == "env":
        return [(name, "environment") for name in found["envs"]]
    if kind == "api":
        return [(name, "configured API") for name in found["apis"]]
    return []


def answer(args: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str] | None:
    """Lines for ``__complete KIND [INCOMPLETE] [--config PATH] [--env NAME]``, each a value and,
    after a TAB, a description; None when the arguments need the full CLI (e.g. --help)."""
    positional: list[str] = []
    config_path = env_name = None
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in ("--config", "-c", "--env", "-e"):
            value = value if eq else next(it, "")
            if name in ("--config", "-c"):
                config_path = value
            else:
                env_name = value
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            positional.append(arg)
    if not 1 <= len(positional) <= 2:
        return None
    kind, incomplete = positional[0], (positional[1] if len(positional) == 2 else "")
    return format_lines(candidates(kind, config_path, env_name, environ), incomplete)


def format_lines(pairs: Sequence[tuple[str, str]], incomplete: str = "") -> list[str]:
    return [f"{v}\t{d}" if d else v for v, d in pairs if v.startswith(incomplete)]
