"""`thothctl secrets`: the lifecycle as a user and as CI, checked over the wire."""

from __future__ import annotations

import json

import google_crc32c
import pytest

from thothctl.emulator.faults import FaultConfig

PARENT = "projects/thoth-local"
TOKEN = "glpat-example-token-1234"


def secret_name(name: str) -> str:
    return f"{PARENT}/secrets/{name}"


def read(clients, name: str, version: str = "latest") -> bytes:
    return clients.secrets.access_secret_version(
        name=f"{secret_name(name)}/versions/{version}"
    ).payload.data


def states(clients, name: str) -> dict[int, str]:
    return {
        int(v.name.rsplit("/", 1)[-1]): v.state.name
        for v in clients.secrets.list_secret_versions(request={"parent": secret_name(name)})
    }


def mutating_calls(emulator) -> list[str]:
    return [c.method for c in emulator.calls.snapshot() if c.mutating]


@pytest.fixture
def token_secret(enabled_apis, cli):
    assert cli("secrets", "create", "gitlab-token").exit_code == 0
    return "gitlab-token"


def test_create_set_and_read_back_with_the_official_client(enabled_apis, cli, clients):
    r = cli("secrets", "create", "gitlab-token", "--labels", "team=docs,env=prod", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["created"] is True
    secret = clients.secrets.get_secret(name=secret_name("gitlab-token"))
    assert dict(secret.labels) == {"team": "docs", "env": "prod"}
    assert "automatic" in secret.replication
    # Re-running create is safe.
    again = cli("secrets", "create", "gitlab-token", "-o", "json")
    assert again.exit_code == 0 and again.json()["created"] is False

    r = cli("secrets", "set", "gitlab-token", "-", input=TOKEN + "\n")
    assert r.exit_code == 0, r.stderr
    assert "trailing newline" in r.stderr
    assert read(clients, "gitlab-token") == TOKEN.encode()
    version = clients.secrets.get_secret_version(name=f"{secret_name('gitlab-token')}/versions/1")
    assert version.client_specified_payload_checksum is True


def test_set_from_file_and_stdin_flag_and_env_in_ci(token_secret, cli, clients, tmp_path):
    path = tmp_path / "token.txt"
    path.write_bytes(b"from-file-value\n")
    assert cli("secrets", "set", "gitlab-token", "--from-file", str(path)).exit_code == 0
    assert read(clients, "gitlab-token") == b"from-file-value\n"  # files are taken as they are
    assert cli("secrets", "set", "gitlab-token", "--from-file", "-", input="piped").exit_code == 0
    assert read(clients, "gitlab-token") == b"piped"
    r = cli("--no-input", "secrets", "set", "gitlab-token", env={"GITLAB_TOKEN": "from-env"})
    assert r.exit_code == 0, r.stderr
    assert read(clients, "gitlab-token") == b"from-env"
    assert states(clients, "gitlab-token") == {1: "ENABLED", 2: "ENABLED", 3: "ENABLED"}


def test_set_without_any_source_in_ci_names_the_env_var(token_secret, cli, enabled_apis):
    enabled_apis.calls.reset()
    r = cli("--no-input", "secrets", "set", "gitlab-token")
    assert r.exit_code == 2
    assert "GITLAB_TOKEN" in r.stderr and "--from-file" in r.stderr
    assert mutating_calls(enabled_apis) == []


def test_set_the_same_value_twice_adds_one_version(token_secret, cli, clients):
    assert cli("secrets", "set", "gitlab-token", "-", input=TOKEN).exit_code == 0
    r = cli("secrets", "set", "gitlab-token", "-", input=TOKEN)
    assert r.exit_code == 0
    assert "unchanged" in r.stderr
    assert states(clients, "gitlab-token") == {1: "ENABLED"}


def test_interactive_prompt_asks_twice_with_the_description(
    token_secret, cli, clients, monkeypatch
):
    from thothctl.cli.context import AppContext

    monkeypatch.setattr(AppContext, "can_prompt", property(lambda self: True))
    asked = []

    def fake_getpass(prompt, stream=None):
        asked.append(prompt)
        return "typed-secret"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    r = cli("secrets", "set", "gitlab-token")
    assert r.exit_code == 0, r.stderr
    assert asked == [
        "GitLab personal access token (gitlab-token): ",
        "GitLab personal access token (gitlab-token) (again): ",
    ]
    assert read(clients, "gitlab-token") == b"typed-secret"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("secrets", "set", "bad/name", "-"), "x", "not a valid secret id"),
        (("secrets", "set", "gitlab-token", "-"), "", "empty"),
        (("secrets", "set", "gitlab-token", "-"), "\n", "empty"),
        (("secrets", "set", "gitlab-token", "-"), "x" * 65537, "65537 bytes"),
        (("secrets", "set", "gitlab-token", "hunter2"), None, "never taken from the command line"),
        (("secrets", "set", "google-application-credentials", "-"), "{not json", "not valid JSON"),
        (("secrets", "rotate", "gitlab-token", "-", "--keep", "0"), "v", "--keep"),
        (("secrets", "get", "gitlab-token", "--version", "0"), None, "not a valid version"),
        (("secrets", "disable", "gitlab-token", "latest"), None, "not a version number"),
        (("secrets", "destroy", "gitlab-token", "0", "--yes"), None, "not a version number"),
        (("secrets", "grant", "gitlab-token", "alice@example.com"), None, "not a valid member"),
        (("secrets", "grant", "gitlab-token", "allUsers"), None, "--allow-public"),
        (
            ("secrets", "grant", "gitlab-token", "user:a@example.com", "--role", "owner"),
            None,
            "not a valid role",
        ),
        (("secrets", "create", "gitlab-token", "--labels", "Team=docs"), None, "label key"),
        (("secrets", "describe", "x" * 256), None, "not a valid secret id"),
        (("exec", "--only", "nope", "--", "true"), None, "unknown secret"),
    ],
)
def test_bad_input_exits_2_with_the_rule_and_changes_nothing(
    token_secret, cli, enabled_apis, args, stdin, message
):
    enabled_apis.calls.reset()
    r = cli(*args, input=stdin)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert mutating_calls(enabled_apis) == []
    assert "hunter2" not in r.output


