"""What a reader sees of the field table: the ``config init`` template, the rows of
``config show`` and the rows of the README's configuration reference (``scripts/gen_docs.py``).

All three walk ``thothctl.config.schema`` in its order, with the same description of each key
(:func:`describe`), so a key added to the table shows up in every one of them.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

from thothctl.config.schema import (
    DEFAULTS,
    REQUIRED,
    TABLES,
    TOP_FIELDS,
    Config,
    Derived,
    Field,
    Table,
)
from thothctl.errors import UsageError
from thothctl.validate import check_project

TYPE_NAMES = {
    "string": "string",
    "bool": "boolean",
    "integer": "integer",
    "duration": "duration",
    "list": "list of strings",
    "table": "table of strings",
}


def describe(f: Field) -> str:
    """What the key means, then its range or allowed values and its environment variable."""
    text = f.doc
    if f.rule():
        text += f"; {f.rule()}"
    if f.env and f.env not in text:
        text += f"; env ${f.env}"
    return text


@dataclass(frozen=True)
class Row:
    """One key of the reference: ``value`` is its default as data (None when there is none to
    show), ``note`` says "required" or how a derived default is computed."""

    key: str
    type: str
    value: Any
    note: str
    meaning: str


def _row(label: str, f: Field) -> Row:
    value, note = f.default, ""
    if f.default is REQUIRED:
        value, note = None, "required"
    elif isinstance(f.default, Derived):
        value, note = None, f.default.doc
    return Row(label, TYPE_NAMES[f.kind], value, note, describe(f))


def reference_rows() -> list[Row]:
    """Every key of thothctl.toml, top-level first, then ``[secrets.NAME]`` and ``[jobs.NAME]``
    (their defaults are what an item that leaves the key out gets)."""
    rows = [_row(f.key, f) for f in TOP_FIELDS]
    for table in TABLES:
        rows += [_row(f"[{table.name}.NAME] {f.key}", f) for f in table.fields]
    return rows


def show_rows(cfg: Config) -> list[tuple[str, Any, str]]:
    """(key, value, source) for `config show`: every key of the table, for every item, as
    written or defaulted."""
    rows = [(f.key, cfg.raw.get(f.key), cfg.source_of(f.key)) for f in TOP_FIELDS]
    for table in TABLES:
        for name, item in cfg.raw.get(table.name, {}).items():
            for f in table.fields:
                key = f"{table.name}.{name}.{f.key}"
                rows.append((key, item.get(f.key), cfg.source_of(key)))
    return rows


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value) if "'" in value or '"' not in value else "'" + value + "'"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(x) for x in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in value.items()) + " }"
        )
    raise TypeError(type(value))


def _table_keys(table: Table) -> list[str]:
    """The comment block above a table's items: each key, what it means, its default."""
    required = [f.key for f in table.fields if f.default is REQUIRED]
    head = f"# [{table.name}.NAME]: one table each. Keys"
    head += f" ({' and '.join(required)} required):" if required else " (all optional):"
    width = max(len(f.key) for f in table.fields)
    out = [head]
    for f in table.fields:
        row = _row(f.key, f)
        if f.example is not None:
            default = f"none, e.g. {toml_value(f.example)}"
        elif row.note or row.value in (None, ""):
            default = "" if row.note == "required" else row.note
        else:
            default = toml_value(row.value)
        extra = f" (default: {default})" if default else ""
        line = f"#   {f.key:<{width}}  {row.meaning}{extra}"
        out += textwrap.wrap(line, 99, subsequent_indent="#" + " " * (width + 5))
    return out


def render_template(project: str | None = None) -> str:
    """A commented thothctl.toml holding the built-in defaults (what `config init` writes).
    ``project`` (from --project) is checked first: an empty or invalid one is a UsageError."""
    if project is not None:
        try:
            check_project(project)
        except ValueError as exc:
            raise UsageError(f"--project: {exc}", hint="nothing was written") from None
    out = [
        "# thothctl configuration. Every value below is the built-in default: delete what you do",
        "# not change. Run `thothctl config show` to see the effective values and their sources.",
    ]
    for f in TOP_FIELDS:
        out += ["", f"# {describe(f)}"]
        value = project if f.key == "project" else DEFAULTS[f.key]
        if value is None:
            out.append(f"# {f.key} = {toml_value(f.example)}")
        else:
            out.append(f"{f.key} = {toml_value(value)}")
    for table in TABLES:
        out += ["", *_table_keys(table)]
        for name, item in DEFAULTS[table.name].items():
            out += ["", f"[{table.name}.{name}]"]
            out += [f"{key} = {toml_value(val)}" for key, val in item.items()]
    out += [
        "",
        "# Named environments override any key above; select one with --env NAME.",
        "# [env.prod]",
        '# project = "thoth-prod"',
        "# [env.prod.jobs.daily-sync]",
        '# schedule = "0 3 * * *"',
        "",
    ]
    return "\n".join(out)
