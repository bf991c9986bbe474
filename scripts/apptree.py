"""The thothctl command tree as plain data, read from the typer app itself.

Shared by ``gen_completions.py`` (shell completion scripts) and ``gen_docs.py`` (the command
reference), so both pick up every command, option and choice automatically.

Each node: ``{"name", "path", "summary", "help", "usage", "options", "arguments", "commands"}``.
Each option: ``{"names", "flag", "complete", "summary", "help", "metavar", "default", "envvar",
"required", "global"}``; each argument: ``{"name", "metavar", "nargs", "required", "complete",
"help"}``. ``complete`` is ``{"kind": "choice", "values": [...]}``, ``{"kind": "file"}``,
``{"kind": "dynamic", "name": "secret"}`` or ``{"kind": "none"}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import Enum
from typing import Any

PROG = "thothctl"
# Dynamic kinds answered by `thothctl __complete KIND` (the config); choices stay static.
DYNAMIC_KINDS = ("secret", "job", "env", "api")
_STYLE_TAGS = re.compile(r"\[/?(?:bold|b|italic|i|dim|underline|u|code|cyan|green|red|yellow)\]")


def clean_help(text: str | None) -> str:
    """Help text as a reader sees it: rich escapes undone, style tags dropped, dedented."""
    import inspect

    text = inspect.cleandoc(text or "")
    text = re.sub(r"\[bold\](.*?)\[/bold\]", r"`\1`", text)  # helpstyle's code spans
    text = text.replace("\\[", "\0")
    text = _STYLE_TAGS.sub("", text)
    return text.replace("\0", "[").strip()


def summary_of(text: str) -> str:
    """The first line of the first paragraph."""
    first = text.split("\n\n", 1)[0].strip()
    return " ".join(first.split())


def _complete_spec(param: Any, group: str) -> dict[str, Any]:
    from thothctl.cli.complete import PARAM_KINDS, kind_of_provider

    desc = param.type_descriptor
    if getattr(param, "is_flag", False):
        return {"kind": "none"}
    provider = getattr(desc.parameter_info, "autocompletion", None)
    kind = kind_of_provider(provider) if provider else None
    if kind is None:
        kind = PARAM_KINDS.get((group, param.name)) or PARAM_KINDS.get(("*", param.name))
    if kind in DYNAMIC_KINDS and not desc.is_choice:
        return {"kind": "dynamic", "name": kind}
    if desc.is_choice and desc.choices is not None:
        values = [str(c.value if isinstance(c, Enum) else c) for c in desc.choices]
        return {"kind": "choice", "values": values}
    if kind == "file" or desc.is_file or desc.is_path:
        return {"kind": "file"}
    return {"kind": "none"}


def _default(param: Any) -> str | None:
    if getattr(param, "is_flag", False) or param.show_default is False:
        return None
    value = param.default
    if value is None or callable(value) or value in ((), []):
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _metavar(param: Any, ctx: Any) -> str:
    desc = param.type_descriptor
    if param.metavar:
        return param.metavar
    if desc.is_choice and desc.choices is not None:
        return (
            "[" + "|".join(str(c.value if isinstance(c, Enum) else c) for c in desc.choices) + "]"
        )
    if param.param_type_name == "argument":
        return param.name.upper()
    label = param.display_type(ctx).strip("<>")
    return label.upper()


def _node(cmd: Any, ctx: Any, path: list[str], global_names: set[str]) -> dict[str, Any]:
    group = path[0] if path else ""
    options, arguments = [], []
    for param in cmd.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            arguments.append(
                {
                    "name": param.name,
                    "metavar": _metavar(param, ctx),
                    "nargs": param.nargs,
                    "required": bool(param.required),
                    "complete": _complete_spec(param, group),
                    "help": clean_help(getattr(param, "help", None)),
                }
            )
            continue
        # Long names first; sorted, because click builds the help option from a set.
        names = sorted([*param.opts, *param.secondary_opts], key=lambda n: (n[:2] != "--", n))
        help_text = clean_help(param.help)
        envvar = param.envvar if isinstance(param.envvar, str) else None
        options.append(
            {
                "names": names,
                "flag": bool(getattr(param, "is_flag", False)),
                "complete": _complete_spec(param, group),
                "summary": summary_of(help_text),
                "help": help_text,
                "metavar": "" if getattr(param, "is_flag", False) else _metavar(param, ctx),
                "default": _default(param),
                "envvar": envvar,
                "required": bool(param.required),
                "multiple": bool(getattr(param, "multiple", False)),
                "global": not path and bool(set(names) & global_names),
            }
        )
    help_text = clean_help(cmd.help)
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    node: dict[str, Any] = {
        "name": path[-1] if path else PROG,
        "path": list(path),
        "summary": summary_of(clean_help(cmd.short_help) or help_text),
        "help": help_text,
        "usage": " ".join([PROG, *path, pieces]).strip(),
        "options": options,
        "arguments": arguments,
        "commands": [],
    }
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            child = _node(sub, sub_ctx, [*path, name], global_names)
            child["panel"] = _panel(sub)
            node["commands"].append(child)
    return node


def _panel(cmd: Any) -> str | None:
    panel = getattr(cmd, "rich_help_panel", None)
    return panel if isinstance(panel, str) else None


def command_tree() -> dict[str, Any]:
    """Walk the real app (``thothctl.cli.app``) into plain data."""
    from typer.main import get_command

    from thothctl.cli import app
    from thothctl.cli.guard import global_options
    from thothctl.cli.helpstyle import readable_tree

    root = get_command(app)
    readable_tree(root)  # help as `--help` shows it
    ctx = root.make_context(PROG, [], resilient_parsing=True)
    return _node(root, ctx, [], set(global_options(root)))


def walk(node: dict[str, Any]):
    """Every node, depth first, the root first."""
    yield node
    for child in node["commands"]:
        yield from walk(child)


def tree_hash(node: dict[str, Any]) -> str:
    """A short, stable hash of what completion depends on: names, options, values, summaries."""

    def strip(n: dict[str, Any]) -> dict[str, Any]:
        return {
            "path": n["path"],
            "summary": n["summary"],
            "options": [[o["names"], o["flag"], o["complete"], o["summary"]] for o in n["options"]],
            "arguments": [[a["name"], a["nargs"], a["complete"]] for a in n["arguments"]],
            "commands": [strip(c) for c in n["commands"]],
        }

    blob = json.dumps(strip(node), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