def test_invalid_utf8_is_refused_for_text_secrets(token_secret, cli, enabled_apis, tmp_path):
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe\x00token")
    enabled_apis.calls.reset()
    r = cli("secrets", "set", "gitlab-token", "--from-file", str(path))
    assert r.exit_code == 2 and "UTF-8" in r.stderr
    assert mutating_calls(enabled_apis) == []


def test_json_secret_is_validated_then_uploaded(enabled_apis, cli, clients):
    assert cli("secrets", "create", "google-application-credentials").exit_code == 0
    body = json.dumps({"type": "service_account", "project_id": "thoth-local"})
    r = cli("secrets", "set", "google-application-credentials", "-", input=body)
    assert r.exit_code == 0, r.stderr
    assert json.loads(read(clients, "google-application-credentials")) == json.loads(body)


def test_lost_response_on_add_never_creates_a_duplicate(token_secret, cli, clients, enabled_apis):
    enabled_apis.faults.set(FaultConfig(lost_rate=1.0, methods="*AddSecretVersion", seed=1))
    r = cli(
        "secrets", "set", "gitlab-token", "-", input=TOKEN, env={"THOTHCTL_RETRY_DEADLINE": "5"}
    )
    enabled_apis.faults.clear()
    assert r.exit_code == 0, r.stderr
    assert "response was lost" in r.stderr
    assert states(clients, "gitlab-token") == {1: "ENABLED"}
    adds = [c for c in enabled_apis.calls.snapshot() if c.method.endswith("AddSecretVersion")]
    assert len(adds) == 1 and adds[0].fault == "lost"


def test_unavailable_add_is_retried_after_checking(token_secret, cli, clients, enabled_apis):
    enabled_apis.faults.set(FaultConfig(fail_rate=0.5, methods="*AddSecretVersion", seed=3))
    r = cli("secrets", "set", "gitlab-token", "-", input=TOKEN)
    enabled_apis.faults.clear()
    assert r.exit_code == 0, r.stderr
    assert states(clients, "gitlab-token") == {1: "ENABLED"}
    assert read(clients, "gitlab-token") == TOKEN.encode()


