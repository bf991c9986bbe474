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
  nothing). ``thothctl.__main__`` answers ``thothctl __complete ...`` straight from
  ``thothctl.config.names`` without building the typer app (a TAB costs ~60 ms instead of ~240);
  the typer command below serves the same request when global options come first, and --help.

Which argument gets which kind: ``PARAM_KINDS`` is the table the script generator uses for
parameters that have no ``autocompletion=`` yet; a provider attached with ``autocompletion=``
wins (each provider carries its kind in ``thothctl_kind``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import typer

from thothctl.cli.context import get_ctx
from thothctl.config.names import KINDS, candidates, completion_lines

__all__ = [
    "KINDS",
    "PARAM_KINDS",
    "complete_api_name",
    "complete_env_name",
    "complete_job_name",
    "complete_output",
    "complete_secret_name",
    "kind_of_provider",
    "register_complete_command",
]

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
    app_ctx = get_ctx(ctx)
    for line in completion_lines(kind, incomplete, app_ctx.opts.config, app_ctx.opts.env):
        app_ctx.out.line(line)


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_command(
    ctx: typer.Context,
    shell: Shell = typer.Argument(..., help="bash, zsh or fish.", case_sensitive=False),
    install: bool = typer.Option(
        False, "--install", help="Write it where the shell loads completions, and say what is left."
    ),
) -> None:
    """Print the shell completion script, or install it with --install.

    The script completes commands and options without starting Python, and secret, job,
    environment and API names from thothctl.toml. It is the same text as the repository's
    completions/ directory, shipped inside the package, so it works after pip or pipx install.
    Bash: --install writes it to bash-completion's user directory, which needs the
    bash-completion package; without it, source the file from ~/.bashrc.

    Examples:
      thothctl completion bash --install
      source <(thothctl completion bash)
      thothctl completion zsh > ~/.zfunc/_thothctl
      thothctl completion fish --install
    """
    from thothctl import completions

    out = get_ctx(ctx).out
    if not install:
        out.raw(completions.script(shell.value))
        return
    done = completions.install(shell.value)

    def human() -> None:
        out.success(f"Wrote the {shell.value} completion script to {done.path}.")
        for step in done.steps:
            out.info(step)

    out.emit(done.to_json(), human)


def register_complete_command(app: typer.Typer) -> None:
    """Add ``completion`` and the hidden ``__complete`` command to the root app."""
    app.command("completion", rich_help_panel="Setup")(completion_command)
    app.command("__complete", hidden=True, add_help_option=True)(complete_command)
