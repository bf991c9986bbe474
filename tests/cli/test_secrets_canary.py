"""A canary value goes through every secrets command; it must never show up where it should not:
stdout, stderr, verbose output, Python logs or the emulated Cloud Logging entries. Only
`secrets get` to a pipe or with --reveal may print it."""

from __future__ import annotations

import logging

from thothctl.cli import exec as exec_cmd

CANARY = "CANARY-7f3a9c-do-not-leak"
SA = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"


def test_the_canary_never_leaks(enabled_apis, cli, clients, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    secret_file = tmp_path / "value.txt"
    secret_file.write_text(CANARY + "-file")
    captured = {}
    monkeypatch.setattr(exec_cmd, "EXECVPE", lambda f, a, env: captured.update(env=env))
    env_ci = {"GITLAB_TOKEN": CANARY + "-env"}

    quiet_runs = [
        cli("-v", "secrets", "create", "gitlab-token", "--labels", "team=docs"),
        cli("-v", "secrets", "set", "gitlab-token", "-", input=CANARY + "\n"),
        cli("-v", "secrets", "set", "gitlab-token", "--from-file", str(secret_file)),
        cli("-v", "--no-input", "secrets", "set", "gitlab-token", env=env_ci),
        cli("-v", "secrets", "set", "gitlab-token", "-", input=CANARY + "-env"),  # unchanged path
        cli(
            "-v",
            "secrets",
            "rotate",
            "gitlab-token",
            "-",
            "--update-service",
            input=CANARY + "-rot",
        ),
        cli("-v", "secrets", "rotate", "gitlab-token", "-", "-o", "json", input=CANARY + "-rot"),
        cli("-v", "secrets", "list"),
        cli("-v", "secrets", "list", "-o", "json"),
        cli("-v", "secrets", "describe", "gitlab-token", "-o", "json"),
        cli("-v", "secrets", "versions", "gitlab-token"),
        cli("-v", "secrets", "get", "gitlab-token", env={"THOTHCTL_FORCE_TTY": "1"}),  # refused
        cli("-v", "secrets", "grant", "gitlab-token", SA),
        cli("-v", "secrets", "revoke", "gitlab-token", SA),
        cli("-v", "secrets", "disable", "gitlab-token", "1"),
        cli("-v", "secrets", "enable", "gitlab-token", "1"),
        cli("-v", "secrets", "destroy", "gitlab-token", "1", "--yes"),
        cli("-v", "secrets", "set", "gitlab-token", "-", input=CANARY + "x" * 70000),  # too big
        cli(
            "-v", "secrets", "set", "google-application-credentials", "-", input='{"k": "' + CANARY
        ),  # bad JSON
        cli("-v", "exec", "--", "true"),
        cli("-v", "secrets", "delete", "gitlab-token", "--yes"),
    ]
    codes = [r.exit_code for r in quiet_runs]
    assert codes.count(0) == len(codes) - 3, (
        codes
    )  # the refused get, the oversized and the bad JSON
    for r in quiet_runs:
        assert CANARY not in r.stdout, r.stdout
        assert CANARY not in r.stderr, r.stderr
    assert captured["env"]["GITLAB_TOKEN"].startswith(CANARY)  # exec did get it, silently
    assert CANARY not in caplog.text

    # The allowed ways to see it.
    cli("secrets", "create", "gitlab-token")
    cli("secrets", "set", "gitlab-token", "-", input=CANARY)
    assert cli("secrets", "get", "gitlab-token").stdout == CANARY
    assert (
        CANARY
        in cli("secrets", "get", "gitlab-token", "--reveal", env={"THOTHCTL_FORCE_TTY": "1"}).stdout
    )

    # Audit entries in the emulated Cloud Logging name the version, never the value.
    entries = list(
        clients.logging.list_log_entries(request={"resource_names": ["projects/thoth-local"]})
    )
    for entry in entries:
        assert CANARY not in str(entry)
