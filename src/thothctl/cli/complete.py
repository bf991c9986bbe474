"""Shell completion values, answered from the configuration alone.

Completing a secret name, a job, an environment or an API must feel instant, so every provider
here reads only ``thothctl.toml`` (or ``--config``/``$THOTHCTL_CONFIG``) and the built-in defaults:
no network, no credentials, no ``google.*`` import.

Two ways in:

* typer's own completion protocol (``thothctl --install-completion``): the ``complete_*``
  functions below are ``autocompletion=`` providers for typer parameters.
* the generated scripts in ``completions/`` (bash, zsh, fish) complete commands and options from
  a static tree embedded in the script, and run the hidden command ``thothctl __complete KIND``
  only for values that live in the config. It prints one candidate per line, optionally followed
  by a TAB and a short description, and never fails (a broken config prints the defaults, or
  nothing).

Which argument gets which kind: ``PARAM_KINDS`` is the table the script generator uses for
parameters that have no ``autocompletion=`` yet; a provider attached with ``autocompletion=``
wins (each provider carries its kind in ``thothctl_kind``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import typer

# kind -> what it completes (also the help of `thothctl __complete`).
KINDS: dict[str, str] = {
    "secret": "secret names from the config",
    "job": "job short names and job ids from the config",
    "env": "environment names ([env.NAME]) from the config file",
    "api": "API names from the config",
    "output": "--output formats",
}

# (command group or "*", parameter name) -> kind, for parameters not yet wired with a provider.
# "file" means: complete file names.
PARAM_KINDS: dict[tuple[str, str], str] = {
    ("secrets", "name"): "secret",
    ("secrets", "names"): "secret",
    ("secrets", "secret"): "secret",
    ("exec", "only"): "secret",
    ("jobs", "name"): "job",
    ("jobs", "names"): "job",
    ("jobs", "job"): "job",
    ("jobs", "jobs"): "job",
    ("*", "job"): "job",
    ("apis", "names"): "api",
    ("apis", "name"): "api",
    ("*", "env"): "env",
    ("*", "config"): "file",
    ("*", "from_file"): "file",
    ("*", "path"): "file",
    ("*", "data"): "file",
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


# --- typer autocompletion providers ----------------------------------------------------------


def _root_value(ctx: Any, name: str) -> str | None:
    try:
        value = ctx.find_root().params.get(name)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def _provider(kind: str) -> Callable[[typer.Context, str], list[tuple[str, str]]]:
    def provide(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
        pairs = candidates(kind, _root_value(ctx, "config"), _root_value(ctx, "env"))
        return [(v, d) for v, d in pairs if v.startswith(incomplete or "")]

    provide.__name__ = f"complete_{kind}"
    provide.__doc__ = f"Complete {KINDS[kind]} (config only, no network)."
    provide.thothctl_kind = kind  # type: ignore[attr-defined]
    return provide


complete_secret_name = _provider("secret")
complete_job_name = _provider("job")
complete_env_name = _provider("env")
complete_api_name = _provider("api")
complete_output = _provider("output")


def kind_of_provider(fn: Any) -> str | None:
    """The kind of a provider attached with ``autocompletion=`` (None for foreign callables)."""
    while fn is not None:
        kind = getattr(fn, "thothctl_kind", None)
        if kind:
            return kind
        fn = getattr(fn, "__wrapped__", None)
    return None


# --- the hidden command the shell scripts call -----------------------------------------------


def complete_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="What to complete: " + ", ".join(KINDS) + "."),
    incomplete: str = typer.Argument("", help="Only print candidates starting with this."),
) -> None:
    """Print completion candidates from the config (used by the shell completion scripts).

    One candidate per line, then a TAB and a description. Reads only the config file
    (--config, $THOTHCTL_CONFIG or ./thothctl.toml) and --env; never calls Google.

    Example: thothctl __complete secret --config thothctl.toml
    """
    import sys

    root = ctx.find_root().obj
    opts = getattr(root, "opts", None)
    pairs = candidates(kind, getattr(opts, "config", None), getattr(opts, "env", None))
    lines = [f"{v}\t{d}" if d else v for v, d in pairs if v.startswith(incomplete)]
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")


def register_complete_command(app: typer.Typer) -> None:
    """Add the hidden ``__complete`` command to the root app."""
    app.command("__complete", hidden=True, add_help_option=True)(complete_command)
