"""Shared fixtures: an in-process emulator served over loopback gRPC, the CLI runner, and a
Clients bundle of the official client libraries pointed at the emulator.

No test talks to Google: NO_GCE_CHECK=true, HOME and gcloud's config dir are isolated, and every
client is built on an insecure channel to 127.0.0.1.
"""

from __future__ import annotations

import itertools
import os
import shlex
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_ISOLATED_HOME = tempfile.mkdtemp(prefix="thothctl-test-home-")
os.environ["NO_GCE_CHECK"] = "true"
os.environ["HOME"] = _ISOLATED_HOME
os.environ["XDG_STATE_HOME"] = str(Path(_ISOLATED_HOME) / "state")
os.environ["XDG_CONFIG_HOME"] = str(Path(_ISOLATED_HOME) / "config")
os.environ["CLOUDSDK_CONFIG"] = str(Path(_ISOLATED_HOME) / "gcloud")
os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(Path(_ISOLATED_HOME) / "no-such-adc.json")
os.environ["THOTHCTL_RETRY_DEADLINE"] = "20"
os.environ.pop("CI", None)
for _var in list(os.environ):
    if (
        _var.startswith(("THOTHCTL_", "CLOUDSDK_API_ENDPOINT_OVERRIDES_"))
        and _var != "THOTHCTL_RETRY_DEADLINE"
    ):
        del os.environ[_var]
for _var in ("CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT", "COLUMNS", "NO_COLOR"):
    os.environ.pop(_var, None)

_SLOW_DIRS = ("reliability",)
# Whole files of multi-process tests: a daemon, real shells, fresh interpreters timed for imports.
_SLOW_FILES = ("test_daemon.py", "test_startup.py", "test_completions.py")
_MARK = "THOTHCTL_TEST_MARK"
_MARKS = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    """The reliability suite (faults, races, kills, load) and the multi-process files are the slow
    lane: `-m "not slow"` skips them, and any test marked slow by hand joins them."""
    for item in items:
        path = Path(str(item.fspath))
        if any(d in path.parts for d in _SLOW_DIRS) or path.name in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)


# --- no test leaves a process behind --------------------------------------------------------------


def _marked_processes(mark: str) -> list[tuple[int, str]]:
    """Live thothctl processes (daemons, `emulator serve`, `logs -f`, ...) started during the test
    that carries ``mark``: they inherit it in their environment."""
    wanted = f"{_MARK}={mark}".encode()
    found = []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = fh.read()
            if b"thothctl" not in cmdline:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                zombie = fh.read().rsplit(b") ", 1)[-1][:1] == b"Z"
        except OSError:
            continue
        if wanted in environ and not zombie:
            found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


@pytest.fixture(autouse=True)
def _no_stray_process(monkeypatch):
    """Fails a test that leaves a thothctl process running (an emulator daemon, a served
    emulator, a `logs -f`), and kills it: a leftover process can hold CI open until it times
    out. Every process the test starts inherits the test's mark in its environment."""
    mark = f"{os.getpid()}-{next(_MARKS)}"
    monkeypatch.setenv(_MARK, mark)
    yield
    deadline = time.monotonic() + 3.0  # one that is stopping gets a moment to exit
    while (strays := _marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid, _ in strays:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if strays:
        listed = "; ".join(f"pid {pid}: {cmd.strip()}" for pid, cmd in strays)
        pytest.fail(f"the test left {len(strays)} process(es) running: {listed}", pytrace=False)


@pytest.fixture
def local_emulator(tmp_path, monkeypatch):
    """`thothctl --emulator` with its own state file (in tmp_path): the daemon it starts is
    stopped when the test ends. Yields the state file's path."""
    from thothctl.emulator import daemon

    data = tmp_path / "state" / "emulator.db"
    monkeypatch.delenv("THOTHCTL_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("THOTHCTL_EMULATOR_DATA", str(data))
    yield data
    daemon.stop(data)


THOTH_APIS = (
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
)


@pytest.fixture(scope="session")
def _emulator_server():
    from thothctl.emulator.server import Emulator

    emu = Emulator(seed=True, operation_ms=50)
    emu.start("127.0.0.1", 0)
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_emulator_server, monkeypatch):
    """A freshly seeded emulator (project thoth-local) for each test; THOTHCTL_EMULATOR_HOST set."""
    _emulator_server.operation_ms = 50
    _emulator_server.reset(seed=True)
    monkeypatch.setenv("THOTHCTL_EMULATOR_HOST", _emulator_server.address)
    return _emulator_server


@pytest.fixture
def enabled_apis(emulator):
    """The emulator with the APIs Thoth needs already enabled (most command tests start here)."""
    emulator.control_ops()["apis_set"]({"project": "thoth-local", "enable": list(THOTH_APIS)})
    return emulator


@pytest.fixture
def clients(emulator):
    """The official client libraries, through thothctl's one client factory, at the emulator."""
    from thothctl.clients import Clients, ClientSettings

    bundle = Clients(ClientSettings(project="thoth-local", emulator_host=emulator.address))
    yield bundle
    bundle.close()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        import json

        return json.loads(self.stdout)


_COMMANDS: dict[tuple[int, int, int], object] = {}


def _session_command(typer_app):
    from typer.main import get_command

    # A test that registers a command (the docs and completion staleness tests) gets a new tree.
    key = (id(typer_app), len(typer_app.registered_commands), len(typer_app.registered_groups))
    if key not in _COMMANDS:
        _COMMANDS[key] = get_command(typer_app)
    return _COMMANDS[key]


@pytest.fixture
def cli(monkeypatch, tmp_path) -> Iterator:
    """Run thothctl in-process like a user would: ``cli("secrets", "list", "-o", "json")``.

    Runs in a temporary working directory (so no stray thothctl.toml is picked up) with a fixed
    terminal width. ``input`` feeds stdin; ``env`` adds environment variables.
    """
    import typer.testing
    from typer.testing import CliRunner

    from thothctl.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    # The runner rebuilds the click command tree on every invoke (~16 ms); the tree of one app is
    # the same for a whole session, so build it once.
    monkeypatch.setattr(typer.testing, "_get_command", _session_command)

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        if len(args) == 1 and " " in args[0]:
            args = tuple(shlex.split(args[0]))
        result = runner.invoke(app, list(args), input=input, env={"COLUMNS": "200", **(env or {})})
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
