"""`thothctl --emulator` from two terminals at once: the second invocation talks to the emulator
the first one started, so `logs -f` in one sees `jobs run` from the other, and nothing a process
wrote is overwritten by another's copy of the state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    env.update(
        {
            "NO_GCE_CHECK": "true",
            "THOTHCTL_EMULATOR_DATA": str(tmp_path / "state" / "emulator.json"),
            "GITLAB_TOKEN": "glpat-embedded-test-0001",
        }
    )
    return env


def thothctl(env, cwd, *args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "thothctl", "--emulator", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow  # two processes and a subprocess emulator: seconds
def test_a_second_terminal_shares_the_first_ones_emulator(tmp_path):
    env = _env(tmp_path)
    assert thothctl(env, tmp_path, "init", "--yes", "--no-input").returncode == 0
    lock = tmp_path / "state" / "emulator.json.lock"

    follower = subprocess.Popen(
        [sys.executable, "-m", "thothctl", "--emulator", "logs", "jobs", "-f"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.1)
        address = lock.read_text().strip()
        assert address.startswith("127.0.0.1:"), "the follower owns the embedded emulator"

        run = thothctl(env, tmp_path, "jobs", "run", "daily-sync", "--wait", "--timeout", "30s")
        assert run.returncode == 0, run.stderr
        time.sleep(1.0)  # let the follower's tail deliver the attempt
    finally:
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "daily-sync: POST" in out, out
    assert "Traceback" not in err

    # the run made through the follower's emulator was persisted by it
    after = thothctl(env, tmp_path, "jobs", "describe", "daily-sync", "-o", "json")
    assert after.returncode == 0, after.stderr
    attempt = json.loads(after.stdout)["last_attempt"]
    assert attempt["ok"] is True and attempt["http_status"] == 200
    assert lock.read_text().strip() == "", "the owner cleared its address on exit"
