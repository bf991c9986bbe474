"""The root command group: global options after the subcommand, help panel order, and the guard
that turns every expected error into one line and an exit code.

The guard is the only place in the CLI that catches exceptions broadly; it asks
:func:`thothctl.errors.describe` for (code, line, hint) and prints through the output module.

It also owns how a command ends when the world goes away (docs/architecture.md, "Errors and exit
codes"): SIGTERM and SIGHUP unwind like Ctrl-C (so contexts close and clients shut down), then
exit 128 + the signal; a stdout closed early (``thothctl logs | head -1``) ends the command
quietly with 141, the status of a process killed by SIGPIPE, printing nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from thothctl.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, describe

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


class StdoutClosed(Exception):
    """The reader of our output went away. A BrokenPipeError is an OSError, which typer turns
    into a silent exit 1; re-raised as this, it reaches the guard."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: raised in the main thread like Ctrl-C's KeyboardInterrupt, so
    everything unwinds the same way (``finally`` blocks, context close, the embedded emulator's
    flush)."""


@contextlib.contextmanager
def _pipe_errors_reach_the_guard() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError as exc:
        raise StdoutClosed() from exc
    except SystemExit as exc:
        # rich's Console.on_broken_pipe points stdout at /dev/null and exits 1 (help, tables)
        from thothctl.output import stdout_is_devnull

        if exc.code == 1 and stdout_is_devnull():
            raise StdoutClosed() from exc
        raise


class ThothGroup(TyperGroup):
    """Root group: hoists global options and turns every expected error into one line + code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from thothctl.cli.helpstyle import conventional

        super().__init__(*args, **kwargs)
        conventional(self)  # --help: NAME/PATH/DURATION metavars, help that wraps

    def get_params(self, ctx: Any) -> list[Any]:
        """The root's options, typer's completion flags (added after __init__) included."""
        from thothctl.cli.helpstyle import conventional_params

        return conventional_params(super().get_params(ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _pipe_errors_reach_the_guard():  # `thothctl --help | head -1`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _pipe_errors_reach_the_guard():
            return super().invoke(ctx)

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


_UNWINDING_SIGNALS = ("SIGTERM", "SIGHUP")
_SIGNAL_WORDS = {"SIGTERM": "terminated", "SIGHUP": "hung up"}


@contextlib.contextmanager
def _signals_unwind(received: list[int]) -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread
    (once: a second signal while unwinding is ignored, so cleanup finishes). A signal the parent
    set to be ignored (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        if not received:
            received.append(signum)
            raise Terminated()

    previous: dict[int, Any] = {}
    for name in _UNWINDING_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _silence_stdout() -> None:
    from thothctl.output import silence_stdout

    silence_stdout()


def _say(show: Callable[[], None]) -> None:
    """Print a last word on stderr, unless stderr is the pipe that closed."""
    try:
        show()
    except BrokenPipeError:
        _silence_stdout()


def run_guarded(fn: Callable[[], Any]) -> int:
    """Run ``fn`` and turn what it raises into an exit code, printing one line for it."""
    received: list[int] = []
    with _signals_unwind(received):
        code = _run(fn, received)
    if received and code not in (EXIT_BROKEN_PIPE, 128 + received[0]):
        code = _stopped(received)  # the command took the signal as "stop" and returned
    return code


def _stopped(received: list[int]) -> int:
    """Ctrl-C or a signal ended the command: say so, and the exit code (128 + the signal)."""
    if not received:
        _say(lambda: _output().interrupted())
        return EXIT_INTERRUPTED
    name = signal.Signals(received[0]).name
    _say(lambda: _output().interrupted(f"{_SIGNAL_WORDS.get(name, 'stopped')} ({name})"))
    return 128 + received[0]


def _run(fn: Callable[[], Any], received: list[int]) -> int:
    from typer import _click

    try:
        rv = fn()
        if rv == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent Exit(130)
            return _stopped(received)
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    except _click.exceptions.NoArgsIsHelpError as exc:
        # A group called without its command: the help was shown (rich prints it while
        # formatting). Bare `thothctl` asked for nothing else: 0; `thothctl secrets`: usage, 2.
        if exc.format_message().strip():
            _output().line(exc.format_message())
        return 0 if exc.ctx is None or exc.ctx.parent is None else EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        return _stopped(received)
    except (StdoutClosed, BrokenPipeError):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        from thothctl.cli.usage import translate

        try:
            code, line, hint = describe(translate(exc))
        except TypeError:
            code = None
        if code is None:
            raise  # not an expected error: keep its traceback
        _say(lambda: _output().error(line, hint))
        return code
