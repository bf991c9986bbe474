"""thothctl.secrets.resolve: which value each env var gets, for `exec` and for
thothctl.runtime.get_secret (one resolution, the same errors), against the emulator."""

from __future__ import annotations

import pytest

from thothctl.config import load_config
from thothctl.errors import OperationError
from thothctl.runtime import SecretNotFound as RuntimeSecretNotFound
from thothctl.runtime import SecretResolver
from thothctl.secrets import resolve, store
from thothctl.secrets.values import SecretValue


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def two_versions(enabled_apis, clients):
    """gitlab-token with version 1 "old-token" and version 2 "new-token"."""
    store.create(clients, "gitlab-token")
    for data in (b"old-token", b"new-token"):
        store.add_version(clients, "gitlab-token", SecretValue(data, "test"))
    return enabled_apis


def by_name(resolved) -> dict[str, resolve.Resolved]:
    return {r.name: r for r in resolved}


def test_exec_gets_the_newest_version_and_the_config_default_for_a_missing_secret(
    two_versions, clients, config
):
    got = by_name(resolve.resolve_env(lambda: clients, config, environ={}))
    assert (got["gitlab-token"].source, got["gitlab-token"].value) == ("version 2", "new-token")
    assert got["gitlab-url"].source == resolve.DEFAULT
    assert got["gitlab-url"].value == "https://gitlab.com"
    optional = [r for r in got.values() if r.source == resolve.MISSING]
    assert optional and all(r.value is None for r in optional)
    env = resolve.exec_environment(got.values(), {"PATH": "/bin"})
    assert env["GITLAB_TOKEN"] == "new-token" and env["PATH"] == "/bin"
    assert all(r.env not in env for r in optional)


def test_when_the_newest_version_is_disabled_exec_picks_the_newest_enabled_one(
    two_versions, clients, config
):
    store.set_state(clients, "gitlab-token", "2", "disable")
    (token,) = resolve.resolve_env(lambda: clients, config, {}, only=["gitlab-token"])
    assert (token.source, token.value) == ("version 1", "old-token")
    assert "old-token" not in repr(token)


def test_a_set_env_var_wins_and_google_is_never_contacted(config):
    environ = {spec.env: f"local-{name}" for name, spec in config.secrets.items()}

    def no_clients():
        raise AssertionError("no client may be built when every env var is set")

    got = resolve.resolve_env(no_clients, config, environ)
    assert {r.source for r in got} == {resolve.ENVIRONMENT}
    assert by_name(got)["gitlab-token"].value == "local-gitlab-token"


def test_a_required_secret_without_a_value_fails_the_same_way_for_exec_and_runtime(
    enabled_apis, clients, config, tmp_path, monkeypatch
):
    with pytest.raises(resolve.SecretNotFound) as from_exec:
        resolve.resolve_env(lambda: clients, config, {}, only=["gitlab-token"])
    monkeypatch.chdir(tmp_path)
    runtime = SecretResolver(environ={"THOTHCTL_EMULATOR_HOST": enabled_apis.address})
    try:
        with pytest.raises(RuntimeSecretNotFound) as from_runtime:
            runtime.get("gitlab-token")
    finally:
        runtime.close()
    assert RuntimeSecretNotFound is resolve.SecretNotFound
    assert from_exec.value.message == from_runtime.value.message
    assert "$GITLAB_TOKEN is not set" in from_exec.value.message


def test_runtime_reads_the_pinned_version_through_the_same_resolution(
    two_versions, clients, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    runtime = SecretResolver(environ={"THOTHCTL_EMULATOR_HOST": two_versions.address})
    try:
        assert runtime.get("gitlab-token", version="1") == "old-token"
        assert runtime.get("gitlab-token") == "new-token"
    finally:
        runtime.close()
    spec = load_config(environ={}, emulator=True, cwd=tmp_path).secret("gitlab-token")
    assert resolve.fetch(clients, spec, "1") == (1, "old-token")
    assert resolve.fetch(clients, spec, "7") is None


def test_a_value_that_cannot_be_an_env_var_is_refused(enabled_apis, clients, config):
    store.create(clients, "gitlab-token")
    store.add_version(clients, "gitlab-token", SecretValue(b"nul\x00inside", "test"))
    with pytest.raises(OperationError, match="NUL byte"):
        resolve.resolve_env(lambda: clients, config, {}, only=["gitlab-token"])
    store.add_version(clients, "gitlab-token", SecretValue(b"\xff\xfe", "test"))
    with pytest.raises(OperationError, match=r"not UTF-8 text: it cannot be put in \$GITLAB_TOKEN"):
        resolve.resolve_env(lambda: clients, config, {}, only=["gitlab-token"])
