"""The architecture's rules, enforced: each test walks the source's AST and fails on a breach.

The rooms (docs/architecture.md): ``cli/`` parses, prompts, calls the library and renders; the
library returns data; ``clients.py`` is the one place that builds Google clients; ``output.py`` the
one place that talks to the terminal; ``emulator/`` stands alone. These tests read the code (nothing
is imported), so they run in milliseconds and name the file and line of every breach.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "thothctl"

MAX_FILE_LINES = 600
MAX_FUNCTION_BODY_LINES = 60


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. thothctl.cli.secrets
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(SRC))

    def in_room(self, *rooms: str) -> bool:
        return any(self.name == r or self.name.startswith(r + ".") for r in rooms)


def _modules() -> list[Module]:
    found = []
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return found


MODULES = _modules()
NAMES = {m.name for m in MODULES}
IS_PACKAGE = {m.name for m in MODULES if m.path.name == "__init__.py"}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """Line numbers of statements under ``if TYPE_CHECKING:`` (never executed)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def imports(module: Module) -> Iterator[tuple[str, int]]:
    """Every module this one imports at run time (top level or inside functions): (name, line)."""
    skip = _type_checking_blocks(module.tree)
    for node in ast.walk(module.tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.name.split(".")
                if module.name not in IS_PACKAGE:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from pkg import module` imports pkg.module
                if f"{target}.{alias.name}" in NAMES:
                    yield f"{target}.{alias.name}", node.lineno


def _breaches(check, modules: list[Module] | None = None) -> list[str]:
    out = []
    for module in MODULES if modules is None else modules:
        out.extend(f"{module.rel}:{line}: {what}" for line, what in check(module))
    return out


def _assert_clean(breaches: list[str]) -> None:
    assert not breaches, f"{len(breaches)} breach(es):\n" + "\n".join(breaches)


# --- who may import what ---------------------------------------------------------------------

GOOGLE_ROOMS = ("thothctl.clients", "thothctl.emulator")


def _is_google(name: str) -> bool:
    return name == "grpc" or name.startswith(("google.", "grpc.")) or name == "google"


def google_check(m: Module):
    if m.in_room(*GOOGLE_ROOMS):
        return
    for name, line in imports(m):
        if _is_google(name):
            yield line, f"imports {name} (only clients.py and emulator/ may)"


def test_only_clients_and_the_emulator_import_google_or_grpc():
    _assert_clean(_breaches(google_check))


def typer_rich_check(m: Module):
    for name, line in imports(m):
        top = name.split(".")[0]
        if top == "rich" and m.name != "thothctl.output":
            yield line, "imports rich (only output.py renders)"
        if top == "typer" and not m.in_room("thothctl.cli"):
            yield line, "imports typer (only cli/ is the command line)"


def test_the_library_imports_neither_typer_nor_rich():
    _assert_clean(_breaches(typer_rich_check))


def emulator_check(m: Module):
    if not m.in_room("thothctl.emulator"):
        return
    for name, line in imports(m):
        if name.startswith("thothctl.") and not name.startswith("thothctl.emulator"):
            yield line, f"imports {name} (the emulator stands alone)"


def test_the_emulator_imports_neither_the_cli_nor_the_library():
    _assert_clean(_breaches(emulator_check))


def layers_check(m: Module):
    if m.in_room("thothctl.cli") or m.name == "thothctl.__main__":
        return
    for name, line in imports(m):
        if name == "thothctl.cli" or name.startswith("thothctl.cli."):
            yield line, f"imports {name} (data flows cli -> library, never back)"


def test_the_library_never_imports_the_cli():
    _assert_clean(_breaches(layers_check))


# --- one place talks to the terminal ----------------------------------------------------------

_TERMINAL_STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}


def terminal_check(m: Module):
    if m.name == "thothctl.output":
        return
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            yield node.lineno, "calls print() (use thothctl.output)"
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _TERMINAL_STREAMS
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            yield node.lineno, f"uses sys.{node.attr} (use thothctl.output)"
        if isinstance(node, ast.Name) and node.id == "Console":
            yield node.lineno, "uses a rich Console (use thothctl.output)"


def test_only_output_writes_to_the_terminal():
    _assert_clean(_breaches(terminal_check))


# --- no cycles ---------------------------------------------------------------------------------


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m.name: set() for m in MODULES}
    for m in MODULES:
        for name, _line in imports(m):
            # the closest module of ours the import names (pkg.mod.attr -> pkg.mod)
            parts = name.split(".")
            while parts and ".".join(parts) not in NAMES:
                parts.pop()
            target = ".".join(parts)
            if target and target != m.name:
                graph[m.name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    _assert_clean([" -> ".join(c) for c in _cycles(_graph())])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# --- sizes a newcomer can read -----------------------------------------------------------------


def test_no_source_file_is_over_the_limit():
    long = [
        f"{m.rel}: {n} lines"
        for m in MODULES
        if (n := len(m.path.read_text().splitlines())) > MAX_FILE_LINES
    ]
    _assert_clean(long)


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body, from its first statement after the docstring (so typer
    command signatures, however long, do not count)."""
    body = fn.body
    first = body[0]
    if (
        len(body) > 1
        and isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        first = body[1]
    return (fn.end_lineno or first.lineno) - first.lineno + 1


def test_no_function_body_is_over_the_limit():
    def check(m: Module):
        for node in ast.walk(m.tree):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and (n := _body_lines(node)) > MAX_FUNCTION_BODY_LINES:
                yield node.lineno, f"{node.name}: body of {n} lines"

    _assert_clean(_breaches(check))


# --- the rules bite: each check fails on a planted breach -------------------------------------


CHECKS = {
    "terminal": terminal_check,
    "google": google_check,
    "typer_rich": typer_rich_check,
    "emulator": emulator_check,
    "layers": layers_check,
}


@pytest.mark.parametrize(
    ("name", "source", "check"),
    [
        ("thothctl.jobs", "def f():\n    print('x')\n", "terminal"),
        ("thothctl.jobs", "import sys\nsys.stdout.write('x')\n", "terminal"),
        ("thothctl.cli.jobs", "from google.cloud import scheduler_v1\n", "google"),
        ("thothctl.secrets.store", "import grpc\n", "google"),
        ("thothctl.doctor", "from rich.text import Text\n", "typer_rich"),
        ("thothctl.cli.doctor", "from rich.table import Table\n", "typer_rich"),
        ("thothctl.jobs", "import typer\n", "typer_rich"),
        ("thothctl.emulator.run", "from thothctl.errors import ThothError\n", "emulator"),
        ("thothctl.jobs", "def f():\n    from thothctl.cli.context import get_ctx\n", "layers"),
    ],
)
def test_a_planted_breach_is_caught(name, source, check):
    planted = Module(name, PKG / "planted.py", ast.parse(source))
    assert _breaches(CHECKS[check], [planted]) != []
    clean = Module(name, PKG / "planted.py", ast.parse("import json\n"))
    assert _breaches(CHECKS[check], [clean]) == []
