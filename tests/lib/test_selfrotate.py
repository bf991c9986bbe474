"""thothctl.secrets.selfrotate over the wire: GitLab rotates the stored token, the new one is stored,
the Cloud Run service rolled onto it and the old versions disabled; far from expiry nothing
happens; a token that cannot rotate itself is refused before anything changes; an unfinished
rotation (the recovery file) is finished first."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from thothctl import gitlab
from thothctl.config import load_config
from thothctl.errors import OperationError, UsageError
from thothctl.secrets import selfrotate, store
from thothctl.secrets.values import SecretValue

SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"
ROTATE_CALL = "gitlab:POST /api/v4/personal_access_tokens/self/rotate"


class Deployment:
    """A project whose gitlab-token and gitlab-url are stored, gitlab-url at the GitLab stub."""

    def __init__(self, emulator, clients, tmp_path):
        self.emu, self.clients, self.dir = emulator, clients, tmp_path / "recovery"
        self.ops = emulator.control_ops()
        self.url = self.ops["gitlab_url"]({})
        self.config = load_config(environ={}, emulator=True, cwd=tmp_path)
        for name in ("gitlab-token", "gitlab-url"):
            store.create(clients, name)
        self.put("gitlab-url", self.url)

    def put(self, name: str, value: str) -> int:
        return store.add_version(self.clients, name, SecretValue(value.encode(), "test")).version

    def token(self, **args) -> str:
        made = self.ops["gitlab_token_create"]({"scopes": "read_api,self_rotate", **args})
        self.put("gitlab-token", made["token"])
        return made["token"]

    def stored(self) -> tuple[int, str]:
        number, data = store.latest_enabled(self.clients, "gitlab-token")
        return number, data.decode()

    def info(self, token: str) -> gitlab.TokenInfo | None:
        try:
            return gitlab.get_self(self.url, SecretValue(token.encode(), "test"))
        except gitlab.GitLabError as exc:
            assert exc.rejected
            return None

    def rotate(self, **args):
        return selfrotate.self_rotate(self.clients, self.config, recovery_dir=self.dir, **args)

    def rotate_calls(self) -> int:
        return sum(1 for c in self.emu.calls.snapshot() if c.method == ROTATE_CALL)


@pytest.fixture
def deployed(enabled_apis, clients, tmp_path):
    enabled_apis.operation_ms = 20
    return Deployment(enabled_apis, clients, tmp_path)


def test_self_rotation_stores_the_new_token_and_rolls_the_service_onto_it(deployed):
    old = deployed.token(expires_in_days=5)
    revision = deployed.clients.run.get_service(request={"name": SERVICE}).latest_ready_revision
    result = deployed.rotate(expires_in_days=90)
    number, new = deployed.stored()
    assert result.action == "rotated" and result.version == number == 2
    assert deployed.info(old) is None  # GitLab revoked it
    info = deployed.info(new)
    assert info.active and info.expires_at == gitlab.today() + dt.timedelta(days=90)
    live = deployed.clients.run.get_service(request={"name": SERVICE})
    assert live.latest_ready_revision != revision and not live.reconciling
    assert (
        deployed.emu.service("google.cloud.run.v2.Services")
        .stubs[SERVICE]
        .instance_env()["GITLAB_TOKEN"]
        == new
    )
    assert result.retired.disabled == [1]
    assert not result.retired.protected
    assert not deployed.dir.joinpath("thoth-local.gitlab-token.json").exists()
    data = result.to_json()
    assert data["rotated"] and data["expires_at"] == info.expires_at.isoformat()
    assert new not in str(data) and old not in str(data)


def test_far_from_expiry_nothing_happens(deployed):
    deployed.token(expires_in_days=90)
    result = deployed.rotate(if_expiring_within_days=30)
    assert result.action == "skipped" and "expires in 90 days" in result.reason
    assert deployed.rotate_calls() == 0 and deployed.stored()[0] == 1


def test_a_token_that_cannot_rotate_itself_is_refused_before_anything_changes(deployed):
    deployed.token(scopes="read_api")
    with pytest.raises(UsageError, match="needs the scope api or self_rotate") as refused:
        deployed.rotate()
    assert refused.value.exit_code == 2
    assert deployed.rotate_calls() == 0 and deployed.stored()[0] == 1


def test_a_revoked_stored_token_stops_and_says_what_to_do(deployed):
    token = deployed.token()
    deployed.ops["gitlab_token_revoke"]({"token": token})
    with pytest.raises(OperationError, match="revoked, expired or unknown") as stopped:
        deployed.rotate()
    assert "create a new token in GitLab" in stopped.value.hint
    assert deployed.rotate_calls() == 0


def test_the_recovery_file_is_private_and_an_unfinished_rotation_is_finished_first(deployed):
    deployed.token(expires_in_days=90)
    pending = deployed.ops["gitlab_token_create"]({"scopes": "self_rotate,read_api"})["token"]
    journal = selfrotate.Recovery("thoth-local", "gitlab-token", deployed.dir)
    info = deployed.info(pending)
    journal.write(SecretValue(pending.encode(), "test"), deployed.url, info)
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    result = deployed.rotate(if_expiring_within_days=30)  # far from expiry, yet the job is done
    assert result.action == "resumed" and deployed.stored() == (2, pending)
    assert deployed.rotate_calls() == 0 and not journal.path.exists()


def test_a_recovered_token_gitlab_no_longer_accepts_is_explained(deployed):
    deployed.token()
    dead = deployed.ops["gitlab_token_create"]({"expires_in_days": 0})["token"]
    journal = selfrotate.Recovery("thoth-local", "gitlab-token", deployed.dir)
    journal.write(
        SecretValue(dead.encode(), "test"), deployed.url, deployed.info(deployed.stored()[1])
    )
    with pytest.raises(OperationError, match="no longer accepted by GitLab"):
        deployed.rotate()
    assert not journal.path.exists() and deployed.stored()[0] == 1


@pytest.mark.parametrize(
    ("text", "flag", "least", "days"),
    [("90d", "--expires-in", 1, 90), ("0d", "--if-expiring-within", 0, 0), (None, "x", 1, None)],
)
def test_days_are_read_from_durations(text, flag, least, days):
    assert selfrotate.days(text, flag, least=least) == days


@pytest.mark.parametrize("text", ["400d", "0d", "36h", "soon", "-5d"])
def test_bad_lifetimes_are_usage_errors(text):
    with pytest.raises(UsageError):
        selfrotate.days(text, "--expires-in", least=1)
