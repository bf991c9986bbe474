"""`thothctl exec -- CMD`: configured secrets become env vars; a set env var wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from thothctl.cli import exec as exec_cmd


@pytest.fixture
def execs(monkeypatch):
    calls = []
    monkeypatch.setattr(exec_cmd, "EXECVPE", lambda f, a, env: calls.append((f, a, env)))
    return calls


@pytest.fixture
def stored(enabled_apis, cli):
    cli("secrets", "create", "gitlab-token")
    cli("secrets", "set", "gitlab-token", "-", input="token-from-sm")
    return enabled_apis


def accesses(emulator) -> int:
    return sum(1 for c in emulator.calls.snapshot() if c.method.endswith("AccessSecretVersion"))


def test_exec_puts_each_secret_in_its_env_var(stored, cli, execs):
    r = cli("exec", "--", "sync", "--full")
    assert r.exit_code == 0, r.stderr
    ((file, args, env),) = execs
    assert file == "sync" and args == ["sync", "--full"]
    assert env["GITLAB_TOKEN"] == "token-from-sm"
    assert env["GITLAB_BASE_URL"] == "https://gitlab.com"  # missing secret: the config default
    assert "GOOGLE_APPLICATION_CREDENTIALS_JSON" not in env  # optional and absent
    assert "config default" in r.stderr


def test_a_set_env_var_wins_and_no_call_is_made(stored, cli, execs):
    stored.calls.reset()
    env = {
        "GITLAB_TOKEN": "local",
        "GITLAB_BASE_URL": "http://gitlab.local",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON": "{}",
    }
    r = cli("exec", "--", "true", env=env)
    assert r.exit_code == 0, r.stderr
    assert execs[0][2]["GITLAB_TOKEN"] == "local"
    assert stored.calls.snapshot() == []


def test_only_limits_and_latest_disabled_falls_back_to_newest_enabled(stored, cli, execs):
    cli("secrets", "set", "gitlab-token", "-", input="newer")
    cli("secrets", "disable", "gitlab-token", "2")
    r = cli("exec", "--only", "gitlab-token", "--", "true")
    assert r.exit_code == 0, r.stderr
    env = execs[0][2]
    assert env["GITLAB_TOKEN"] == "token-from-sm"
    assert env.get("GITLAB_BASE_URL") == os.environ.get("GITLAB_BASE_URL")


def test_a_required_secret_without_value_fails_before_running(enabled_apis, cli, execs):
    r = cli("exec", "--", "true")
    assert r.exit_code == 1
    assert "gitlab-token" in r.stderr and "GITLAB_TOKEN" in r.stderr
    assert execs == []


def test_no_command_is_a_usage_error(enabled_apis, cli, execs):
    r = cli("exec")
    assert r.exit_code == 2 and "thothctl exec needs a command to run" in r.stderr


def test_exec_really_replaces_the_process(stored, tmp_path):
    thothctl = Path(sys.executable).with_name("thothctl")
    code = "import os; print(os.environ['GITLAB_TOKEN'][::-1])"
    env = {k: v for k, v in os.environ.items() if k not in ("GITLAB_TOKEN", "GITLAB_BASE_URL")}
    proc = subprocess.run(
        [str(thothctl), "exec", "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "token-from-sm"[::-1]
    missing = subprocess.run(
        [str(thothctl), "exec", "--", "no-such-command-xyz"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert missing.returncode == 127 and "command not found" in missing.stderr
