"""`secrets rotate gitlab-token --self-rotate` under faults at every step: a failed or lost rotate
call, a failing or lost store, a failing or lost service update, and a kill -9 between the rotate
and the store. Each run ends converged (the stored token is the one GitLab accepts and the service
runs it) or stops with the recovery file and the one command that finishes the job, which then
converges; the rotate call is never repeated blindly."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path

import grpc
import pytest
from reliability_helpers import spawn

from thothctl import gitlab
from thothctl.emulator.faults import Decision, FaultConfig, method_matches
from thothctl.secrets import store
from thothctl.secrets.values import SecretValue

SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"
ROTATE = "gitlab:POST /api/v4/personal_access_tokens/self/rotate"
SELF_ROTATE = ("secrets", "rotate", "gitlab-token", "--self-rotate", "--expires-in", "90d")


class Nth:
    """Wraps the emulator's fault injector: the ``n``-th call matching ``pattern`` fails (before
    it applies) or loses its answer (after it applied), or runs ``action``; the rest pass."""

    def __init__(self, emulator, pattern: str, n: int = 1, kind: str = "fail", action=None):
        self.inner, self.pattern, self.n, self.kind, self.action = (
            emulator.faults,
            pattern,
            n,
            kind,
            action,
        )
        self.seen = 0

    def decide(self, method: str) -> Decision:
        if method_matches(self.pattern, method):
            self.seen += 1
            if self.seen == self.n:
                if self.action is not None:
                    self.action()
                return Decision(**{self.kind: grpc.StatusCode.UNAVAILABLE})
        return self.inner.decide(method)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def deployed(fast_emulator, clients, tmp_path, monkeypatch):
    """gitlab-token (5 days left, may rotate itself) and gitlab-url (the GitLab stub) stored; the
    recovery file goes to this test's own state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("THOTHCTL_RETRY_DEADLINE", "1")
    ops = fast_emulator.control_ops()
    url = ops["gitlab_url"]({})
    token = ops["gitlab_token_create"]({"scopes": "read_api,self_rotate", "expires_in_days": 5})
    for name, value in (("gitlab-url", url), ("gitlab-token", token["token"])):
        store.create(clients, name)
        store.add_version(clients, name, SecretValue(value.encode(), "test"))
    fast_emulator.calls.reset()
    return {"emu": fast_emulator, "ops": ops, "url": url, "old": token["token"], "tmp": tmp_path}


def recovery_file(deployed) -> Path:
    return deployed["tmp"] / "state" / "thothctl" / "recovery" / "thoth-local.gitlab-token.json"


def accepted(deployed, token: str) -> bool:
    try:
        return gitlab.get_self(deployed["url"], SecretValue(token.encode(), "t")).active
    except gitlab.GitLabError as exc:
        assert exc.rejected
        return False


def assert_converged(deployed, clients) -> str:
    """The newest enabled version is the one token GitLab accepts, the only enabled version; the
    service's running revision started with it; no recovery file is left."""
    versions = store.versions(clients, "gitlab-token", "ENABLED")
    number, data = store.latest_enabled(clients, "gitlab-token")
    token = data.decode()
    assert [v.number for v in versions] == [number]
    assert accepted(deployed, token) and not accepted(deployed, deployed["old"])
    active = [t for t in deployed["ops"]["gitlab_tokens"]({}) if t["active"]]
    assert len(active) == 1
    run = deployed["emu"].service("google.cloud.run.v2.Services")
    assert run.stubs[SERVICE].instance_env()["GITLAB_TOKEN"] == token
    assert not recovery_file(deployed).exists()
    return token


def rotate_calls(deployed) -> list[str]:
    return [c.code for c in deployed["emu"].calls.snapshot() if c.method == ROTATE]


