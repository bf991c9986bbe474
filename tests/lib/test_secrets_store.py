"""thothctl.secrets.store and .iam, called as a library against the emulator over the wire:
the stories of a secret's life, told without the CLI."""

from __future__ import annotations

import pytest

from thothctl.config import load_config
from thothctl.emulator.faults import FaultConfig
from thothctl.errors import NotFoundError, OperationError
from thothctl.secrets import iam, store
from thothctl.secrets.values import SecretValue

TOKEN = b"glpat-store-test-1234"
RUNTIME = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def token(enabled_apis, clients):
    created, _ = store.create(clients, "gitlab-token")
    assert created
    return "gitlab-token"


def value(data: bytes = TOKEN) -> SecretValue:
    return SecretValue(data, "test")


def states(clients, name: str = "gitlab-token") -> dict[int, str]:
    return {v.number: v.state for v in store.versions(clients, name)}


def calls(emulator, method: str) -> list:
    return [c for c in emulator.calls.snapshot() if c.method.endswith("/" + method)]


def test_set_twice_with_the_same_value_adds_one_version(token, clients):
    first = store.add_version(clients, token, value())
    second = store.add_version(clients, token, value())
    assert (first.version, first.added) == (1, True)
    assert (second.version, second.added) == (1, False)
    assert second.note == "version 1 already holds this value"
    assert states(clients) == {1: "ENABLED"}
    assert store.access(clients, token) == (1, TOKEN)


def test_a_lost_response_is_read_back_instead_of_adding_again(token, clients, enabled_apis):
    enabled_apis.faults.set(FaultConfig(lost_rate=1.0, methods="*AddSecretVersion", seed=1))
    try:
        result = store.add_version(clients, token, value())
    finally:
        enabled_apis.faults.clear()
    assert result.added and result.recovered and result.version == 1
    assert len(calls(enabled_apis, "AddSecretVersion")) == 1
    assert states(clients) == {1: "ENABLED"}


def test_every_add_carries_its_checksum(token, clients):
    result = store.add_version(clients, token, value())
    assert result.crc32c == value().crc32c
    version = clients.secrets.get_secret_version(
        request={"name": store.version_path(clients, token, 1)}
    )
    assert version.client_specified_payload_checksum is True


def test_create_is_safe_to_rerun_and_a_missing_secret_says_how_to_create_it(token, clients):
    created, status = store.create(clients, token)
    assert not created and status.exists and status.replication == "automatic"
    with pytest.raises(NotFoundError, match="does not exist") as err:
        store.add_version(clients, "no-such-secret", value())
    assert "thothctl secrets create no-such-secret" in (err.value.hint or "")


def test_a_disabled_version_cannot_be_read_and_says_how_to_enable_it(token, clients):
    store.add_version(clients, token, value(b"one"))
    store.add_version(clients, token, value(b"two"))
    info = store.set_state(clients, token, "2", "disable")
    assert info.state == "DISABLED"
    with pytest.raises(OperationError, match="version 2 of secret gitlab-token is disabled") as err:
        store.access(clients, token, "latest")
    assert "thothctl secrets enable gitlab-token 2" in (err.value.hint or "")
    assert store.latest_enabled(clients, token) == (1, b"one")


def test_a_destroyed_version_is_gone_for_good(token, clients):
    store.add_version(clients, token, value())
    assert store.set_state(clients, token, "1", "destroy").state == "DESTROYED"
    with pytest.raises(OperationError, match="a destroyed version cannot be enabled"):
        store.set_state(clients, token, "1", "enable")


def test_list_shows_configured_and_existing_side_by_side_without_reading_values(
    token, clients, config, enabled_apis
):
    store.add_version(clients, token, value())
    store.create(clients, "unconfigured-extra")
    enabled_apis.calls.reset()
    rows = {s.name: s for s in store.list_secrets(clients, config)}
    assert rows["gitlab-token"].configured and rows["gitlab-token"].exists
    assert rows["gitlab-token"].counts == {"enabled": 1, "disabled": 0, "destroyed": 0}
    assert rows["gitlab-url"].configured and not rows["gitlab-url"].exists
    assert not rows["unconfigured-extra"].configured and rows["unconfigured-extra"].exists
    assert calls(enabled_apis, "AccessSecretVersion") == []
    assert len(calls(enabled_apis, "ListSecrets")) == 1


def test_aliases_follow_the_enabled_versions_newest_first_and_vanish_when_none_is_left(
    token, clients
):
    store.add_version(clients, token, value(b"one"))
    store.add_version(clients, token, value(b"two"))
    store.add_version(clients, token, value(b"three"))
    store.set_state(clients, token, "3", "disable")
    moved = store.move_aliases(clients, token, ("current", "previous", "older"))
    assert moved == {"current": 2, "previous": 1, "older": None}
    assert store.access(clients, token, "previous") == (1, b"one")
    assert {v.number: v.aliases for v in store.versions(clients, token)} == {
        1: ["previous"],
        2: ["current"],
        3: [],
    }


def test_granting_twice_changes_the_policy_once_and_revoke_takes_it_back(token, clients, config):
    assert iam.grant(clients, token, RUNTIME).changed
    again = iam.grant(clients, token, RUNTIME)
    assert not again.changed and again.attempts == 1
    assert store.describe(clients, config, token).accessors == [RUNTIME]
    assert iam.revoke(clients, token, RUNTIME).changed
    assert not iam.revoke(clients, token, RUNTIME).changed
