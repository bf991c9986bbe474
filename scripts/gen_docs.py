#!/usr/bin/env python3
"""Generate the command reference (docs/commands.md, and the README's command and configuration
reference tables) from the thothctl app itself.

    python scripts/gen_docs.py            # (re)write docs/commands.md and the README blocks
    python scripts/gen_docs.py --check    # exit 1 if any of them is stale

Every command gets its usage line, summary, description, examples, arguments and options, in the
order and groups of ``thothctl --help``. A test fails when the file is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import apptree

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "commands.md"
README = ROOT / "README.md"
BLOCKS = ("commands", "config")
# Typer's own shell-integration options: documented once, in the shell completion note.
TYPER_COMPLETION_OPTIONS = {"--install-completion", "--show-completion"}


def escape(text: str) -> str:
    """Escape markdown specials in prose, leaving `code spans` alone."""
    parts = re.split(r"(`[^`]*`)", text)
    for i, part in enumerate(parts):
        if not part.startswith("`"):
            parts[i] = re.sub(r"([\\*_<>|])", r"\\\1", part)
    return "".join(parts)


def cell(text: str) -> str:
    """Table cell: one line; a pipe, even inside a code span, must be escaped in GFM tables."""
    parts = re.split(r"(`[^`]*`)", " ".join(text.split()))
    return "".join(p.replace("|", "\\|") if p.startswith("`") else escape(p) for p in parts)


def code_cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def anchor(node: dict[str, Any]) -> str:
    """GitHub's anchor for the command's heading."""
    return "-".join([apptree.PROG, *node["path"]])


def title(node: dict[str, Any]) -> str:
    return " ".join([apptree.PROG, *node["path"]])


def usage(node: dict[str, Any]) -> str:
    words = [title(node), "[OPTIONS]"]
    if node["commands"]:
        words.append("COMMAND [ARGS]...")
    for arg in node["arguments"]:
        meta = arg["metavar"]
        if meta.startswith("-- ") or meta.startswith("["):
            words.append(meta if arg["nargs"] != -1 or meta.endswith("...") else meta + "...")
            continue
        if arg["nargs"] == -1:
            meta += "..."
        words.append(meta if arg["required"] else f"[{meta}]")
    return " ".join(words)


def split_help(text: str) -> tuple[str, list[str], list[str]]:
    """(summary, description paragraphs, example command lines: every line of an "Examples:"
    paragraph, one command each)."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    summary = apptree.summary_of(paragraphs[0]) if paragraphs else ""
    body, examples = [], []
    for para in paragraphs[1:]:
        kept = []
        in_examples = False
        for line in para.splitlines():
            match = re.match(r"\s*Examples?:\s*(.*)", line)
            if match:
                in_examples = True
                if match.group(1):
                    examples.append(match.group(1).strip())
            elif in_examples and line.strip():
                examples.append(line.strip())
            else:
                kept.append(line.strip())
        if kept:
            listy = any(re.match(r"([-*]|\d+\.)\s", line) for line in kept)
            body.append(("\n" if listy else " ").join(kept))
    return summary, body, examples


def option_row(opt: dict[str, Any]) -> str:
    """One option: its names and metavar exactly as `--help` shows them, its help, and the notes
    the help does not already give."""
    meta = opt["metavar"]
    names = ", ".join(opt["names"])
    label = code_cell(f"{names}{' ' + meta if meta else ''}")
    notes = []
    if opt["multiple"] and "repeat" not in opt["help"].lower():
        notes.append("Repeatable.")
    if opt["default"] is not None:
        notes.append(f"Default: `{opt['default']}`.")
    if opt["envvar"] and opt["envvar"] not in opt["help"]:
        notes.append(f"Env: `{opt['envvar']}`.")
    if opt["required"]:
        notes.append("Required.")
    return f"| {label} | {' '.join([cell(opt['help']), *notes]).strip()} |"


def render_command(node: dict[str, Any], level: int) -> list[str]:
    summary, body, examples = split_help(node["help"])
    out = [f"{'#' * level} `{title(node)}`", ""]
    out += [escape(summary), ""]
    for para in body:
        out += [escape(para), ""]
    out += ["```", usage(node), "```", ""]
    if examples:
        out += ["Example" + ("s" if len(examples) > 1 else "") + ":", "", "```bash"]
        out += examples  # one per line, copied as they are
        out += ["```", ""]
    if node["arguments"]:
        out += ["| Argument | Description |", "| --- | --- |"]
        for arg in node["arguments"]:
            req = " (required)" if arg["required"] else ""
            out.append(f"| {code_cell(arg['metavar'])}{req} | {cell(arg['help'])} |")
        out.append("")
    options = [o for o in node["options"] if "--help" not in o["names"]]
    if options:
        out += ["| Option | Description |", "| --- | --- |"]
        out += [option_row(o) for o in options]
        out.append("")
    if node["commands"]:
        out += ["| Command | Summary |", "| --- | --- |"]
        for child in node["commands"]:
            out.append(f"| [`{title(child)}`](#{anchor(child)}) | {cell(child['summary'])} |")
        out.append("")
    for child in node["commands"]:
        out += render_command(child, level + 1)
    return out


