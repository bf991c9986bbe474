"""thothctl.runtime: the sync service's own way to read its secrets."""

from __future__ import annotations

import subprocess
import sys

import google_crc32c
import pytest

from thothctl.runtime import SecretNotFound, SecretResolver

PARENT = "projects/thoth-local/secrets"


def put(clients, name: str, *values: bytes) -> None:
    clients.secrets.create_secret(
        request={
            "parent": "projects/thoth-local",
            "secret_id": name,
            "secret": {"replication": {"automatic": {}}},
        }
    )
    for value in values:
        clients.secrets.add_secret_version(
            request={
                "parent": f"{PARENT}/{name}",
                "payload": {"data": value, "data_crc32c": google_crc32c.value(value)},
            }
        )


def accesses(emulator) -> int:
    return sum(1 for c in emulator.calls.snapshot() if c.method.endswith("AccessSecretVersion"))


@pytest.fixture
def resolver(enabled_apis, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    environ = {"THOTHCTL_EMULATOR_HOST": enabled_apis.address}
    r = SecretResolver(environ=environ)
    yield r
    r.close()


def test_env_var_wins_without_touching_google(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = SecretResolver(environ={"GITLAB_TOKEN": "local-token"})
    assert r.get("gitlab-token") == "local-token"
    assert r._clients is None  # no client was built: works with no Google account at all


def test_reads_secret_manager_and_caches_in_process(resolver, clients, enabled_apis):
    put(clients, "gitlab-token", b"t1")
    enabled_apis.calls.reset()
    assert resolver.get("gitlab-token") == "t1"
    assert resolver.get("gitlab-token") == "t1"
    assert accesses(enabled_apis) == 1
    resolver.clear()
    assert resolver.get("gitlab-token") == "t1"
    assert accesses(enabled_apis) == 2


def test_ttl_expires_the_cache(enabled_apis, clients, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    put(clients, "gitlab-token", b"t1")
    r = SecretResolver(environ={"THOTHCTL_EMULATOR_HOST": enabled_apis.address}, ttl=0)
    try:
        assert r.get("gitlab-token") == "t1"
        clients.secrets.add_secret_version(
            request={"parent": f"{PARENT}/gitlab-token", "payload": {"data": b"t2"}}
        )
        assert r.get("gitlab-token") == "t2"
    finally:
        r.close()


def test_newest_disabled_falls_back_to_newest_enabled(resolver, clients):
    put(clients, "gitlab-token", b"old", b"new")
    clients.secrets.disable_secret_version(request={"name": f"{PARENT}/gitlab-token/versions/2"})
    assert resolver.get("gitlab-token") == "old"
    assert resolver.get("gitlab-token", version="1") == "old"


def test_default_missing_and_optional(resolver):
    assert resolver.get("gitlab-url") == "https://gitlab.com"
    with pytest.raises(SecretNotFound, match="GITLAB_TOKEN"):
        resolver.get("gitlab-token")
    assert resolver.get("google-application-credentials", required=False) is None


def test_unconfigured_names_use_a_derived_env_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = SecretResolver(environ={"SLACK_WEBHOOK": "https://hooks.example"})
    assert r.get("slack-webhook") == "https://hooks.example"


def test_importing_runtime_pulls_in_neither_typer_nor_rich():
    code = "import sys, thothctl.runtime; print(any(m.split('.')[0] in ('typer', 'rich') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_module_level_get_secret(monkeypatch, tmp_path):
    from thothctl import runtime

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITLAB_TOKEN", "from-env")
    runtime.clear_cache()
    try:
        assert runtime.get_secret("gitlab-token") == "from-env"
    finally:
        runtime.clear_cache()