def test_get_prints_to_a_pipe_and_refuses_a_terminal_without_reveal(
    token_secret, cli, enabled_apis
):
    cli("secrets", "set", "gitlab-token", "-", input=TOKEN)
    r = cli("secrets", "get", "gitlab-token")
    assert r.exit_code == 0 and r.stdout == TOKEN
    enabled_apis.calls.reset()
    r = cli("secrets", "get", "gitlab-token", env={"THOTHCTL_FORCE_TTY": "1"})
    assert r.exit_code == 2
    assert "--reveal" in r.stderr and TOKEN not in r.output
    assert not any(c.method.endswith("AccessSecretVersion") for c in enabled_apis.calls.snapshot())
    r = cli("secrets", "get", "gitlab-token", "--reveal", env={"THOTHCTL_FORCE_TTY": "1"})
    assert r.exit_code == 0 and TOKEN in r.stdout
    r = cli("secrets", "get", "gitlab-token", "--version", "1", "-o", "json")
    assert r.json() == {"name": "gitlab-token", "version": 1, "value": TOKEN}


def test_get_of_disabled_and_missing_versions_says_what_to_do(token_secret, cli):
    cli("secrets", "set", "gitlab-token", "-", input="one")
    cli("secrets", "set", "gitlab-token", "-", input="two")
    assert cli("secrets", "disable", "gitlab-token", "2").exit_code == 0
    r = cli("secrets", "get", "gitlab-token")
    assert r.exit_code == 1
    assert "version 2 of secret gitlab-token is disabled" in r.stderr
    assert "secrets enable gitlab-token 2" in r.stderr
    assert cli("secrets", "get", "gitlab-token", "--version", "1").stdout == "one"
    r = cli("secrets", "get", "missing-secret")
    assert r.exit_code == 1 and "does not exist" in r.stderr


def test_list_shows_configured_and_existing_side_by_side_without_reading_values(
    token_secret, cli, clients, enabled_apis
):
    cli("secrets", "set", "gitlab-token", "-", input="one")
    cli("secrets", "set", "gitlab-token", "-", input="two")
    cli("secrets", "disable", "gitlab-token", "1")
    cli("secrets", "create", "unrelated")
    member = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
    assert cli("secrets", "grant", "gitlab-token", member).exit_code == 0
    enabled_apis.calls.reset()
    r = cli("secrets", "list", "-o", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["name"]: row for row in r.json()}
    assert list(rows) == [
        "gitlab-token",
        "gitlab-url",
        "google-application-credentials",
        "unrelated",
    ]
    token = rows["gitlab-token"]
    assert token["exists"] and token["configured"]
    assert token["versions"] == {"enabled": 1, "disabled": 1, "destroyed": 0}
    assert token["latest"]["version"] == 2 and token["latest"]["state"] == "ENABLED"
    assert token["accessors"] == [member]
    assert rows["gitlab-url"]["exists"] is False
    assert rows["unrelated"]["configured"] is False and rows["unrelated"]["exists"] is True
    methods = [c.method.rsplit("/", 1)[-1] for c in enabled_apis.calls.snapshot()]
    assert "AccessSecretVersion" not in methods
    assert methods.count("ListSecrets") == 1
    assert methods.count("ListSecretVersions") == 1 and methods.count("GetIamPolicy") == 1
    # Human output in a pipe: one plain row per secret.
    plain = cli("secrets", "list")
    assert plain.exit_code == 0
    assert any(line.startswith("gitlab-url\tyes\tmissing") for line in plain.stdout.splitlines())


def test_describe_and_versions(token_secret, cli):
    cli("secrets", "set", "gitlab-token", "-", input="one")
    cli("secrets", "set", "gitlab-token", "-", input="two")
    cli("secrets", "destroy", "gitlab-token", "1", "--yes")
    r = cli("secrets", "versions", "gitlab-token", "-o", "json")
    assert [(v["version"], v["state"]) for v in r.json()] == [(2, "ENABLED"), (1, "DESTROYED")]
    r = cli("secrets", "versions", "gitlab-token", "--state", "enabled", "-o", "json")
    assert [v["version"] for v in r.json()] == [2]
    d = cli("secrets", "describe", "gitlab-token", "-o", "json").json()
    assert d["versions"] == {"enabled": 1, "disabled": 0, "destroyed": 1}
    assert d["replication"] == "automatic"
    r = cli("secrets", "describe", "gitlab-token")
    assert "versions\t1 enabled, 0 disabled, 1 destroyed" in r.stdout