def render(tree: dict[str, Any]) -> str:
    summary, body, _ = split_help(tree["help"])
    out = [
        "# thothctl command reference",
        "",
        "<!-- Generated by scripts/gen_docs.py from the app; do not edit by hand. "
        "A test fails when this file is stale: run `python scripts/gen_docs.py`. -->",
        "",
        escape(summary),
        "",
        *[escape(p) + "\n" for p in body],
        "Every command also takes `-h`/`--help`.",
        "",
        "## Commands",
        "",
    ]
    panels: dict[str, list[dict[str, Any]]] = {}
    for child in tree["commands"]:
        panels.setdefault(child.get("panel") or "Other", []).append(child)
    for panel, children in panels.items():
        out += [f"**{panel}**", ""]
        for child in children:
            out.append(f"- [`{title(child)}`](#{anchor(child)}): {escape(child['summary'])}")
        out.append("")
    out += [
        "## Global options",
        "",
        "Global options work before or after the subcommand: `thothctl secrets list -o json` "
        "means `thothctl -o json secrets list`.",
        "",
        "| Option | Description |",
        "| --- | --- |",
    ]
    root_opts = [
        o
        for o in tree["options"]
        if "--help" not in o["names"] and not TYPER_COMPLETION_OPTIONS & set(o["names"])
    ]
    out += [option_row(o) for o in root_opts]
    out += [
        "",
        "Shell completion: `thothctl --install-completion` installs completion for the current "
        "shell; `thothctl --show-completion` prints it. The scripts in `completions/` (bash, zsh, "
        "fish) do the same without starting Python for commands and options.",
        "",
    ]
    for child in tree["commands"]:
        out += render_command(child, 2)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip("\n") + "\n"


def generate() -> str:
    return render(apptree.command_tree())


def _leaves(node: dict[str, Any]):
    for child in node["commands"]:
        if child["commands"]:
            yield from _leaves(child)
        else:
            yield child


def readme_commands(tree: dict[str, Any]) -> str:
    """Every command: its usage and summary, linked to its full entry in docs/commands.md."""
    out = ["| Command | Summary |", "| --- | --- |"]
    for leaf in _leaves(tree):
        out.append(
            f"| [`{usage(leaf).replace(' [OPTIONS]', '')}`](docs/commands.md#{anchor(leaf)}) "
            f"| {cell(leaf['summary'])} |"
        )
    return "\n".join(out)


def _default(value: Any) -> str:
    import json

    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return code_cell(value)
    return code_cell(json.dumps(value))


def readme_config() -> str:
    """Every key of thothctl.toml with its type, default and meaning, from the config's field
    table (the same rows `config init` comments and `config show` lists)."""
    from thothctl import config

    out = ["| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for row in config.reference_rows():
        default = cell(row.note) if row.note else _default(row.value)
        out.append(f"| `{row.key}` | {row.type} | {default} | {cell(row.meaning)} |")
    out.append("| `[env.NAME]` | table | | any of the keys above, for `--env NAME` |")
    builtin = {t.name: ", ".join(f"`{n}`" for n in config.DEFAULTS[t.name]) for t in config.TABLES}
    out += [
        "",
        "A `[secrets.NAME]` or `[jobs.NAME]` table that leaves a key out gets the default above. "
        f"The built-in secrets ({builtin['secrets']}) and jobs ({builtin['jobs']}) set their own "
        "values: `thothctl config init` writes them out, `thothctl config show` lists them.",
    ]
    return "\n".join(out)


def render_readme(text: str, tree: dict[str, Any]) -> str:
    blocks = {"commands": readme_commands(tree), "config": readme_config()}
    for name in BLOCKS:
        begin = f"<!-- BEGIN GENERATED {name}: scripts/gen_docs.py -->"
        end = f"<!-- END GENERATED {name} -->"
        start, stop = text.index(begin) + len(begin), text.index(end)
        text = text[:start] + "\n" + blocks[name] + "\n" + text[stop:]
    return text


def generate_readme(path: Path = README) -> str:
    return render_readme(path.read_text(), apptree.command_tree())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=OUT, help="output file")
    parser.add_argument("--readme", type=Path, default=README, help="README whose blocks to fill")
    args = parser.parse_args(argv)
    text = generate()
    readme = generate_readme(args.readme)
    if args.check:
        stale = [
            str(path)
            for path, want in ((args.out, text), (args.readme, readme))
            if not path.is_file() or path.read_text() != want
        ]
        if stale:
            print(
                f"{', '.join(stale)} stale; run `python scripts/gen_docs.py` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} and the README's generated sections are current")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.readme.write_text(readme)
    print(f"wrote {args.out} and the README's generated sections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
