"""`thothctl emulator serve` as a separate process, steered from a second "shell"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest


@pytest.fixture
def served(tmp_path):
    env = {**os.environ, "NO_GCE_CHECK": "true"}
    env.pop("THOTHCTL_EMULATOR_HOST", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thothctl",
            "emulator",
            "serve",
            "--port",
            "0",
            "--data",
            str(tmp_path / "e.db"),
            "--operation-ms",
            "0",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    address = json.loads(line)["address"]
    yield proc, address, {**env, "THOTHCTL_TEST_DATA": str(tmp_path / "e.db")}
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def run(env, address, *args):
    return subprocess.run(
        [sys.executable, "-m", "thothctl", *args],
        capture_output=True,
        text=True,
        env={**env, "THOTHCTL_EMULATOR_HOST": address},
        timeout=60,
    )


@pytest.mark.slow  # a served emulator in another process: seconds
def test_serve_then_drive_it_from_another_process(served):
    proc, address, env = served
    enabled = run(env, address, "apis", "enable", "-o", "json")
    assert enabled.returncode == 0, enabled.stderr
    assert "secretmanager.googleapis.com" in json.loads(enabled.stdout)["enabled"]

    calls = run(env, address, "emulator", "calls", "-o", "json")
    methods = [c["method"] for c in json.loads(calls.stdout)]
    assert "/google.api.serviceusage.v1.ServiceUsage/BatchEnableServices" in methods

    assert (
        run(
            env,
            address,
            "emulator",
            "faults",
            "set",
            "--fail-rate",
            "1",
            "--fail-code",
            "INTERNAL",
            "--fault-methods",
            "BatchGetServices",
        ).returncode
        == 0
    )
    failing = run(env, address, "apis", "status")
    assert (
        failing.returncode == 1
        and "INTERNAL" in failing.stderr
        and "Traceback" not in failing.stderr
    )
    assert run(env, address, "emulator", "faults", "clear").returncode == 0
    assert run(env, address, "emulator", "reset-calls").returncode == 0
    assert run(env, address, "apis", "status").returncode == 0
    after = json.loads(run(env, address, "emulator", "calls", "-o", "json").stdout)
    assert [c["method"] for c in after] == [
        "/google.api.serviceusage.v1.ServiceUsage/BatchGetServices"
    ]

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert "Traceback" not in proc.stderr.read()


def test_bad_fault_flags_exit_2(served):
    _, address, env = served
    result = run(env, address, "emulator", "faults", "set", "--fail-code", "NOPE")
    assert result.returncode == 2 and "not a gRPC status code" in result.stderr


def test_control_commands_without_an_emulator_say_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    result = subprocess.run(
        [sys.executable, "-m", "thothctl", "emulator", "calls"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        "THOTHCTL_EMULATOR_HOST is not set" in result.stderr and "emulator serve" in result.stderr
    )


def test_stub_commands_steer_the_sync_service(cli, enabled_apis, tmp_path):
    enabled_apis.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    # no retries: every request the stub records comes from the run the test asked for
    (tmp_path / "thothctl.toml").write_text("[jobs.daily-sync]\nretry_count = 0\n")
    assert cli("jobs", "apply").exit_code == 0
    assert cli("emulator", "stub", "set", "--status", "503").exit_code == 0
    failed = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s")
    assert failed.exit_code == 1 and "503" in failed.stderr
    requests = cli("emulator", "stub", "requests", "-o", "json").json()
    assert requests and {(r["path"], r["status"], r["authorized"]) for r in requests} == {
        ("/sync", 503, True)
    }
    assert cli("emulator", "stub", "reset").exit_code == 0
    assert cli("emulator", "stub", "requests", "-o", "json").json() == []
    ok = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s")
    assert ok.exit_code == 0, ok.output


def test_control_commands_when_the_emulator_is_gone_say_so_and_exit_1(cli):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    result = cli("emulator", "calls", "--host-addr", address)
    assert result.exit_code == 1
    assert f"cannot reach the emulator at {address}" in result.stderr
    assert "emulator serve" in result.stderr  # the hint


def test_an_op_the_emulator_refuses_is_a_usage_error(cli):
    from thothctl.emulator.server import Emulator

    bare = Emulator(seed=False)  # no Cloud Run service, so no stub to ask
    bare.start("127.0.0.1", 0)
    try:
        result = cli("emulator", "stub", "requests", "--host-addr", bare.address)
    finally:
        bare.stop()
    assert result.exit_code == 2
    assert "emulator refused stub_requests" in result.stderr


# --- one emulator per state file; files it cannot use; addresses it cannot take ------------------


@pytest.mark.slow  # a served emulator in another process: seconds
def test_a_second_emulator_on_the_same_state_file_refuses_and_stop_ends_the_first(served):
    proc, address, env = served
    data = env["THOTHCTL_TEST_DATA"]
    second = subprocess.run(
        [sys.executable, "-m", "thothctl", "emulator", "serve", "--port", "0", "--data", data],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert second.returncode == 2
    assert second.stderr.startswith(f"error: another emulator (pid {proc.pid}, {address})")
    assert "listening" not in second.stdout + second.stderr

    # `--emulator` finds the served one through its state file, as it finds the daemon
    status = subprocess.run(
        [sys.executable, "-m", "thothctl", "emulator", "status", "-o", "json"],
        capture_output=True,
        text=True,
        env={**env, "THOTHCTL_EMULATOR_DATA": data},
        timeout=60,
    )
    assert json.loads(status.stdout).get("mode") == "serve", (status.stdout, status.stderr)
    stopped = run(env, address, "emulator", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert proc.wait(timeout=10) == 0


def _sqlite_file(path, truncate: bool) -> bytes:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")  # another program's database
    db.commit()
    db.close()
    if truncate:
        from thothctl.emulator.server import Emulator

        path.unlink()
        Emulator(data_file=path).store.stop()
        path.write_bytes(path.read_bytes()[:100])
    return path.read_bytes()


@pytest.mark.parametrize(
    "content, says",
    [
        ("[]", "it holds JSON (list) that is not an emulator state"),
        ("null", "it holds JSON (null) that is not an emulator state"),
        ("", "the file is empty"),
        ('{"version": 2, "tables": {"projects": {', "the JSON is damaged or truncated"),
        ('{"version": 7, "tables": {}}', "its format version 7 is not one this thothctl reads"),
        ("\x00\x01binary", "neither an emulator database nor a JSON state file"),
        ("sqlite", "it is an SQLite database, but not an emulator's"),
        ("sqlite-truncated", "the database"),
    ],
)
def test_a_state_file_it_cannot_use_is_refused_in_one_line_and_never_overwritten(
    cli, tmp_path, content, says
):
    data = tmp_path / "state.db"
    if content.startswith("sqlite"):
        before = _sqlite_file(data, truncate=content.endswith("truncated"))
    else:
        data.write_text(content)
        before = data.read_bytes()
    result = cli("emulator", "serve", "--port", "0", "--data", str(data))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot use emulator state {data}: ")
    assert says in result.stderr and "Traceback" not in result.stderr
    assert "listening" not in result.output
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db", "state.db.lock"]


def test_a_busy_port_is_refused_even_when_another_address_of_the_name_is_free(cli):
    import socket

    with socket.socket() as busy:  # 127.0.0.1:PORT taken; localhost may also mean [::1]:PORT
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("emulator", "serve", "--host", "localhost", "--port", str(port))
    assert result.exit_code == 2
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "listening" not in result.output
