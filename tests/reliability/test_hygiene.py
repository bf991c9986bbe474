"""Secret hygiene: one canary value run through every command path that handles a value (set,
rotate, init, errors, faults, --verbose, JSON output) never appears in any
output, error or emulator log entry; only `secrets get` to a pipe prints it."""

from __future__ import annotations

from reliability_helpers import P, enable_all

from thothctl.emulator.faults import FaultConfig

CANARY = "canary-7f3a9c1e-do-not-print"


def _all_log_text(clients) -> str:
    entries = clients.logging.list_log_entries(request={"resource_names": [P], "page_size": 1000})
    return "\n".join(str(e) for e in entries)


def test_a_canary_through_init_set_rotate_faults_and_verbose_never_leaks(
    cli, enabled_apis, clients, tmp_path
):
    enable_all(enabled_apis)
    seen: list[str] = []

    def run(*args, **kw):
        r = cli(*args, **kw)
        seen.append(f"$ {' '.join(args)} -> {r.exit_code}\n{r.stdout}\n{r.stderr}")
        return r

    env = {"GITLAB_TOKEN": CANARY}
    assert run("-v", "init", "--yes", "--no-input", env=env).exit_code == 0
    assert run("-v", "secrets", "set", "gitlab-token", "-", input=CANARY + "-2\n").exit_code == 0
    enabled_apis.faults.set(FaultConfig(lost_rate=0.5, seed=4, methods="AddSecretVersion"))
    assert run("-v", "secrets", "rotate", "gitlab-token", "-", input=CANARY + "-3\n").exit_code == 0
    enabled_apis.faults.set(FaultConfig(fail_rate=1.0, methods="AddSecretVersion"))
    # every try fails: retried until the (shortened) retry deadline, then one error line
    failing = {"THOTHCTL_RETRY_DEADLINE": "2"}
    assert (
        run(
            "-v", "secrets", "set", "gitlab-token", "-", input=CANARY + "-4\n", env=failing
        ).exit_code
        == 1
    )
    enabled_apis.faults.clear()
    # errors that are about the value itself
    run("secrets", "set", "google-application-credentials", "-", input='{"k": "' + CANARY)
    (tmp_path / "big").write_text(CANARY * 3000)
    run("secrets", "set", "gitlab-token", "--from-file", str(tmp_path / "big"))
    run("-v", "secrets", "set", "gitlab-token", "--no-input", env={"GITLAB_TOKEN": ""})
    for args in (
        ("secrets", "list", "-o", "json"),
        ("-v", "secrets", "describe", "gitlab-token", "-o", "json"),
        ("secrets", "versions", "gitlab-token"),
        ("-v", "doctor", "-o", "json"),
        ("-v", "logs", "secrets", "-o", "json"),
    ):
        run(*args)
    leaked = [s.splitlines()[0] for s in seen if CANARY in s]
    assert leaked == []
    assert CANARY not in _all_log_text(clients)
    # the one way out: get to a pipe
    got = cli("secrets", "get", "gitlab-token")
    assert got.exit_code == 0 and got.stdout == CANARY + "-3"


def test_a_canary_in_a_value_that_cannot_be_used_never_leaks(
    cli, enabled_apis, clients, monkeypatch
):
    """Values refused on the way in (JSON nested too deeply) or on the way out (a stored version
    that is not UTF-8, for exec; a CRC32C-checked read) end in one line without the value, and
    nothing is run with it."""
    from thothctl.cli import exec as exec_cmd

    enable_all(enabled_apis)
    ran = []
    monkeypatch.setattr(exec_cmd, "EXECVPE", lambda *a: ran.append(a))
    secret = f"{P}/secrets/gitlab-token"
    clients.secrets.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    clients.secrets.add_secret_version(
        request={"parent": secret, "payload": {"data": CANARY.encode() + b"\xff"}}
    )
    runs = [
        cli("-v", "exec", "--", "true"),
        cli(
            "-v", "secrets", "set", "google-application-credentials", "-", input="[" * 5000 + CANARY
        ),
        cli("-v", "secrets", "rotate", "gitlab-token", "-", input=CANARY.encode() + b"\xfe"),
    ]
    assert [r.exit_code for r in runs] == [1, 2, 2]
    for r in runs:
        assert CANARY not in r.stdout + r.stderr and "Traceback" not in r.stderr
        assert r.stderr.count("error:") == 1, r.stderr  # one line, no dump
    assert ran == []