def test_destroy_and_delete_need_confirmation(token_secret, cli, clients, enabled_apis):
    cli("secrets", "set", "gitlab-token", "-", input="one")
    enabled_apis.calls.reset()
    r = cli("--no-input", "secrets", "destroy", "gitlab-token", "1")
    assert r.exit_code == 2 and "--yes" in r.stderr
    r = cli("--no-input", "secrets", "delete", "gitlab-token")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert mutating_calls(enabled_apis) == []
    assert cli("secrets", "destroy", "gitlab-token", "1", "--yes").exit_code == 0
    assert states(clients, "gitlab-token") == {1: "DESTROYED"}
    r = cli("secrets", "enable", "gitlab-token", "1")
    assert r.exit_code == 1 and "destroyed" in r.stderr
    assert cli("secrets", "delete", "gitlab-token", "--yes").exit_code == 0
    assert [s.name for s in clients.secrets.list_secrets(request={"parent": PARENT})] == []


def test_grant_and_revoke_keep_other_bindings(token_secret, cli, clients):
    sa = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
    alice = "user:alice@example.com"
    assert (
        cli(
            "secrets", "grant", "gitlab-token", alice, "--role", "roles/secretmanager.viewer"
        ).exit_code
        == 0
    )
    r = cli("secrets", "grant", "gitlab-token", sa, "-o", "json")
    assert r.exit_code == 0 and r.json()["changed"] is True
    again = cli("secrets", "grant", "gitlab-token", sa, "-o", "json")
    assert again.json()["changed"] is False
    policy = clients.secrets.get_iam_policy(request={"resource": secret_name("gitlab-token")})
    got = {b.role: list(b.members) for b in policy.bindings}
    assert got == {
        "roles/secretmanager.viewer": [alice],
        "roles/secretmanager.secretAccessor": [sa],
    }
    assert cli("secrets", "revoke", "gitlab-token", sa).exit_code == 0
    policy = clients.secrets.get_iam_policy(request={"resource": secret_name("gitlab-token")})
    assert {b.role: list(b.members) for b in policy.bindings} == {
        "roles/secretmanager.viewer": [alice]
    }
    public = cli("secrets", "grant", "gitlab-token", "allAuthenticatedUsers", "--allow-public")
    assert public.exit_code == 0


def test_grant_retries_on_a_concurrent_policy_change(
    token_secret, cli, clients, enabled_apis, monkeypatch
):
    """Someone else writes the policy between our read and our write: we re-read, keep theirs."""
    from thothctl import iampolicy

    bob = "user:bob@example.com"
    real_modify = iampolicy.modify
    interfered = []

    def racing_modify(get, set_, mutate, **kw):
        def get_then_race():
            policy = get()
            if not interfered:
                interfered.append(True)
                other = clients.secrets.get_iam_policy(
                    request={"resource": secret_name("gitlab-token")}
                )
                other.bindings.add(role="roles/secretmanager.viewer", members=[bob])
                clients.secrets.set_iam_policy(
                    request={"resource": secret_name("gitlab-token"), "policy": other}
                )
            return policy

        return real_modify(get_then_race, set_, mutate, **kw)

    monkeypatch.setattr(iampolicy, "modify", racing_modify)
    r = cli("secrets", "grant", "gitlab-token", "user:alice@example.com", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["attempts"] == 2
    aborted = [
        c
        for c in enabled_apis.calls.snapshot()
        if c.method.endswith("SetIamPolicy") and c.code == "ABORTED"
    ]
    assert len(aborted) == 1
    policy = clients.secrets.get_iam_policy(request={"resource": secret_name("gitlab-token")})
    got = {b.role: list(b.members) for b in policy.bindings}
    assert got == {
        "roles/secretmanager.viewer": [bob],
        "roles/secretmanager.secretAccessor": ["user:alice@example.com"],
    }


def test_missing_permission_names_the_permission_and_role(token_secret, cli, enabled_apis):
    enabled_apis.denied.add("secretmanager.versions.add")
    r = cli("secrets", "set", "gitlab-token", "-", input="x")
    assert r.exit_code == 1
    assert (
        "secretmanager.versions.add" in r.stderr
        and "roles/secretmanager.secretVersionAdder" in r.stderr
    )


def test_crc_of_the_uploaded_payload_matches(token_secret, cli, clients):
    cli("secrets", "set", "gitlab-token", "-", input=TOKEN)
    got = clients.secrets.access_secret_version(name=f"{secret_name('gitlab-token')}/versions/1")
    assert got.payload.data_crc32c == google_crc32c.value(TOKEN.encode())
