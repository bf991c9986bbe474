"""`thothctl --emulator`: the user's local emulator is a daemon. The first command starts it
detached, later ones (and other terminals, and gcloud through `emulator env-init`) talk to the
same one, so it outlives every command; `emulator status|start|stop` steer it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from thothctl.emulator import daemon


def thothctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """thothctl in a process of its own, its output captured through pipes (as `$(…)` and CI
    read it)."""
    return subprocess.run(
        [sys.executable, "-m", "thothctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def gone(pid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_emulator_outlives_the_command_that_started_it(cli, local_emulator):
    assert cli("emulator", "status").exit_code == 1  # none runs yet
    assert cli("--emulator", "apis", "enable").exit_code == 0
    applied = cli("--emulator", "jobs", "apply")
    assert applied.exit_code == 0, applied.output
    # the stub answers slowly: the attempt is still running when `jobs run` has exited
    assert cli("--emulator", "emulator", "stub", "set", "--delay", "0.5").exit_code == 0
    run = cli("--emulator", "jobs", "run", "daily-sync")
    assert run.exit_code == 0, run.output
    end = time.monotonic() + 20
    while time.monotonic() < end:
        described = cli("--emulator", "jobs", "describe", "daily-sync", "-o", "json").json()
        if (described.get("last_attempt") or {}).get("http_status"):
            break
        time.sleep(0.2)
    assert described["last_attempt"]["ok"] is True, described

    status = cli("emulator", "status", "-o", "json")
    assert status.exit_code == 0, status.output
    info = status.json()
    assert info["running"] and info["mode"] == "daemon" and not info["stale"]
    assert info["data_file"] == str(local_emulator)
    assert info["jobs_scheduled"] == 2 and info["next_fire"] and info["next_job"]
    assert info["uptime_s"] > 0 and info["idle_timeout_s"] == daemon.DEFAULT_IDLE_TIMEOUT_S
    calls = cli("--emulator", "emulator", "calls", "-o", "json").json()
    assert "/google.cloud.scheduler.v1.CloudScheduler/RunJob" in {c["method"] for c in calls}

    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in cli("emulator", "env-init").stdout.splitlines()
    )
    assert exports["THOTHCTL_EMULATOR_HOST"] == info["address"]
    for api in ("SECRETMANAGER", "CLOUDSCHEDULER", "RUN", "IAM", "SERVICEUSAGE", "LOGGING"):
        assert (
            exports[f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}"] == f"http://{info['rest_address']}/"
        )
    rest_host, rest_port = info["rest_address"].rsplit(":", 1)
    assert (exports["CLOUDSDK_PROXY_ADDRESS"], exports["CLOUDSDK_PROXY_PORT"]) == (
        rest_host,
        rest_port,
    )
    with open(exports["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"]) as token:
        assert token.read().strip()
    assert exports["CLOUDSDK_CORE_PROJECT"] == "thoth-local"

    stopped = cli("emulator", "stop")
    assert stopped.exit_code == 0 and f"pid {info['pid']}" in stopped.stderr
    assert gone(info["pid"])
    assert cli("emulator", "status").exit_code == 1
    again = cli("emulator", "stop")
    assert again.exit_code == 0 and "no emulator was running" in again.stderr


def test_a_caller_reading_the_output_is_never_held_open_by_the_daemon(local_emulator):
    # the first command starts the daemon; with the daemon holding its stdout pipe, run() would
    # wait for the pipe to close and time out
    first = thothctl("--emulator", "apis", "status", "-o", "json", timeout=60)
    assert first.returncode == 0, first.stderr
    record = daemon.running(local_emulator)
    assert record is not None and record.pid != os.getpid()
    assert os.getsid(record.pid) not in (os.getsid(0), os.getpgid(0)), "its own session"
    fds = os.listdir(f"/proc/{record.pid}/fd") if os.path.isdir("/proc") else []
    pipes = [fd for fd in fds if os.readlink(f"/proc/{record.pid}/fd/{fd}").startswith("pipe:")]
    assert not pipes, "the daemon holds no pipe of its caller"


def test_a_state_file_that_cannot_be_read_is_refused_and_left_alone(cli, local_emulator):
    local_emulator.parent.mkdir(parents=True)
    local_emulator.write_text("[]")
    result = cli("--emulator", "apis", "status")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "it holds JSON (list) that is not an emulator state" in result.stderr
    assert local_emulator.read_text() == "[]"
    assert daemon.running(local_emulator) is None


def test_a_bad_idle_timeout_is_a_usage_error(cli, local_emulator):
    result = cli("--emulator", "apis", "status", env={"THOTHCTL_EMULATOR_IDLE_TIMEOUT": "soon"})
    assert result.exit_code == 2 and "idle timeout 'soon' is not a duration" in result.stderr
    assert daemon.running(local_emulator) is None


@pytest.mark.slow  # two daemons one after the other
def test_a_daemon_of_an_older_build_is_replaced_never_talked_to(cli, local_emulator):
    assert cli("emulator", "start").exit_code == 0
    old = daemon.running(local_emulator)
    # every call the old one answered would fail: the next command must not reach it
    assert cli("--emulator", "emulator", "faults", "set", "--fail-rate", "1").exit_code == 0
    stale = {**old.to_json(), "version": "0.0.1", "build": "0.0.1+1-an-older-thothctl"}
    with open(f"{local_emulator}.lock", "r+") as fh:  # as an older thothctl published it
        fh.truncate(0)
        fh.write(json.dumps(stale))
    assert cli("emulator", "status", "-o", "json").json()["stale"] is True

    result = cli("--emulator", "apis", "status")
    assert result.exit_code == 0, result.output
    assert gone(old.pid)
    new = daemon.running(local_emulator)
    assert new.pid != old.pid and new.build == daemon.build_id()


@pytest.mark.slow  # kill -9 and a second daemon
def test_a_crashed_daemon_is_replaced_with_every_acknowledged_write(cli, local_emulator):
    assert cli("--emulator", "apis", "enable", "secretmanager").exit_code == 0
    for n in range(2):
        made = cli("--emulator", "secrets", "create", f"s{n}")
        assert made.exit_code == 0, made.output
    crashed = daemon.running(local_emulator)
    os.kill(crashed.pid, signal.SIGKILL)
    assert gone(crashed.pid)

    listed = cli("--emulator", "secrets", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    assert {"s0", "s1"} <= {s["name"] for s in listed.json()}
    assert daemon.running(local_emulator).pid != crashed.pid


@pytest.mark.slow  # waits for the idle timeout
def test_an_idle_daemon_stops_by_itself(cli, local_emulator):
    started = cli("emulator", "start", "--idle-timeout", "1s", "-o", "json")
    assert started.exit_code == 0, started.output
    pid = started.json()["pid"]
    assert gone(pid, within=15), "stopped after a second without a call (and the grace)"
    assert daemon.running(local_emulator) is None


@pytest.mark.slow  # two processes and a daemon: seconds
def test_logs_follow_in_one_terminal_sees_a_run_from_another(cli, local_emulator):
    for step in (("apis", "enable"), ("jobs", "apply")):
        done = cli("--emulator", *step)
        assert done.exit_code == 0, done.output
    follower = subprocess.Popen(
        [sys.executable, "-m", "thothctl", "--emulator", "logs", "jobs", "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Following" in follower.stderr.readline()
        end = time.monotonic() + 20
        while cli("emulator", "status", "-o", "json").json()["streams"] < 1:  # its stream is open
            assert time.monotonic() < end, "the follower never opened its stream"
            time.sleep(0.1)
        run = cli("--emulator", "jobs", "run", "daily-sync", "--wait", "--timeout", "30s")
        assert run.exit_code == 0, run.output
        time.sleep(0.5)  # let the follower's tail deliver the attempt
    finally:
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=30)
    assert "daily-sync: POST" in out, (out, err)
    assert "Traceback" not in err
    assert daemon.running(local_emulator) is not None, "the follower's exit left it running"


@pytest.mark.slow  # gcloud starts slowly
@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the gcloud CLI is not installed")
def test_gcloud_with_the_exports_of_env_init_sees_what_thothctl_made(cli, local_emulator, tmp_path):
    assert cli("--emulator", "apis", "enable", "secretmanager").exit_code == 0
    assert cli("--emulator", "secrets", "create", "made-by-thothctl").exit_code == 0
    exports = cli("emulator", "env-init", "-o", "json").json()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env.pop("NO_PROXY", None), env.pop("no_proxy", None)
    env.update(exports, CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))  # never the user's gcloud
    listed = subprocess.run(
        ["gcloud", "secrets", "list", "--format=json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "made-by-thothctl" in {s["name"].rsplit("/", 1)[1] for s in json.loads(listed.stdout)}
