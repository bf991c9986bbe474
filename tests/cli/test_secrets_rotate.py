"""`thothctl secrets rotate`: add, verify, retire old versions, move aliases, update the service."""

from __future__ import annotations

import pytest

PARENT = "projects/thoth-local"
SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"


def states(clients, name: str = "gitlab-token") -> dict[int, str]:
    return {
        int(v.name.rsplit("/", 1)[-1]): v.state.name
        for v in clients.secrets.list_secret_versions(
            request={"parent": f"{PARENT}/secrets/{name}"}
        )
    }


def env_refs(clients) -> dict[str, str]:
    svc = clients.run.get_service(name=SERVICE)
    out = {}
    for container in svc.template.containers:
        for env in container.env:
            if "value_source" in env:
                out[env.name] = env.value_source.secret_key_ref.version
    return out


@pytest.fixture
def three_versions(enabled_apis, cli):
    assert cli("secrets", "create", "gitlab-token").exit_code == 0
    for value in ("one", "two", "three"):
        assert cli("secrets", "set", "gitlab-token", "-", input=value).exit_code == 0
    return enabled_apis


def test_rotate_keeps_two_enabled_disables_older_and_says_they_are_billed(
    three_versions, cli, clients
):
    r = cli("secrets", "rotate", "gitlab-token", "-", input="four")
    assert r.exit_code == 0, r.stderr
    assert "Added version 4" in r.stderr and "verified" in r.stderr
    assert "billed" in r.stderr
    assert states(clients) == {4: "ENABLED", 3: "ENABLED", 2: "DISABLED", 1: "DISABLED"}
    got = clients.secrets.access_secret_version(
        name=f"{PARENT}/secrets/gitlab-token/versions/latest"
    )
    assert got.payload.data == b"four"


def test_rotate_json_summary_and_rerun_adds_nothing(three_versions, cli, clients):
    r = cli("secrets", "rotate", "gitlab-token", "-", "--keep", "3", "-o", "json", input="four")
    summary = r.json()
    assert summary["version"] == 4 and summary["added"] and summary["verified"]
    assert summary["previous"] == 3 and summary["kept"] == [4, 3, 2] and summary["disabled"] == [1]
    assert summary["destroyed"] == []
    again = cli("secrets", "rotate", "gitlab-token", "-", "--keep", "3", "-o", "json", input="four")
    assert again.exit_code == 0
    assert again.json()["added"] is False and again.json()["version"] == 4
    assert any("already holds this value" in n for n in again.json()["notes"])
    assert max(states(clients)) == 4
    human = cli("secrets", "rotate", "gitlab-token", "-", input="four")
    assert "No new version" in human.stderr and "already holds this value" in human.stderr


def test_disable_previous_and_destroy_old(three_versions, cli, clients):
    assert (
        cli("secrets", "rotate", "gitlab-token", "-", "--disable-previous", input="four").exit_code
        == 0
    )
    assert states(clients) == {4: "ENABLED", 3: "DISABLED", 2: "DISABLED", 1: "DISABLED"}
    r = cli("--no-input", "secrets", "rotate", "gitlab-token", "-", "--destroy-old", input="five")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert max(states(clients)) == 4  # refused before anything was added
    r = cli("secrets", "rotate", "gitlab-token", "-", "--destroy-old", "--yes", input="five")
    assert r.exit_code == 0, r.stderr
    assert states(clients) == {
        5: "ENABLED",
        4: "ENABLED",
        3: "DESTROYED",
        2: "DESTROYED",
        1: "DESTROYED",
    }


def test_rotate_moves_the_configured_aliases(three_versions, cli, clients, tmp_path):
    (tmp_path / "thothctl.toml").write_text(
        '[secrets.gitlab-token]\naliases = ["current", "previous"]\n'
    )
    r = cli("secrets", "rotate", "gitlab-token", "-", "-o", "json", input="four")
    assert r.exit_code == 0, r.stderr
    assert r.json()["aliases"] == {"current": 4, "previous": 3}
    secret = clients.secrets.get_secret(name=f"{PARENT}/secrets/gitlab-token")
    assert dict(secret.version_aliases) == {"current": 4, "previous": 3}
    got = clients.secrets.access_secret_version(
        name=f"{PARENT}/secrets/gitlab-token/versions/previous"
    )
    assert got.payload.data == b"three"


def test_rotate_on_a_missing_secret_says_to_create_it(enabled_apis, cli):
    r = cli("secrets", "rotate", "gitlab-token", "-", input="x")
    assert r.exit_code == 1
    assert "secrets create gitlab-token" in r.stderr


def test_update_service_gives_a_latest_reference_a_new_revision(three_versions, cli, clients):
    before = clients.run.get_service(name=SERVICE)
    r = cli(
        "secrets", "rotate", "gitlab-token", "-", "--update-service", "-o", "json", input="four"
    )
    assert r.exit_code == 0, r.stderr
    svc = r.json()["service"]
    assert svc["updated"] is True and svc["refreshed"] == ["GITLAB_TOKEN"] and svc["pinned"] == []
    after = clients.run.get_service(name=SERVICE)
    assert after.latest_created_revision != before.latest_created_revision
    assert svc["revision"] == after.latest_created_revision.rsplit("/", 1)[-1]
    assert env_refs(clients) == {"GITLAB_TOKEN": "latest", "GITLAB_BASE_URL": "latest"}
    # Re-running changes nothing on the service.
    again = cli(
        "secrets", "rotate", "gitlab-token", "-", "--update-service", "-o", "json", input="four"
    )
    assert again.json()["service"]["updated"] is False
    assert (
        clients.run.get_service(name=SERVICE).latest_created_revision
        == after.latest_created_revision
    )


def test_update_service_pins_a_numeric_reference_to_the_new_version(three_versions, cli, clients):
    svc = clients.run.get_service(name=SERVICE)
    for container in svc.template.containers:
        for env in container.env:
            if env.name == "GITLAB_TOKEN":
                env.value_source.secret_key_ref.version = "2"
    clients.wait(clients.run.update_service(request={"service": svc}))
    r = cli("secrets", "rotate", "gitlab-token", "-", "--update-service", input="four")
    assert r.exit_code == 0, r.stderr
    assert "pinned GITLAB_TOKEN to version 4" in r.stderr
    assert env_refs(clients)["GITLAB_TOKEN"] == "4"
    assert env_refs(clients)["GITLAB_BASE_URL"] == "latest"  # other secrets untouched


def test_versions_the_service_pins_are_not_disabled_without_update_service(
    three_versions, cli, clients
):
    svc = clients.run.get_service(name=SERVICE)
    for container in svc.template.containers:
        for env in container.env:
            if env.name == "GITLAB_TOKEN":
                env.value_source.secret_key_ref.version = "1"
    clients.wait(clients.run.update_service(request={"service": svc}))
    r = cli("secrets", "rotate", "gitlab-token", "-", "--disable-previous", input="four")
    assert r.exit_code == 0, r.stderr
    assert "pins" in r.stderr
    assert states(clients) == {4: "ENABLED", 3: "DISABLED", 2: "DISABLED", 1: "ENABLED"}
