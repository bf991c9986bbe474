"""The command reference is generated from the app and current; every command explains itself
with a summary and an example that names a real command; `thothctl --help` groups commands the
way a newcomer meets them."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "commands.md"
PANELS = ["Setup", "Secrets", "Jobs", "Observe", "Local emulator"]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen_docs():
    return load_script("gen_docs")


@pytest.fixture(scope="module")
def tree():
    apptree = load_script("apptree")
    return apptree, apptree.command_tree()


def test_command_reference_is_current(gen_docs):
    assert DOCS.read_text() == gen_docs.generate(), (
        "docs/commands.md is stale: run `python scripts/gen_docs.py`"
    )


def test_check_fails_when_a_command_changes_without_regenerating(gen_docs, tmp_path, monkeypatch):

    from thothctl.cli import app

    out = tmp_path / "commands.md"
    readme = tmp_path / "README.md"
    readme.write_text((REPO / "README.md").read_text())
    files = ["--out", str(out), "--readme", str(readme)]
    assert gen_docs.main(files) == 0
    assert gen_docs.main(["--check", *files]) == 0

    def frobnicate() -> None:
        """Frobnicate the widgets.

        Example: thothctl frobnicate
        """

    monkeypatch.setattr(app, "registered_commands", [*app.registered_commands])
    app.command("frobnicate", rich_help_panel="Setup")(frobnicate)
    assert gen_docs.main(["--check", *files]) == 1
    assert "## `thothctl frobnicate`" in gen_docs.generate()


def test_every_command_and_option_is_documented(tree):
    apptree, root = tree
    text = DOCS.read_text()
    for node in apptree.walk(root):
        if node["path"]:
            assert f"`{' '.join(['thothctl', *node['path']])}`" in text
        for opt in node["options"]:
            if opt["names"][0] in ("--help", "--install-completion", "--show-completion"):
                continue
            assert opt["names"][0] in text, f"{node['path']} {opt['names'][0]} undocumented"


def test_every_command_has_a_summary_and_an_example_of_a_real_command(tree):
    apptree, root = tree
    gen_docs = load_script("gen_docs")
    problems = []
    for node in apptree.walk(root):
        if not node["path"] or node["commands"]:
            continue  # groups list their commands instead
        summary, _body, examples = gen_docs.split_help(node["help"])
        where = " ".join(node["path"])
        if not summary:
            problems.append(f"{where}: no summary")
        if not examples:
            problems.append(f"{where}: no 'Example: thothctl ...' line")
        for example in examples:
            if not resolves(example, root):
                problems.append(f"{where}: example {example!r} names no command")
    assert not problems, "\n".join(problems)


def resolves(example: str, root: dict) -> bool:
    """Does the example's thothctl part (it may sit in a pipeline, after an env assignment, or in
    ``$(...)`` / ``<(...)``) walk to a real command?"""
    parts = [p[p.find("thothctl ") :] for p in example.split("|") if "thothctl " in p]
    if not parts:
        return False
    command = parts[0].split(")", 1)[0]
    try:
        words = shlex.split(command)
    except ValueError:  # a quote opened in a remark after the command
        words = command.split()
    node = root
    value_opts = {n for o in root["options"] if not o["flag"] for n in o["names"]}
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in value_opts
            continue
        if not node["commands"]:
            return True
        children = {c["name"]: c for c in node["commands"]}
        if word not in children:
            return False
        node = children[word]
        value_opts |= {n for o in node["options"] if not o["flag"] for n in o["names"]}
    return not node["commands"]


def test_root_help_groups_commands_for_a_newcomer(cli):
    r = cli("--help")
    assert r.exit_code == 0
    positions = [r.stdout.find(f"─ {panel} ─") for panel in PANELS]
    assert all(p > 0 for p in positions), r.stdout
    assert positions == sorted(positions)
    assert "__complete" not in r.stdout


def test_readme_reference_sections_are_current(gen_docs):
    readme = (REPO / "README.md").read_text()
    assert readme == gen_docs.generate_readme(), (
        "the README's generated command/configuration reference is stale: run "
        "`python scripts/gen_docs.py`"
    )
    for key in ("schedule", "attempt_deadline", "runtime_service_account", "aliases"):
        assert (
            key
            in readme.split("### Configuration reference", 1)[1].split("## Global options", 1)[0]
        )


def test_help_shows_conventional_metavars_and_no_type_labels(cli, tree):
    """`--help` of every command: a flag shows no value, an option shows what it takes in
    capitals, an argument is NAME; never <bool>, <str>, <list[str]>, <int range> or {name}."""
    apptree, root = tree
    for node in apptree.walk(root):
        r = cli(*node["path"], "--help", env={"COLUMNS": "120"})
        assert r.exit_code == 0, r.output
        for label in ("<bool>", "<str>", "<list[str]>", "<int", "<float", "{"):
            assert label not in r.stdout, f"{' '.join(node['path'])} --help shows {label}"
    rotate = cli("secrets", "rotate", "--help").stdout
    assert "Usage: thothctl secrets rotate [OPTIONS] NAME [-]" in rotate
    assert "--from-file" in rotate and "PATH" in rotate
    run = cli("jobs", "run", "--help").stdout
    assert "--timeout" in run and "DURATION" in run


def test_help_paragraphs_wrap_to_the_terminal_and_examples_keep_one_per_line(cli):
    r = cli("secrets", "rotate", "--help", env={"COLUMNS": "80"})
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    # a paragraph fills its lines: no line of prose stops far before the edge mid-sentence
    prose = [ln for ln in lines if ln.startswith(" Steps:")]
    assert prose and len(prose[0]) > 70
    examples = [ln.strip() for ln in lines if ln.strip().startswith("thothctl secrets rotate ")]
    assert len(examples) >= 2 and "·" not in r.stdout
    assert "`" not in r.stdout, "help shows commands in bold, never in backticks"


def test_reference_examples_are_one_copyable_command_per_line(gen_docs, tree):
    text = DOCS.read_text()
    assert "·" not in text and "Repeatable. Repeatable." not in text
    assert "$ thothctl" not in text, "examples are copied as they are: no prompt sign"
    assert " TEXT`" not in text and "<str>" not in text
    apptree, root = tree
    for node in apptree.walk(root):
        for example in gen_docs.split_help(node["help"])[2]:
            assert "thothctl" in example and "·" not in example, example
