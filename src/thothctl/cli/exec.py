"""`thothctl exec -- CMD ARGS...`: run a command with the configured secrets in its environment."""

from __future__ import annotations

import os

import typer

from thothctl import validate
from thothctl.cli.complete import complete_secret_name
from thothctl.cli.context import get_ctx
from thothctl.errors import ThothError, UsageError
from thothctl.lazy import lazy

lib = lazy("thothctl.secrets.resolve")

# Replaced in tests; os.execvpe replaces this process with the command.
EXECVPE = os.execvpe


def exec_command(
    ctx: typer.Context,
    command: list[str] = typer.Argument(
        None, metavar="-- CMD [ARGS]...", help="The command to run.", show_default=False
    ),
    only: list[str] | None = typer.Option(
        None,
        "--only",
        metavar="SECRET",
        help="Resolve only this secret (repeatable).",
        show_default=False,
        autocompletion=complete_secret_name,
    ),
) -> None:
    """Run a command with every configured secret in its env var.

    Each secret's env var (e.g. GITLAB_TOKEN) gets the latest enabled version. An env var that
    is already set wins, so local development works without Google. A required secret with no
    value anywhere is an error; the config default is used when the secret does not exist.
    Values never appear in output.

    Example: thothctl exec -- python -m thoth.sync
    """
    args = list(command or [])
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        raise UsageError(
            "thothctl exec needs a command to run",
            hint="put it after --, e.g. thothctl exec -- python -m thoth.sync",
        )
    names = []
    for name in only or []:
        try:
            names.append(validate.check_secret_id(name))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    app_ctx = get_ctx(ctx)
    # Unknown --only names are a usage error (exit 2) before any call.
    resolved = lib.resolve_env(lambda: app_ctx.clients, app_ctx.config, app_ctx.environ, names)
    out = app_ctx.out
    for r in resolved:
        out.verbose(f"{r.env} <- {r.name} ({r.source})")
        if r.source == lib.DEFAULT:
            out.info(f"{r.name}: no enabled version; {r.env} gets the config default")
    env = lib.exec_environment(resolved, os.environ)
    app_ctx.close()
    out.flush()
    import signal

    # Python ignores SIGPIPE and an exec'd program inherits that: restore the default so
    # `thothctl exec -- yes | head -1` ends like `yes | head -1` (141), not with a write error.
    previous = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        EXECVPE(args[0], args, env)
    except FileNotFoundError:
        raise ThothError(f"command not found: {args[0]}", exit_code=127) from None
    except PermissionError:
        raise ThothError(f"permission denied running {args[0]}", exit_code=126) from None
    finally:  # only reached when the exec did not happen
        signal.signal(signal.SIGPIPE, previous)
