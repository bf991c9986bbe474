"""thothctl.secrets.rotate with the Cloud Run update in thothctl.cloudrun, called as a library
against the emulator over the wire: a rotation as the service sees it."""

from __future__ import annotations

import pytest

from thothctl import cloudrun
from thothctl.config import load_config
from thothctl.secrets import rotate, store
from thothctl.secrets.rotate import NoteKind
from thothctl.secrets.values import SecretValue


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def old_token(enabled_apis, clients):
    """gitlab-token with one version, "old-token"."""
    store.create(clients, "gitlab-token")
    store.add_version(clients, "gitlab-token", SecretValue(b"old-token", "test"))
    return "gitlab-token"


def states(clients) -> dict[int, str]:
    return {v.number: v.state for v in store.versions(clients, "gitlab-token")}


def what_the_service_reads(clients, config, env: str = "GITLAB_TOKEN") -> tuple[str, bytes]:
    """The version the service's env var names and the value a new instance would get."""
    (ref,) = [r for r in cloudrun.get_service(clients, config).secret_env if r.env == env]
    return ref.version, store.access(clients, ref.secret, ref.version)[1]


def pin_the_service(clients, config, version: str) -> None:
    svc = cloudrun.get_raw(clients, config)
    for _env, ref in cloudrun.secret_refs(svc, "gitlab-token"):
        ref.version = version
    clients.wait(clients.run.update_service(request={"service": svc}))


def test_rotate_then_the_service_reads_the_new_value_and_the_old_version_is_disabled(
    old_token, clients, config
):
    pin_the_service(clients, config, "1")
    assert what_the_service_reads(clients, config) == ("1", b"old-token")

    new = SecretValue(b"new-token", "test")
    result = rotate.rotate(clients, config, old_token, new, keep=1, update_run_service=True)

    assert result.add.added and result.add.version == 2 and result.verified
    assert result.service.updated and result.service.pinned == ["GITLAB_TOKEN"]
    assert what_the_service_reads(clients, config) == ("2", b"new-token")
    assert result.disabled == [1] and result.kept == [2] and result.protected == []
    assert states(clients) == {1: "DISABLED", 2: "ENABLED"}
    assert [n.kind for n in result.notes] == [NoteKind.BILLED]
    assert not any(n.warning for n in result.notes)


def test_a_version_the_service_still_pins_is_left_enabled_with_a_warning(
    old_token, clients, config
):
    pin_the_service(clients, config, "1")
    result = rotate.rotate(clients, config, old_token, SecretValue(b"new-token", "test"), keep=1)

    assert result.service is None and result.protected == [1] and result.disabled == []
    assert states(clients) == {1: "ENABLED", 2: "ENABLED"}
    assert what_the_service_reads(clients, config) == ("1", b"old-token")
    (warning,) = [n for n in result.notes if n.warning]
    assert warning.kind is NoteKind.PROTECTED and "--update-service" in warning.text


def test_a_service_on_latest_gets_a_new_revision_once(old_token, clients, config):
    before = cloudrun.get_service(clients, config)
    result = rotate.rotate(
        clients, config, old_token, SecretValue(b"new-token", "test"), update_run_service=True
    )
    assert result.service.refreshed == ["GITLAB_TOKEN"] and result.service.pinned == []
    after = cloudrun.get_raw(clients, config)
    assert after.latest_created_revision != before.raw.latest_created_revision
    assert after.template.annotations[cloudrun.rotation_annotation(old_token)] == "2"
    assert what_the_service_reads(clients, config) == ("latest", b"new-token")

    again = rotate.rotate(
        clients, config, old_token, SecretValue(b"new-token", "test"), update_run_service=True
    )
    assert not again.add.added and not again.service.updated
    assert again.service.note == "the service already uses version 2"
    assert next(n.kind for n in again.notes) is NoteKind.UNCHANGED
    assert cloudrun.get_raw(clients, config).latest_created_revision == (
        after.latest_created_revision
    )


def test_rotate_moves_the_configured_aliases(old_token, clients, tmp_path):
    (tmp_path / "thothctl.toml").write_text(
        '[secrets.gitlab-token]\naliases = ["current", "previous"]\n'
    )
    config = load_config(environ={}, emulator=True, cwd=tmp_path)
    result = rotate.rotate(clients, config, old_token, SecretValue(b"new-token", "test"))
    assert result.aliases == {"current": 2, "previous": 1}
    assert store.access(clients, old_token, "previous") == (1, b"old-token")
    assert store.access(clients, old_token, "current") == (2, b"new-token")


def test_destroy_old_destroys_instead_of_disabling(old_token, clients, config):
    store.add_version(clients, old_token, SecretValue(b"middle-token", "test"))
    result = rotate.rotate(
        clients, config, old_token, SecretValue(b"new-token", "test"), keep=1, destroy_old=True
    )
    assert result.destroyed == [2, 1] and result.disabled == []
    assert states(clients) == {1: "DESTROYED", 2: "DESTROYED", 3: "ENABLED"}
