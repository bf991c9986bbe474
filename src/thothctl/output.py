"""The ONE place that talks to the terminal.

Data goes to stdout, diagnostics (progress, warnings, errors) to stderr. People at a TTY get rich
tables and spinners; pipes get plain tab-separated rows; ``--output json`` gets stable JSON.
User data is never interpreted as rich markup. ``NO_COLOR`` is respected (rich reads it).
Prompts live here too, and refuse to run when prompting is not allowed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from thothctl.errors import Cancelled, ThothError, UsageError
from thothctl.tables import CUT, GAP, KEEP, WRAP, Column, as_column, cell_lines, fit
from thothctl.words import join, noun, plural

__all__ = [
    "CUT",
    "KEEP",
    "WRAP",
    "Column",
    "Output",
    "Styled",
    "iso",
    "join",
    "noun",
    "plural",
    "relative_time",
    "to_json",
]


PROG = "thothctl"
_CODE_SPAN = re.compile(r"`([^`]+)`")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)


@dataclass(frozen=True)
class Styled:
    """A table cell with its own style on a TTY (plain text in a pipe): ``Styled("✗ problem",
    "bold red")``. Lets cli/ color one cell without importing rich."""

    plain: str
    style: str = ""


def relative_time(when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if when is None:
        return "-"
    now = now or dt.datetime.now(dt.UTC)
    delta = (now - when).total_seconds()
    future = delta < 0
    delta = abs(delta)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            text = f"{int(delta // size)}{unit}"
            break
    else:
        text = f"{int(delta)}s"
    return f"in {text}" if future else f"{text} ago"


def stdout_is_devnull() -> bool:
    """Whether stdout is /dev/null (where rich points it when the pipe closed)."""
    try:
        here, null = os.fstat(sys.stdout.fileno()), os.stat(os.devnull)
    except (AttributeError, ValueError, OSError):
        return False
    return (here.st_dev, here.st_ino) == (null.st_dev, null.st_ino)


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader went away (``| head -1``): nothing more goes
    into the closed pipe, and the interpreter's last flush does not print "Exception ignored
    ... BrokenPipeError"."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def iso(when: dt.datetime | None) -> str:
    if when is None:
        return ""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Output:
    """Renders results and messages for one invocation."""

    def __init__(
        self,
        fmt: str = "table",
        *,
        quiet: bool = False,
        verbose: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        tty: bool | None = None,
        width: int | None = None,
        command_prefix: str = PROG,
    ):
        self.format = fmt
        self.command_prefix = command_prefix
        self.quiet = quiet
        self.verbose_enabled = verbose
        self._stdout = stdout
        self._stderr = stderr
        self._tty = tty
        self._width = width or (
            int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
        )
        self._console = None
        self._err_console = None

    # --- streams -------------------------------------------------------------------------
    @property
    def stdout(self) -> IO[str]:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return self._stderr or sys.stderr

    @property
    def json_mode(self) -> bool:
        return self.format == "json"

    @property
    def is_tty(self) -> bool:
        if self._tty is not None:
            return self._tty
        if os.environ.get("THOTHCTL_FORCE_TTY"):
            return True
        try:
            return self.stdout.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def stderr_is_tty(self) -> bool:
        if self._tty is not None:
            return self._tty
        try:
            return self.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.stdout,
                force_terminal=self.is_tty or None,
                width=self._width,
                highlight=False,
                soft_wrap=False,
            )
        return self._console

    @property
    def err_console(self):
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(
                file=self.stderr,
                force_terminal=self.stderr_is_tty or None,
                width=self._width,
                highlight=False,
                stderr=True,
            )
        return self._err_console

    # --- data (stdout) -------------------------------------------------------------------
    def json(self, data: Any) -> None:
        self.stdout.write(to_json(data) + "\n")
        self.stdout.flush()

    def json_line(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False) + "\n")
        self.stdout.flush()

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """JSON in json mode, else the human renderer."""
        if self.json_mode:
            self.json(data)
        else:
            human()

    def table(
        self,
        columns: Sequence[str | Column],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        styles: Sequence[str | None] | None = None,
        empty: str | None = None,
        notes: Sequence[str | None] | None = None,
    ) -> None:
        """A table fitted to the terminal (:mod:`thothctl.tables`: the least important columns
        drop first, prose wraps, identifiers are never broken); tab-separated rows (no header,
        like gh) in a pipe. ``notes``: per row, a line printed whole under it (a fix command);
        in a pipe, the note is the row's last field."""
        if not rows and empty:
            self.info(empty)
            return
        cols = [as_column(c) for c in columns]
        if not self.is_tty:
            for i, row in enumerate(rows):
                fields = [_plain(c) for c in row]
                if notes is not None:
                    fields.append(notes[i] or "")
                self.stdout.write("\t".join(fields) + "\n")
            self.stdout.flush()
            return
        if title:
            self._print(title, "bold")
        cells = [
            [_cell(c, styles[i] if styles and i < len(styles) else None) for i, c in enumerate(row)]
            for row in rows
        ]
        self._grid(cols, cells, header=True, notes=notes)

    def _grid(
        self,
        cols: Sequence[Column],
        cells: Sequence[Sequence[tuple[str, str]]],
        *,
        header: bool,
        notes: Sequence[str | None] | None = None,
        run_on: bool = False,
    ) -> None:
        """Rows of (text, style) cells laid out by :func:`thothctl.tables.layout`."""
        from rich.cells import cell_len
        from rich.text import Text

        texts = [[t for t, _ in row] for row in cells]
        shown, below = fit(cols, texts, self.console.width, cell_len)
        last = len(shown) - 1

        def emit(row: Sequence[tuple[str, str]], bold: bool = False) -> None:
            parts = [
                cell_lines(row[i][0], w, cols[i].fit, cell_len, last=run_on and k == last)
                for k, (i, w) in enumerate(shown)
            ]
            for n in range(max(len(p) for p in parts)):
                line = Text()
                for k, (i, w) in enumerate(shown):
                    piece = parts[k][n] if n < len(parts[k]) else ""
                    line.append(piece, style="bold" if bold else row[i][1] or cols[i].style)
                    if k != last:
                        line.append(" " * (w - cell_len(piece) + GAP))
                line.rstrip()
                self.console.print(line, soft_wrap=True)

        if header:
            emit([(c.header, "") for c in cols], bold=True)
        indent = " " * (shown[0][1] + GAP if len(shown) > 1 else 2)
        room = max(20, self.console.width - len(indent))
        for r, row in enumerate(cells):
            emit(row)
            if below is not None:  # a squeezed prose column, on its own lines
                text, style = row[below]
                for piece in cell_lines(text, room, WRAP, cell_len, last=True):
                    self._print(indent + piece, style or cols[below].style)
            if notes is not None and notes[r]:
                self._print(indent + notes[r], "")

    def _print(self, text: str, style: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style), soft_wrap=True)

    def markdown_table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A GitHub-flavoured Markdown table on stdout (e.g. for a CI step summary)."""

        def cells(values: Sequence[Any]) -> str:
            text = (_plain(v).replace("|", "\\|").replace("\n", " ") for v in values)
            return "| " + " | ".join(text) + " |"

        self.stdout.write(cells(columns) + "\n" + cells(["---"] * len(columns)) + "\n")
        for row in rows:
            self.stdout.write(cells(row) + "\n")
        self.stdout.flush()

    def fields(self, pairs: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
        """Key/value description of one object: long values wrap at spaces and are never cut."""
        if not self.is_tty:
            for k, val in pairs:
                self.stdout.write(f"{k}\t{_plain(val)}\n")
            self.stdout.flush()
            return
        if title:
            self._print(title, "bold")
        cols = [Column("", style="bold"), Column("", fit=WRAP)]
        self._grid(cols, [[(k, "bold"), _cell(v)] for k, v in pairs], header=False, run_on=True)

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of human output on stdout (never markup-interpreted)."""
        if self.is_tty and style:
            from rich.text import Text

            self.console.print(Text(text, style=style))
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def raw(self, data: bytes | str) -> None:
        """Exact bytes to stdout (secret values for `secrets get`)."""
        if isinstance(data, str):
            data = data.encode()
        buf = getattr(self.stdout, "buffer", None)
        if buf is not None:
            self.stdout.flush()
            buf.write(data)
            buf.flush()
        else:
            self.stdout.write(data.decode("utf-8", errors="replace"))
            self.stdout.flush()

    # --- diagnostics (stderr) -----------------------------------------------------------
    def _diag(self, prefix: str, message: str, style: str) -> None:
        """One message on stderr, never wrapped by us (a command in it stays whole). A `code`
        span names a command: shown in bold on a terminal, without the backticks anywhere, and a
        ``thothctl …`` command gets the current context's global options (``command``)."""
        spans = [
            (self.command(part) if i % 2 else part, bool(i % 2))
            for i, part in enumerate(_CODE_SPAN.split(message))
        ]
        if self.stderr_is_tty:
            from rich.text import Text

            text = Text()
            if prefix:
                text.append(prefix, style=style)
            for part, code in spans:
                text.append(part, style="bold" if code else "")
            self.err_console.print(text, soft_wrap=True)
        else:
            self.stderr.write(prefix + "".join(p for p, _ in spans) + "\n")
            self.stderr.flush()

    def command(self, text: str) -> str:
        """A ``thothctl …`` command as it must be typed here: with the global options that chose
        this context (``--emulator``, ``--env``, ``--project``, …; see ``command_prefix``). Each
        command of a pipeline (``a | b``) gets them."""
        if " | " in text:
            return " | ".join(self.command(part) for part in text.split(" | "))
        if self.command_prefix == PROG or not (text == PROG or text.startswith(PROG + " ")):
            return text
        words = text.split()
        context = self.command_prefix.split()[1:]
        add: list[str] = []
        for i, word in enumerate(context):  # an option, or the value of the one before it
            option = word if word.startswith("-") else context[i - 1]
            if option not in words:
                add.append(word)
        return " ".join([PROG, *add]) + text[len(PROG) :]

    def prose(self, text: str) -> str:
        """Text for a table cell: `code` spans lose their backticks, and a ``thothctl …``
        command in one gets this context's global options."""
        return "".join(
            self.command(part) if i % 2 else part for i, part in enumerate(_CODE_SPAN.split(text))
        )

    def next_steps(self, commands: Sequence[str]) -> None:
        """ "Next:" and one command per line, each runnable as printed."""
        if self.quiet or not commands:
            return
        self.info("Next:")
        for cmd in commands:
            self._diag("  ", f"`{cmd}`", "")

    def info(self, message: str) -> None:
        if not self.quiet:
            self._diag("", message, "")

    def success(self, message: str) -> None:
        if not self.quiet:
            self._diag("✓ " if self.stderr_is_tty else "", message, "green")

    def warn(self, message: str) -> None:
        self._diag("warning: ", message, "yellow")

    def flush(self) -> None:
        """Flush both streams (before the process is replaced, e.g. by `thothctl exec`)."""
        self.stdout.flush()
        self.stderr.flush()

    def interrupted(self, what: str = "interrupted") -> None:
        """Ctrl-C (or SIGTERM: ``what`` says which): a fresh line, so the shell prompt does not
        land after a half-typed one."""
        self.stderr.write(f"\n{what}\n")
        self.stderr.flush()

    def verbose(self, message: str) -> None:
        if self.verbose_enabled:
            self._diag("· ", message, "dim")

    def error(self, err: ThothError | str, hint: str | None = None) -> None:
        """One line: ``error: what failed and why — what to do``."""
        if isinstance(err, ThothError):
            message, hint = err.message, err.hint
        else:
            message = err
        text = message.rstrip(". ")
        if hint:
            text += " — " + hint.rstrip(". ")
        self._diag("error: ", text, "bold red")

    @contextlib.contextmanager
    def spinner(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner on an interactive stderr. In a pipe the message is shown only with --verbose,
        so that a script's stderr holds results and errors, not progress. Yields an update
        function."""
        if self.quiet or self.json_mode or not self.stderr_is_tty:
            self.verbose(message)
            yield lambda _msg: None
            return
        with self.err_console.status(message) as status:
            yield lambda msg: status.update(msg)

    # --- prompts -------------------------------------------------------------------------
    def confirm(
        self, question: str, *, can_prompt: bool, assume_yes: bool, default: bool = False
    ) -> bool:
        if assume_yes:
            return True
        if not can_prompt:
            raise UsageError(
                f"{question.rstrip('?')}: confirmation needed but prompting is off",
                hint="pass --yes to confirm non-interactively",
            )
        from rich.prompt import Confirm

        with _answered():
            return Confirm.ask(question, console=self.err_console, default=default)

    def prompt_secret(
        self, label: str, *, confirm: bool = True, empty_ok: bool | None = None
    ) -> str:
        """Hidden prompt, typed twice. Returns the text exactly as typed.

        ``empty_ok``: True, an empty first answer returns at once (it means a default, or skip);
        False, an empty answer is refused and asked again; None, it is typed twice like any other.
        """
        import getpass

        with _answered():
            for _ in range(3):
                first = _hidden(getpass.getpass, f"{label}: ", self.stderr)
                if not confirm or (empty_ok and not first):
                    return first
                if empty_ok is False and not first:
                    self.warn("a value is required; type it, or press Ctrl-C to stop")
                    continue
                second = _hidden(getpass.getpass, f"{label} (again): ", self.stderr)
                if first == second:
                    return first
                self.warn("the two values differ; type them again")
        raise UsageError(
            "the two values typed differed three times", hint="nothing was changed; run it again"
        )

    def prompt_text(self, label: str) -> str:
        """A visible prompt for a value that is not secret (a URL), typed once."""
        with _answered():
            self.stderr.write(f"{label}: ")
            self.stderr.flush()
            return _readline().rstrip("\r\n")

    def prompt_lines(self, label: str, *, complete: Callable[[str], bool]) -> str:
        """A hidden prompt that reads lines until ``complete(text)`` says the answer is whole, so
        a pasted multi-line value (a JSON key file) arrives in one answer. Echo is off while it
        reads, like a password prompt."""
        lines: list[str] = []
        with _answered():
            self.stderr.write(f"{label}: ")
            self.stderr.flush()
            with _echo_off():
                while not lines or not complete("".join(lines)):
                    lines.append(_readline())
        self.stderr.write("\n")
        self.stderr.flush()
        return "".join(lines).rstrip("\r\n")


def _hidden(ask: Callable[..., str], prompt: str, stream: IO[str]) -> str:
    """One hidden answer. Bytes that are not valid UTF-8 (a terminal in another encoding) are a
    UsageError raised outside the decoding error, so no exception holds what was typed."""
    bad = None
    try:
        return ask(prompt, stream=stream)
    except UnicodeDecodeError as exc:
        bad = exc.start
    raise UsageError(
        f"what was typed at the prompt is not valid UTF-8 (byte {bad}): values are UTF-8 text",
        hint="set the terminal to UTF-8 (e.g. LANG=C.UTF-8), or pipe the value with "
        "--from-file -; nothing was changed",
    )


@contextlib.contextmanager
def _answered() -> Iterator[None]:
    """End of input at a prompt (Ctrl-D, or a closed pipe) means no answer: nothing is done."""
    try:
        yield
    except EOFError:
        raise Cancelled("no answer (end of input); nothing was changed") from None


def _readline() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


@contextlib.contextmanager
def _echo_off() -> Iterator[None]:
    """Stop the terminal echoing what is typed or pasted (kept line by line); a no-op when stdin
    is not a terminal, or on a system without termios."""
    try:
        import termios

        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (ImportError, AttributeError, ValueError, OSError):
        yield
        return
    new = list(old)
    new[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _cell(value: Any, style: str | None = None) -> tuple[str, str]:
    """(text, style) of a table cell: a Styled cell brings its own style."""
    if isinstance(value, Styled):
        return value.plain, value.style
    return _plain(value), style or ""


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) if value else "-"
    if hasattr(value, "plain"):
        return value.plain
    return str(value)
