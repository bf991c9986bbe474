"""Input that must be refused before any call, as the user types it: exit 2, one line naming what
was wrong, and nothing changed (the emulator's call log shows no call at all, or no write).

Explicitly empty options and variables, identifiers with a trailing newline, public members,
an empty env var hiding a stored secret, oversized piped values, NUL bytes, foreign encodings.
"""

from __future__ import annotations

import os
import threading

import pytest

P = "projects/thoth-local"


def one_error(r, *pieces: str) -> str:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for piece in pieces:
        assert piece in errors[0], errors[0]
    return errors[0]


def writes(emulator) -> list[str]:
    return [c.method for c in emulator.calls.snapshot() if c.mutating]


@pytest.fixture
def project(enabled_apis, clients):
    """gitlab-token exists with one version; the call log is empty."""
    sm = clients.secrets
    sm.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    sm.add_secret_version(
        request={"parent": f"{P}/secrets/gitlab-token", "payload": {"data": b"stored"}}
    )
    enabled_apis.calls.reset()
    return enabled_apis


# --- 5. an explicitly empty value is an error, never a fall-through ----------------------------


def test_an_empty_project_flag_is_refused_not_replaced_by_cloudsdk_core_project(project, cli):
    r = cli("--project", "", "init", "--yes", env={"CLOUDSDK_CORE_PROJECT": "other-project"})
    one_error(r, "--project", "empty")
    assert project.calls.snapshot() == []


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--region", ""], {}, "--region"),
        (["--config", ""], {}, "--config"),
        (["--env", ""], {}, "--env"),
        (["--impersonate-service-account", ""], {}, "--impersonate-service-account"),
        ([], {"THOTHCTL_PROJECT": ""}, "$THOTHCTL_PROJECT"),
        ([], {"THOTHCTL_REGION": ""}, "$THOTHCTL_REGION"),
        ([], {"THOTHCTL_CONFIG": ""}, "$THOTHCTL_CONFIG"),
        ([], {"THOTHCTL_ENV": ""}, "$THOTHCTL_ENV"),
        ([], {"THOTHCTL_OUTPUT": ""}, "$THOTHCTL_OUTPUT"),
        ([], {"THOTHCTL_TRANSPORT": ""}, "$THOTHCTL_TRANSPORT"),
        ([], {"THOTHCTL_NO_INPUT": ""}, "$THOTHCTL_NO_INPUT"),
        ([], {"THOTHCTL_EMULATOR": ""}, "$THOTHCTL_EMULATOR"),
        ([], {"THOTHCTL_EMULATOR_DATA": ""}, "$THOTHCTL_EMULATOR_DATA"),
        ([], {"THOTHCTL_QUOTA_PROJECT": ""}, "$THOTHCTL_QUOTA_PROJECT"),
        ([], {"THOTHCTL_IMPERSONATE_SERVICE_ACCOUNT": ""}, "$THOTHCTL_IMPERSONATE_SERVICE"),
    ],
)
def test_every_empty_global_option_and_variable_is_refused_before_any_call(
    project, cli, args, env, named
):
    r = cli(*args, "secrets", "list", env={"CLOUDSDK_CORE_PROJECT": "other-project", **env})
    one_error(r, named, "empty")
    assert project.calls.snapshot() == []


def test_an_empty_emulator_host_never_means_real_google(project, cli):
    r = cli("secrets", "list", env={"THOTHCTL_EMULATOR_HOST": ""})
    one_error(r, "$THOTHCTL_EMULATOR_HOST", "empty")


@pytest.mark.parametrize(
    "host", ["http://127.0.0.1:8085", " 127.0.0.1:8085", "127.0.0.1", "127.0.0.1:99999", "h:1\n"]
)
def test_an_emulator_host_that_is_not_host_port_is_refused_at_once(project, cli, host):
    one_error(cli("secrets", "list", env={"THOTHCTL_EMULATOR_HOST": host}), "HOST:PORT")


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--impersonate-service-account", "nope"], {}, "--impersonate-service-account"),
        ([], {"THOTHCTL_IMPERSONATE_SERVICE_ACCOUNT": "a b"}, "$THOTHCTL_IMPERSONATE_SERVICE"),
        ([], {"THOTHCTL_QUOTA_PROJECT": "bad project"}, "$THOTHCTL_QUOTA_PROJECT"),
    ],
)
def test_a_global_value_that_names_nothing_is_refused_before_any_call(
    project, cli, args, env, named
):
    one_error(cli(*args, "secrets", "list", env=env), named)
    assert project.calls.snapshot() == []


@pytest.mark.parametrize(("what", "says"), [("dir", "a directory"), ("latin1", "not a JSON")])
def test_a_credentials_path_that_is_no_key_file_is_named_not_a_traceback(
    project, cli, tmp_path, what, says
):
    """Real Google (no emulator): $GOOGLE_APPLICATION_CREDENTIALS at a directory tracebacked
    in google-auth; a file of another kind read as "no Google credentials found"."""
    path = tmp_path / what
    if what == "dir":
        path.mkdir()
    else:
        path.write_bytes(b"caf\xe9")
    env = {"THOTHCTL_EMULATOR_HOST": None, "GOOGLE_APPLICATION_CREDENTIALS": str(path)}
    r = cli("--project", "p-12345", "secrets", "list", env=env)
    assert r.exit_code == 4 and "Traceback" not in r.output, r.output
    assert "$GOOGLE_APPLICATION_CREDENTIALS" in r.stderr and says in r.stderr


