"""How `--help` reads: conventional metavars and help text that wraps to the terminal.

Applied once to the built command tree (:class:`thothctl.cli.guard.ThothGroup`), so every command
gets it, and the docs and completion generators (which walk the same tree) agree with `--help`:

* a flag shows no value (never ``<bool>``); an option that takes a value shows what it takes in
  capitals (``--config PATH``, ``--timeout DURATION``, ``--limit N``, ``--output [table|json]``);
* an argument is ``NAME`` (``[NAME]`` when optional, ``NAMES...`` when repeatable), never
  ``{name}`` or ``<str>``;
* a help paragraph is one line that the terminal wraps; an ``Examples:`` paragraph keeps one
  example per line.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from typer.core import TyperArgument

# What an option's value is, by parameter name (an explicit metavar= wins).
METAVARS = {
    "config": "PATH",
    "data": "PATH",
    "from_file": "PATH",
    "path": "PATH",
    "env": "NAME",
    "name": "NAME",
    "impersonate_service_account": "EMAIL",
    "host": "HOST:PORT",
    "timeout": "DURATION",
    "expires_in": "DURATION",
    "idle_timeout": "DURATION",
    "if_expiring_within": "DURATION",
    "since": "WHEN",
    "until": "WHEN",
    "labels": "KEY=VALUE",
    "locations": "REGION",
    "filter_": "EXPR",
    "severity": "LEVEL",
    "fmt": "FORMAT",
    "fail_code": "CODE",
    "fail_shape": "SHAPE",
    "fault_methods": "GLOB",
    "status": "CODE",
    "condition": "TITLE",
}
_BY_TYPE = {int: "N", float: "NUMBER"}


class ConventionalArgument(TyperArgument):
    """An argument shown as ``NAME`` in the usage line and the help, with no type column."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if name.startswith(("[", "--")):
            return name
        name += "..." if self.nargs != 1 else ""
        return name if self.required else f"[{name}]"


def conventional(command: Any) -> None:
    """Give ``command`` and every command under it conventional metavars, and help that wraps
    (rewritten when the help is first shown: most runs never show it)."""
    for param in getattr(command, "params", []):
        _metavar(param)
    original_option, original_format = command.get_help_option, command.format_help

    def help_option(ctx: Any) -> Any:
        option = original_option(ctx)
        if option is not None:
            option.metavar = ""  # a flag: no <bool>
        return option

    def format_help(ctx: Any, formatter: Any) -> None:
        for shown in (command, *getattr(command, "commands", {}).values()):
            readable(shown)
        return original_format(ctx, formatter)

    command.get_help_option, command.format_help = help_option, format_help
    for sub in getattr(command, "commands", {}).values():
        conventional(sub)


def readable(command: Any) -> None:
    """Rewrite ``command``'s help for the terminal once: paragraphs that wrap, code in bold."""
    if getattr(command, "thothctl_readable", False):
        return
    command.thothctl_readable = True
    command.help = reflow(command.help)
    if command.short_help:
        command.short_help = _code(command.short_help)
    for param in getattr(command, "params", []):
        if getattr(param, "help", None):
            param.help = _code(param.help)


def readable_tree(command: Any) -> None:
    """:func:`readable` for ``command`` and every command under it (the docs generator)."""
    readable(command)
    for sub in getattr(command, "commands", {}).values():
        readable_tree(sub)


def conventional_params(params: list[Any]) -> list[Any]:
    """``params`` with conventional metavars (for options added after the tree was built)."""
    for param in params:
        if param.metavar is None or param.param_type_name == "argument":
            _metavar(param)
    return params


_CODE = re.compile(r"`([^`]+)`")


def _code(text: str) -> str:
    """A `code` span in bold on the terminal, without the backticks (the docs generator turns
    it back into a code span)."""
    return _CODE.sub(r"[bold]\1[/bold]", text)


def _choices(param: Any) -> list[str] | None:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or not desc.is_choice or desc.choices is None:
        return None
    return [str(c.value if isinstance(c, Enum) else c) for c in desc.choices]


def _metavar(param: Any) -> None:
    if param.param_type_name == "argument":
        if isinstance(param, TyperArgument) and type(param) is TyperArgument:
            param.__class__ = ConventionalArgument
        if param.metavar is None:
            choices = _choices(param)
            param.metavar = f"[{'|'.join(choices)}]" if choices else param.name.upper()
        return
    if getattr(param, "is_flag", False) and not getattr(param, "count", False):
        param.metavar = ""
        return
    if param.metavar is not None:
        return
    choices = _choices(param)
    if choices:
        param.metavar = f"[{'|'.join(choices)}]"
        return
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    param.metavar = METAVARS.get(param.name) or _BY_TYPE.get(annotation) or _name(param)


def _name(param: Any) -> str:
    annotation = str(getattr(getattr(param, "type_descriptor", None), "annotation", ""))
    if "Path" in annotation:
        return "PATH"
    return param.name.rstrip("_").upper()


def reflow(text: str | None) -> str | None:
    """Help text with each paragraph on one line (the terminal wraps it), except an
    ``Examples:`` paragraph or a list, which keep their lines."""
    if not text:
        return text
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    out = []
    for para in paragraphs:
        lines = [line.strip() for line in para.splitlines() if line.strip()]
        keep = para.lstrip().startswith("Example") or any(
            line.startswith(("- ", "* ", "\b")) for line in lines
        )
        if keep:
            out.append("\n".join(("  " + line if i else line) for i, line in enumerate(lines)))
        else:
            out.append(" ".join(lines))
    return _code("\n\n".join(out))
