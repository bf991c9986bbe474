"""thothctl.gitlab over the wire, against the emulator's GitLab stub: what GitLab says about a token
as typed fields, the verdict before a token is stored, https-only URLs, and errors that never
carry the token."""

from __future__ import annotations

import pytest

from thothctl import gitlab
from thothctl.config import load_config
from thothctl.emulator.faults import FaultConfig
from thothctl.errors import UsageError
from thothctl.secrets import store
from thothctl.secrets.values import SecretValue


@pytest.fixture
def stub(emulator):
    ops = emulator.control_ops()

    def token(**args) -> SecretValue:
        made = ops["gitlab_token_create"]({"expires_in_days": 90, **args})["token"]
        return SecretValue(made.encode(), "test")

    token.url = ops["gitlab_url"]({})
    token.ops = ops
    return token


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


def test_self_is_read_as_typed_info(stub):
    info = gitlab.get_self(stub.url, stub(name="sync", scopes=["api"], expires_in_days=20))
    assert (info.name, info.scopes, info.active, info.revoked) == ("sync", ("api",), True, False)
    assert info.days_left() == 20
    assert info.has("read_api") and not info.has("write_repository")  # api reads the API too
    assert info.can_self_rotate
    assert info.to_json()["days_left"] == 20


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        ({"scopes": ["read_api"], "expires_in_days": 90}, gitlab.ACTIVE),
        ({"scopes": ["read_api"], "expires_in_days": 5}, gitlab.EXPIRING),
        ({"scopes": ["read_user"], "expires_in_days": 90}, gitlab.SCOPES),
        ({"scopes": ["read_api"], "expires_in_days": 0}, gitlab.REJECTED),
    ],
)
def test_the_verdict_on_a_token(stub, args, verdict):
    check = gitlab.check(stub.url, stub(**args), ["read_api"], warn_days=14)
    assert check.verdict == verdict
    assert check.refused == (verdict in gitlab.REFUSED)
    if verdict == gitlab.EXPIRING:
        assert "in 5 days" in check.message and check.severity == "warning"
        # read_api alone cannot rotate itself: a token made by hand is the fix
        assert check.fix == "thothctl secrets rotate gitlab-token --update-service"
    if verdict == gitlab.SCOPES:
        assert check.missing_scopes == ["read_api"]


def test_a_token_one_day_from_expiry_is_a_problem_with_the_exact_fix(stub):
    check = gitlab.check(
        stub.url, stub(scopes=["self_rotate", "read_api"], expires_in_days=1), [], 14
    )
    assert check.severity == "problem"
    assert check.fix == "thothctl secrets rotate gitlab-token --self-rotate --expires-in 90d"


def test_errors_never_carry_the_token(stub, emulator):
    token = stub(scopes=["read_api"])
    stub.ops["gitlab_token_revoke"]({"token": token.data.decode()})
    with pytest.raises(gitlab.GitLabError) as rejected:
        gitlab.rotate_self(stub.url, token)
    assert rejected.value.rejected and not rejected.value.uncertain
    emulator.faults.set(FaultConfig(fail_rate=1.0, methods="gitlab:*"))
    with pytest.raises(gitlab.GitLabError) as failed:
        gitlab.get_self(stub.url, token)
    assert failed.value.status == 503 and failed.value.uncertain
    with pytest.raises(gitlab.GitLabError) as unanswered:
        gitlab.get_self("http://127.0.0.1:9", token)  # nothing listens on the discard port
    assert unanswered.value.status is None and unanswered.value.uncertain
    value = token.data.decode()
    for exc in (rejected.value, failed.value, unanswered.value):
        carried = f"{exc!s} {exc!r} {exc.args} {exc.hint} {exc.__cause__!r} {exc.__context__!r}"
        assert value not in carried and exc.__suppress_context__


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://gitlab.example.com/", "https://gitlab.example.com"),
        ("https://gitlab.example.com/api/v4", "https://gitlab.example.com"),
        ("http://127.0.0.1:8929", "http://127.0.0.1:8929"),
        ("http://localhost:8929/", "http://localhost:8929"),
        ("http://gitlab.example.com", None),
        ("ftp://gitlab.example.com", None),
        ("gitlab.example.com", None),
    ],
)
def test_a_token_goes_only_over_https_or_to_loopback(url, ok):
    if ok is None:
        with pytest.raises(UsageError) as refused:
            gitlab.check_url(url)
        assert refused.value.exit_code == 2
    else:
        assert gitlab.check_url(url) == ok


def test_in_emulator_mode_a_real_gitlab_is_never_contacted(clients, config, monkeypatch):
    def no_network(url):
        raise AssertionError(f"contacted {url}")

    monkeypatch.setattr(gitlab, "_opener", no_network)
    check = gitlab.check_new_token(clients, config, SecretValue(b"glpat-x", "test"))
    assert check.verdict == gitlab.UNVERIFIED and "https://gitlab.com" in check.message
    assert not check.refused


def test_the_stored_gitlab_url_is_where_a_new_token_is_checked(enabled_apis, clients, config, stub):
    store.create(clients, "gitlab-url")
    store.add_version(clients, "gitlab-url", SecretValue(stub.url.encode() + b"\n", "test"))
    assert gitlab.stored_url(clients, config) == stub.url
    with pytest.raises(UsageError, match="gitlab-token refused: GitLab does not accept it"):
        gitlab.check_new_token(clients, config, SecretValue(b"glpat-never-issued", "test"))
    check = gitlab.check_new_token(clients, config, stub(scopes=["read_api"], expires_in_days=3))
    assert check.verdict == gitlab.EXPIRING and check.warning
