"""How a command ends when the world goes away (issue 12, items 4 and 9), with real processes:
SIGTERM (what CI runners and `timeout` send) is handled like Ctrl-C, with a message, cleanup and
exit 143, while following logs, at a prompt and in the middle of applying; a reader that closes
the pipe early (`| head -1`) ends the command quietly with 141, even under `set -o pipefail`."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys

import pytest
from reliability_helpers import TOKEN_ENV, duplicates, snapshot, spawn, thothctl_env
from terminal_io import read_until

SERVICE_LOG = {
    "project_id": "thoth-local",
    "log_id": "run.googleapis.com/stdout",
    "resource_type": "cloud_run_revision",
    "resource_labels": {"service_name": "thoth-mcp-server", "location": "us-central1"},
}


def test_sigterm_while_following_logs_exits_143_with_a_message(enabled_apis, tmp_path):
    proc = spawn(enabled_apis, "logs", "--follow", cwd=str(tmp_path))
    seen = read_until(proc.stderr.fileno(), b"Following new log entries")
    assert b"Following new log entries" in seen, seen
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    text = (seen + err).decode(errors="replace")
    assert proc.returncode == 143, text
    assert text.rstrip().endswith("terminated (SIGTERM)")
    assert "Traceback" not in text


def test_sigterm_at_the_secret_prompt_exits_143_and_changes_nothing(emulator, tmp_path):
    """A real terminal: init asks for the token (hidden), the CI runner cancels the job."""
    env = thothctl_env(emulator)
    pid, fd = pty.fork()
    if pid == 0:  # the child: thothctl on a pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "thothctl", "init"], env)
    try:
        seen = read_until(fd, b"(gitlab-token)")
        assert b"(gitlab-token)" in seen, seen
        emulator.calls.reset()
        os.kill(pid, signal.SIGTERM)
        rest = read_until(fd, b"\x00never", timeout=20)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = (seen + rest).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 143, text
    assert "terminated (SIGTERM)" in text and "Traceback" not in text
    assert [c.method for c in emulator.calls.snapshot() if c.mutating] == []


def test_sigterm_mid_apply_exits_143_and_the_next_run_finishes(
    cli, emulator, clients, on_mutating_call, tmp_path
):
    emulator.operation_ms = 20
    holder: dict[str, subprocess.Popen] = {}
    hook = on_mutating_call(1, lambda _m: holder["proc"].send_signal(signal.SIGTERM))
    proc = holder["proc"] = spawn(
        emulator, "init", "--yes", "--no-input", cwd=str(tmp_path), env=TOKEN_ENV
    )
    out, err = proc.communicate(timeout=60)
    text = (out + err).decode(errors="replace")
    assert hook.fired, hook.seen
    assert proc.returncode == 143, text
    assert "terminated (SIGTERM)" in text and "Traceback" not in text
    emulator.faults = hook.inner
    again = cli("init", "--yes", "--no-input", env=TOKEN_ENV)
    assert again.exit_code == 0, again.output
    assert duplicates(snapshot(clients)) == []


@pytest.mark.parametrize("output", ["table", "json"])
def test_a_reader_that_stops_early_ends_the_command_quietly(enabled_apis, tmp_path, output):
    """`thothctl logs | head -1` under `set -o pipefail`: the script sees status 141 (the status
    of a process killed by SIGPIPE, as `yes | head -1` gives) and no error message. The output is
    bigger than a pipe's buffer, so the pipe really closes under the writer."""
    for i in range(300):  # ~100 KB of output
        enabled_apis.write_log(**SERVICE_LOG, text_payload=f"line {i:04d} " + "x" * 300)
    script = f"set -o pipefail; {sys.executable} -m thothctl -o {output} logs --limit 300 | head -1"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=thothctl_env(enabled_apis),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 141, done.stderr.decode()
    assert done.stderr == b""
    assert b"line 0000" in done.stdout  # oldest first: the reader got the first line
