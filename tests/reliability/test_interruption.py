"""Interruption: `thothctl init` killed (SIGKILL) at each kind of step of its plan, then run again:
it converges to exactly what an uninterrupted run leaves, with no duplicates. Ctrl-C (SIGINT) at a
prompt and in the middle of applying: exit 130, no traceback, and the next run finishes the job.

The kill is driven by the calls arriving at the emulator: when the chosen mutating call arrives,
the child process is killed, and that call is either applied (its answer goes nowhere) or not.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys

import pytest
from reliability_helpers import TOKEN_ENV, duplicates, snapshot, spawn, thothctl_env
from terminal_io import read_until

# One kill point per kind of step in the init plan (apis, service-account, secret,
# secret-version, iam on a secret, iam on the service, job), alternating whether the call that
# was in flight took effect.
KILL_POINTS = [
    ("BatchEnableServices", 1, True),
    ("CreateServiceAccount", 1, False),
    ("CreateSecret", 1, True),
    ("AddSecretVersion", 1, True),
    ("SecretManagerService/SetIamPolicy", 2, False),
    ("Services/SetIamPolicy", 1, True),
    ("CreateJob", 1, False),
    ("CreateJob", 2, True),
]


@pytest.fixture
def converged(cli, emulator, clients):
    """What an uninterrupted init leaves (the emulator is reset afterwards)."""
    assert cli("init", "--yes", "--no-input", env=TOKEN_ENV).exit_code == 0
    snap = snapshot(clients)
    emulator.reset(seed=True)
    emulator.operation_ms = 20
    return snap


def _run_until(emulator, on_mutating_call, tmp_path, method, n, apply, sig):
    holder: dict[str, subprocess.Popen] = {}
    hook = on_mutating_call(
        n, lambda _m: holder["proc"].send_signal(sig), apply=apply, method=method
    )
    proc = spawn(emulator, "init", "--yes", "--no-input", cwd=str(tmp_path), env=TOKEN_ENV)
    holder["proc"] = proc
    out, err = proc.communicate(timeout=60)
    return hook, proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("method", "n", "apply"), KILL_POINTS, ids=[f"{m}#{n}" for m, n, _ in KILL_POINTS]
)
def test_init_killed_at_a_step_is_finished_by_the_next_run(
    cli, emulator, clients, converged, on_mutating_call, tmp_path, method, n, apply
):
    hook, code, _out, _err = _run_until(
        emulator, on_mutating_call, tmp_path, method, n, apply, signal.SIGKILL
    )
    assert hook.fired, f"{method} #{n} never arrived; calls: {hook.seen}"
    assert code == -signal.SIGKILL
    emulator.faults = hook.inner
    again = cli("init", "--yes", "--no-input", env=TOKEN_ENV)
    assert again.exit_code == 0, again.output
    snap = snapshot(clients)
    assert duplicates(snap) == []
    assert snap == converged
    rerun = cli("init", "--dry-run", "-o", "json").json()["plan"]["summary"]
    assert rerun["create"] == rerun["update"] == 0


def test_ctrl_c_mid_apply_exits_130_and_the_next_run_finishes(
    cli, emulator, clients, converged, on_mutating_call, tmp_path
):
    hook, code, out, err = _run_until(
        emulator, on_mutating_call, tmp_path, "CreateSecret", 1, True, signal.SIGINT
    )
    assert hook.fired
    assert code == 130, err
    assert "Traceback" not in err + out
    assert "interrupted" in err
    emulator.faults = hook.inner
    assert cli("init", "--yes", "--no-input", env=TOKEN_ENV).exit_code == 0
    snap = snapshot(clients)
    assert duplicates(snap) == []
    assert snap == converged


def test_ctrl_c_at_the_secret_prompt_exits_130_and_changes_nothing(emulator, tmp_path):
    """A real terminal: init prompts for the token (hidden), the user presses Ctrl-C."""
    env = thothctl_env(emulator)
    pid, fd = pty.fork()
    if pid == 0:  # the child: thothctl on a pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "thothctl", "init"], env)
    try:
        seen = read_until(fd, b"(gitlab-token)")
        assert b"(gitlab-token)" in seen, seen
        emulator.calls.reset()
        os.write(fd, b"\x03")  # Ctrl-C, turned into SIGINT by the terminal
        rest = read_until(fd, b"\x00never", timeout=20)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130, rest
    text = (seen + rest).decode(errors="replace")
    assert "Traceback" not in text
    assert "interrupted" in text
    assert [c.method for c in emulator.calls.snapshot() if c.mutating] == []