def test_an_empty_from_file_is_refused(project, cli):
    one_error(cli("secrets", "set", "gitlab-token", "--from-file", ""), "--from-file", "empty")
    assert writes(project) == []


# --- 6. a trailing newline or control character passes no validator ------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["secrets", "create", "abc\n"], "secret id"),
        (["secrets", "create", "abc\r"], "secret id"),
        (["secrets", "grant", "gitlab-token", "user:a@example.com\n"], "member"),
        (["secrets", "revoke", "gitlab-token", "user:a@example.com\n"], "member"),
        (
            ["secrets", "grant", "gitlab-token", "user:a@example.com", "--role", "roles/viewer\n"],
            "role",
        ),
        (["secrets", "get", "gitlab-token", "--version", "1\n"], "version"),
        (["secrets", "disable", "gitlab-token", "٣"], "version"),
        (["--project", "thoth-local\n", "secrets", "list"], "project id"),
        (["--region", "us-central1\n", "secrets", "list"], "region"),
        (["jobs", "apply", "daily-sync\n"], "daily-sync"),
        (["exec", "--only", "gitlab-token\n", "--", "true"], "secret id"),
        (["apis", "enable", "run\n", "--yes"], "API"),
    ],
)
def test_an_identifier_with_a_control_character_is_refused_and_nothing_changes(
    project, cli, args, named
):
    line = one_error(cli(*args), named)
    assert "\\n" in line or "\\r" in line or "٣" in line  # the value is shown escaped, one line
    assert writes(project) == []


# --- 8. values and files -------------------------------------------------------------------------


def test_a_consumer_domain_is_public_and_needs_allow_public(project, cli, clients):
    one_error(
        cli("secrets", "grant", "gitlab-token", "domain:gmail.com"), "public", "--allow-public"
    )
    assert writes(project) == []
    r = cli("secrets", "grant", "gitlab-token", "domain:gmail.com", "--allow-public")
    assert r.exit_code == 0, r.output
    policy = clients.secrets.get_iam_policy(request={"resource": f"{P}/secrets/gitlab-token"})
    assert any("domain:gmail.com" in b.members for b in policy.bindings)


def test_an_empty_env_var_does_not_silently_hide_the_stored_secret_in_exec(
    project, cli, monkeypatch
):
    from thothctl.cli import exec as exec_cmd

    ran = []
    monkeypatch.setattr(exec_cmd, "EXECVPE", lambda *a: ran.append(a))
    r = cli("exec", "--", "true", env={"GITLAB_TOKEN": ""})
    one_error(r, "$GITLAB_TOKEN", "empty", "gitlab-token")
    assert ran == []


def test_an_empty_env_var_is_refused_by_the_runtime_resolver_too(project, tmp_path, monkeypatch):
    from thothctl.errors import UsageError
    from thothctl.runtime import SecretResolver

    monkeypatch.chdir(tmp_path)
    resolver = SecretResolver(
        environ={"THOTHCTL_EMULATOR_HOST": project.address, "GITLAB_TOKEN": ""}
    )
    with pytest.raises(UsageError, match=r"\$GITLAB_TOKEN is set but empty"):
        resolver.get("gitlab-token")
    assert SecretResolver(environ={"THOTHCTL_EMULATOR_HOST": project.address}).get(
        "gitlab-token"
    ) == ("stored")


def test_a_value_over_64_kib_from_a_pipe_is_reported_as_more_than_the_limit(project, cli, tmp_path):
    """`... | thothctl secrets set NAME --from-file /dev/stdin`: a pipe has no size."""
    fifo = tmp_path / "value.fifo"
    os.mkfifo(fifo)

    def feed():
        try:
            with open(fifo, "wb") as fh:
                fh.write(b"x" * 70000)
        except BrokenPipeError:
            pass  # thothctl stops reading past the limit

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    r = cli("secrets", "set", "gitlab-token", "--from-file", str(fifo))
    writer.join(5)
    line = one_error(r, "more than 65536 bytes")
    assert " 0 bytes" not in line
    assert writes(project) == []


def test_a_nul_byte_is_refused_by_set_as_exec_would_refuse_it(project, cli, clients, monkeypatch):
    """A value must be usable as an environment variable: set refuses a NUL (exit 2); a value
    with one stored by another tool is refused by exec with one line (exit 1)."""
    from thothctl.cli import exec as exec_cmd

    one_error(cli("secrets", "set", "gitlab-token", "-", input=b"tok\x00en"), "NUL byte")
    assert writes(project) == []
    clients.secrets.add_secret_version(
        request={"parent": f"{P}/secrets/gitlab-token", "payload": {"data": b"tok\x00en"}}
    )
    monkeypatch.setattr(exec_cmd, "EXECVPE", lambda *a: None)
    r = cli("exec", "--only", "gitlab-token", "--", "true")
    assert r.exit_code == 1 and "NUL byte" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ('project = "thoth-local"\n'.encode("utf-16"), "UTF-16"),
        ('# Café\nproject = "thoth-local"\n'.encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_config_file_in_another_encoding_is_one_line(project, cli, tmp_path, data, says):
    (tmp_path / "thothctl.toml").write_bytes(data)
    one_error(cli("secrets", "list"), "thothctl.toml", says)
    assert project.calls.snapshot() == []


def test_a_config_file_with_a_utf8_bom_works(project, cli, tmp_path):
    (tmp_path / "thothctl.toml").write_bytes(b'\xef\xbb\xbf[secrets.gitlab-token]\nenv = "TOK"\n')
    r = cli("secrets", "list", "-o", "json")
    assert r.exit_code == 0, r.output
