"""The root command group: global options after the subcommand, help panel order, and the guard
that turns every expected error into one line and an exit code.

The guard is the only place in the CLI that catches exceptions broadly; it asks
:func:`thothctl.errors.describe` for (code, line, hint) and prints through the output module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from thothctl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, describe

# `thothctl --help` groups commands the way a newcomer meets them.
PANEL_ORDER = ("Setup", "Secrets", "Jobs", "Observe", "Local emulator")


def global_options(group: Any) -> dict[str, bool]:
    """The root command's options, derived from its parameters: option string -> takes a value.

    Derived rather than listed, so a new global option can never be missed when hoisting."""
    names: dict[str, bool] = {}
    for param in getattr(group, "params", []):
        if getattr(param, "param_type_name", "") != "option":
            continue
        if getattr(param, "is_eager", False) or not getattr(param, "expose_value", True):
            continue  # --version, and typer's own --install/--show-completion
        takes_value = not getattr(param, "is_flag", False)
        for opt in [*param.opts, *param.secondary_opts]:
            names[opt] = takes_value
    return names


def hoist_global_options(args: Sequence[str], options: Mapping[str, bool]) -> list[str]:
    """Move global options found after the subcommand to the front, so that
    ``thothctl secrets list -o json`` means ``thothctl -o json secrets list``.
    Stops at ``--`` (everything after it belongs to `exec`)."""
    args = list(args)
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            rest.extend(args[i:])
            break
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok
        if name in options:
            hoisted.append(tok)
            if options[name] and "=" not in tok and i + 1 < len(args):
                hoisted.append(args[i + 1])
                i += 1
        else:
            rest.append(tok)
        i += 1
    return hoisted + rest


class ThothGroup(TyperGroup):
    """Root group: hoists global options and turns every expected error into one line + code."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in PANEL_ORDER (registration order within a panel; unknown panels last)."""
        names = super().list_commands(ctx)

        def rank(name: str) -> int:
            panel = getattr(self.commands.get(name), "rich_help_panel", None)
            return PANEL_ORDER.index(panel) if panel in PANEL_ORDER else len(PANEL_ORDER)

        return sorted(names, key=rank)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from thothctl.cli.context import forget_current

        forget_current()
        argv = hoist_global_options(sys.argv[1:] if args is None else args, global_options(self))
        code = run_guarded(
            lambda: super(ThothGroup, self).main(
                argv, prog_name or "thothctl", complete_var, standalone_mode=False, **extra
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code


def _output():
    from thothctl.cli.context import current_output

    return current_output()


def run_guarded(fn: Callable[[], Any]) -> int:
    """Run ``fn`` and turn what it raises into an exit code, printing one line for it."""
    from typer import _click

    try:
        rv = fn()
        if rv == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent Exit(130)
            _output().interrupted()
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    except _click.exceptions.NoArgsIsHelpError as exc:
        # A group called without its command: the help was shown (rich prints it while
        # formatting). Bare `thothctl` asked for nothing else: 0; `thothctl secrets`: usage, 2.
        if exc.format_message().strip():
            _output().line(exc.format_message())
        return 0 if exc.ctx is None or exc.ctx.parent is None else EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        _output().interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:
        try:
            code, line, hint = describe(exc)
        except TypeError:
            code = None
        if code is None:
            raise  # not an expected error: keep its traceback
        _output().error(line, hint)
        return code