def test_a_failed_rotate_call_is_retried_because_the_old_token_is_still_active(
    deployed, cli, clients, monkeypatch
):
    monkeypatch.setattr(deployed["emu"], "faults", Nth(deployed["emu"], "gitlab:POST*"))
    result = cli(*SELF_ROTATE, "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["rotate_attempts"] == 2 and rotate_calls(deployed) == ["UNAVAILABLE", "OK"]
    assert_converged(deployed, clients)


def test_a_lost_rotate_answer_stops_and_is_never_retried_blindly(
    deployed, cli, clients, monkeypatch
):
    monkeypatch.setattr(deployed["emu"], "faults", Nth(deployed["emu"], "rotate", kind="lost"))
    result = cli(*SELF_ROTATE)
    assert result.exit_code == 1
    assert (
        "its answer was lost" in result.stderr and "create a new token in GitLab" in result.stderr
    )
    assert rotate_calls(deployed) == ["UNAVAILABLE"]  # one call: a retry would revoke the new token
    tokens = deployed["ops"]["gitlab_tokens"]({})
    assert [t["active"] for t in tokens] == [False, True]  # the unseen new token still works
    assert store.versions(clients, "gitlab-token")[0].number == 1  # nothing stored
    assert not recovery_file(deployed).exists()


def test_a_failing_store_leaves_the_token_in_the_recovery_file_and_one_command_finishes(
    deployed, cli, clients
):
    deployed["emu"].faults.set(
        FaultConfig(fail_rate=1.0, fail_code="INTERNAL", methods="AddSecretVersion")
    )
    result = cli(*SELF_ROTATE)
    assert result.exit_code == 1 and "storing the new token failed" in result.stderr
    path = recovery_file(deployed)
    assert str(path) in result.stderr.replace("\n", "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())["token"]
    assert accepted(deployed, saved) and saved not in result.output
    command = "thothctl --project thoth-local secrets rotate gitlab-token --self-rotate"
    assert command in result.stderr
    deployed["emu"].faults.clear()
    finished = cli(*command.split()[1:], "-o", "json")
    assert finished.exit_code == 0, finished.output
    assert finished.json()["action"] == "resumed"
    assert assert_converged(deployed, clients) == saved
    assert rotate_calls(deployed) == ["OK"]


def test_a_failing_service_update_is_finished_by_the_same_command(deployed, cli, clients):
    deployed["emu"].faults.set(
        FaultConfig(fail_rate=1.0, fail_code="INTERNAL", methods="UpdateService")
    )
    result = cli(*SELF_ROTATE)
    assert result.exit_code == 1 and "still runs the revoked token" in result.stderr
    assert recovery_file(deployed).exists()
    deployed["emu"].faults.clear()
    assert cli("secrets", "rotate", "gitlab-token", "--self-rotate").exit_code == 0
    assert_converged(deployed, clients)
    assert rotate_calls(deployed) == ["OK"]


@pytest.mark.parametrize("method", ["AddSecretVersion", "UpdateService", "GetOperation"])
def test_lost_answers_after_the_rotation_still_converge(
    deployed, cli, clients, monkeypatch, method
):
    monkeypatch.setattr(deployed["emu"], "faults", Nth(deployed["emu"], method, kind="lost"))
    result = cli(*SELF_ROTATE)
    assert result.exit_code == 0, result.output
    assert_converged(deployed, clients)


def test_kill_9_between_rotate_and_store_then_the_recovery_file_is_the_way_back(
    deployed, cli, clients, monkeypatch
):
    holder = {}
    kill = Nth(
        deployed["emu"],
        "AddSecretVersion",
        action=lambda: holder["proc"].send_signal(signal.SIGKILL),
    )
    monkeypatch.setattr(deployed["emu"], "faults", kill)
    env = {"XDG_STATE_HOME": str(deployed["tmp"] / "state"), "THOTHCTL_RETRY_DEADLINE": "5"}
    holder["proc"] = proc = spawn(deployed["emu"], *SELF_ROTATE, cwd=str(deployed["tmp"]), env=env)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert rotate_calls(deployed) == ["OK"] and recovery_file(deployed).exists()
    saved = json.loads(recovery_file(deployed).read_text())["token"]
    monkeypatch.setattr(deployed["emu"], "faults", kill.inner)
    assert cli("secrets", "rotate", "gitlab-token", "--self-rotate").exit_code == 0
    assert assert_converged(deployed, clients) == saved
