"""Command-line mistakes in thothctl's words: the parser's errors (an unknown command or option, a
missing argument, a value of the wrong kind) become one :class:`UsageError` that says what was
wrong, what is allowed and what to do, with no parser or validation-library wording. The guard
turns any exception into a line through :func:`thothctl.errors.describe`; this only rewords."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from thothctl import suggest
from thothctl.errors import UsageError

_NO_COMMAND = re.compile(r"No such command '(.+?)'")
_NEEDS_VALUE = re.compile(r"Option '(.+?)' requires an? (?:argument|value)")


def translate(exc: BaseException) -> BaseException:
    """``exc`` reworded when it is a parser error (duck-typed), else ``exc`` itself."""
    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return exc
    if exc.exit_code == 0 or type(exc).__name__ == "NoArgsIsHelpError":
        return exc
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "thothctl"
    helps = f"see `{path} --help`"
    kind = type(exc).__name__
    message = exc.format_message()
    if kind == "NoSuchOption":
        guess = suggest.did_you_mean(exc.option_name, getattr(exc, "possibilities", None) or [])
        return UsageError(f"{path} has no option {exc.option_name}", hint=guess or helps)
    if kind == "MissingParameter":
        return UsageError(f"{path} needs {_display(exc.param)}", hint=helps)
    if kind == "BadParameter" and getattr(exc, "param", None) is not None:
        return UsageError(_bad_value(exc), hint=_choice_guess(exc) or helps)
    found = _NO_COMMAND.search(message)
    if found:
        names = _commands(ctx)
        guess = suggest.did_you_mean(found.group(1), names)
        return UsageError(f"{path} has no command {found.group(1)!r}", hint=guess or helps)
    found = _NEEDS_VALUE.search(message)
    if found:
        return UsageError(f"{found.group(1)} needs a value", hint=helps)
    return UsageError(message.rstrip("."), hint=helps)


def _commands(ctx: Any) -> list[str]:
    command = getattr(ctx, "command", None)
    if command is None or not hasattr(command, "list_commands"):
        return []
    names = command.list_commands(ctx)
    return [n for n in names if not getattr(command.get_command(ctx, n), "hidden", False)]


def _display(param: Any) -> str:
    """``--limit`` for an option (its long name), ``NAME`` for an argument."""
    if getattr(param, "param_type_name", "") == "argument":
        return f"the argument {param.name.upper()}"
    names = [*param.opts]
    return max(names, key=len) if names else param.name


def _cause(exc: Any) -> tuple[str, Any, dict[str, Any]]:
    """(kind, input, ctx) of the validation error behind a bad value, or ("", None, {})."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return "", None, {}
    first = (errors() or [{}])[0]
    return first.get("type", ""), first.get("input"), first.get("ctx") or {}


def _choices(param: Any) -> list[str]:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or not desc.is_choice or desc.choices is None:
        return []
    return [str(c.value if isinstance(c, Enum) else c) for c in desc.choices]


def _bad_value(exc: Any) -> str:
    param = exc.param
    what = _display(param).removeprefix("the argument ")
    kind, value, _ctx = _cause(exc)
    shown = repr(value) if value is not None else "the value"
    choices = _choices(param)
    if choices:
        return f"{what} {shown} is not one of {', '.join(choices)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        allowed = (
            f"give {low} to {high}"
            if low is not None and high is not None
            else f"give at least {low}"
            if low is not None
            else f"give at most {high}"
        )
        return f"{what} {value} is out of range: {allowed}"
    if kind == "int_parsing":
        return f"{what} {shown} is not a whole number"
    if kind == "float_parsing":
        return f"{what} {shown} is not a number"
    text = str(getattr(exc, "message", "") or exc.format_message())
    return f"{what}: {text.removeprefix('Value error, ').rstrip('.')}"


def _choice_guess(exc: Any) -> str | None:
    choices = _choices(exc.param)
    _kind, value, _ctx = _cause(exc)
    return suggest.did_you_mean(str(value), choices) if choices and value is not None else None
