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


# --- exceptions: what a caller, a logger or an error tracker can reach ---------------------------


def carried(exc: BaseException) -> str:
    """Everything an exception holds (args, message, repr, attributes) down its whole
    __cause__/__context__ chain: what a traceback, a logger or an error tracker can show."""
    out, todo, seen = [], [exc], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out += [repr(e.args), str(e), repr(e), repr(vars(e))]
        todo += [e.__cause__, e.__context__]
    return "\n".join(out)


def raised(fn) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def test_no_exception_carries_the_value(enabled_apis, clients, tmp_path, monkeypatch):
    import google_crc32c
    from google.cloud import secretmanager

    from thothctl.config import load_config
    from thothctl.runtime import SecretResolver
    from thothctl.secrets import resolve, store, values

    config = load_config(environ={}, emulator=True, cwd=tmp_path)
    token, creds = config.secrets["gitlab-token"], config.secrets["google-application-credentials"]
    not_utf8 = CANARY.encode() + b"\xff"
    store.create(clients, "gitlab-token")
    store.add_version(clients, "gitlab-token", values.SecretValue(not_utf8, "test"))
    monkeypatch.chdir(tmp_path)
    resolver = SecretResolver(environ={"THOTHCTL_EMULATOR_HOST": enabled_apis.address})
    corrupted = secretmanager.AccessSecretVersionResponse(
        name="projects/thoth-local/secrets/gitlab-token/versions/1",
        payload={"data": CANARY.encode(), "data_crc32c": google_crc32c.value(b"other")},
    )
    paths = {
        "runtime.get_secret of a value that is not UTF-8": lambda: resolver.get("gitlab-token"),
        "exec's resolution of it": lambda: resolve.resolve_one(clients, token, {}),
        "a value that is not UTF-8": lambda: values.value_from_stdin(token, not_utf8),
        "a value that is not JSON": lambda: values.value_from_stdin(
            creds, b'{"k": "' + CANARY.encode()
        ),
        "JSON nested too deeply": lambda: values.value_from_stdin(
            creds, b"[" * 5000 + CANARY.encode()
        ),
        "a CRC32C mismatch on access": lambda: store._verified_payload(corrupted, "gitlab-token"),
    }
    try:
        for what, fn in paths.items():
            exc = raised(fn)
            assert CANARY not in carried(exc), what
            assert getattr(exc, "exit_code", None) in (1, 2), (what, exc)
    finally:
        resolver.close()

    # results a caller may log: their repr never holds the value either
    from thothctl.secrets import rotate

    canary = values.SecretValue(CANARY.encode() + b"-rotated", "test")
    rotated = rotate.rotate(clients, config, "gitlab-token", canary, update_run_service=True)
    resolved = resolve.resolve_one(clients, token, {})
    for result in (rotated, rotated.add, rotated.service, canary, resolved):
        assert CANARY not in repr(result) and CANARY not in str(result)
    assert resolved.value == CANARY + "-rotated"
