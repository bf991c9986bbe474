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
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from thothctl.errors import ThothError, UsageError


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
    ):
        self.format = fmt
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
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        styles: Sequence[str | None] | None = None,
        empty: str | None = None,
    ) -> None:
        """A rich table on a TTY; tab-separated rows (no header, like gh) in a pipe."""
        if not rows and empty:
            self.info(empty)
            return
        if not self.is_tty:
            for row in rows:
                self.stdout.write("\t".join(_plain(c) for c in row) + "\n")
            self.stdout.flush()
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=title, title_justify="left", header_style="bold", box=None, pad_edge=False
        )
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            cells = []
            for i, cell in enumerate(row):
                style = styles[i] if styles and i < len(styles) else None
                if isinstance(cell, Styled):
                    style = cell.style
                cells.append(
                    cell if isinstance(cell, Text) else Text(_plain(cell), style=style or "")
                )
            table.add_row(*cells)
        self.console.print(table)

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
        """Key/value description of one object."""
        if not self.is_tty:
            for k, val in pairs:
                self.stdout.write(f"{k}\t{_plain(val)}\n")
            self.stdout.flush()
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=title, title_justify="left", show_header=False, box=None, pad_edge=False
        )
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for k, val in pairs:
            table.add_row(Text(k), Text(_plain(val)))
        self.console.print(table)

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
        if self.stderr_is_tty:
            from rich.text import Text

            text = Text()
            if prefix:
                text.append(prefix, style=style)
            text.append(message)
            self.err_console.print(text)
        else:
            self.stderr.write(f"{prefix}{message}\n")
            self.stderr.flush()

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

    def interrupted(self) -> None:
        """Ctrl-C: a fresh line, so the shell prompt does not land after a half-typed one."""
        self.stderr.write("\ninterrupted\n")
        self.stderr.flush()

    def verbose(self, message: str) -> None:
        if self.verbose_enabled:
            self._diag("· ", message, "dim")

    def error(self, err: ThothError | str, hint: str | None = None) -> None:
        if isinstance(err, ThothError):
            message, hint = err.message, err.hint
        else:
            message = err
        text = message.rstrip(".")
        if hint:
            text += f" ({hint})"
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

        return Confirm.ask(question, console=self.err_console, default=default)

    def prompt_secret(
        self, label: str, *, confirm: bool = True, empty_ok: bool | None = None
    ) -> str:
        """Hidden prompt, typed twice. Returns the text exactly as typed.

        ``empty_ok``: True, an empty first answer returns at once (it means a default, or skip);
        False, an empty answer is refused and asked again; None, it is typed twice like any other.
        """
        import getpass

        for _ in range(3):
            first = getpass.getpass(f"{label}: ", stream=self.stderr)
            if not confirm or (empty_ok and not first):
                return first
            if empty_ok is False and not first:
                self.warn("a value is required")
                continue
            second = getpass.getpass(f"{label} (again): ", stream=self.stderr)
            if first == second:
                return first
            self.warn("the two values differ; try again")
        raise UsageError("the values typed did not match three times", hint="nothing was changed")


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
