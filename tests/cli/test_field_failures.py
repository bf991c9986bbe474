"""What a user sees when the world fails (issue 12, items 1-3): every command under an endpoint
that cannot be reached, each error Google really sends, retries that run out while waiting, and
`doctor` when it cannot check. Always one line on stderr, the right exit code, no traceback."""

from __future__ import annotations

import socket

import pytest

from thothctl.emulator.faults import FaultConfig

# Commands that reach the API, as a user types them (every one goes through the same guard).
REACHING = [
    "secrets list",
    "secrets describe gitlab-token",
    "secrets versions gitlab-token",
    "secrets get gitlab-token",
    "secrets grant gitlab-token user:bob@example.com --yes",
    "secrets delete gitlab-token --yes",
    "apis status",
    "apis enable --yes",
    "jobs list",
    "jobs describe daily-sync",
    "jobs apply --yes",
    "jobs run daily-sync --wait",
    "logs",
    "logs --follow",
    "doctor",
    "init --yes --no-input",
    "-o json secrets list",
    "--transport rest secrets list",
]


@pytest.fixture
def nowhere() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def one_error_line(result) -> str:
    lines = [
        line
        for line in result.stderr.strip().splitlines()
        if not line.startswith("Following new log entries")  # `logs -f` says so before it asks
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", REACHING)
def test_every_command_names_an_emulator_that_is_not_running(cli, nowhere, command):
    result = cli(command, env={"THOTHCTL_EMULATOR_HOST": nowhere, "GITLAB_TOKEN": "glpat-x-1"})
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert f"cannot reach the emulator at {nowhere}" in line
    assert "emulator serve" in line  # what to start


# (fault shape, methods, command, exit code, words of the one line)
SHAPES = [
    ("service-disabled", "*", "secrets list", 1, "secretmanager.googleapis.com is not enabled"),
    ("billing", "*", "jobs list", 1, "billing is not enabled for project"),
    ("quota", "*", "secrets list", 1, "quota 'RequestsPerMinutePerProject' of secretmanager"),
    (
        "org-policy",
        "*SetIamPolicy",
        "secrets grant gitlab-token user:bob@gmail.com --yes",
        1,
        "refused by the organization policy constraints/iam.allowedPolicyMemberDomains: User "
        "bob@gmail.com is not in permitted organization",
    ),
    ("auth-expired", "*", "secrets list", 4, "the credentials were rejected: the access token"),
    ("auth-revoked", "*", "secrets list", 4, "could not be refreshed: invalid_grant: Token has"),
    ("auth-revoked", "*", "--transport rest secrets list", 4, "could not be refreshed: Token has"),
]


@pytest.mark.parametrize(
    ("shape", "methods", "command", "code", "words"),
    SHAPES,
    ids=[f"{s[0]}:{s[2].split()[0 if s[2][0] != '-' else 2]}" for s in SHAPES],
)
def test_each_error_google_sends_is_one_line_with_what_to_do(
    cli, enabled_apis, clients, shape, methods, command, code, words
):
    clients.secrets.create_secret(
        request={"parent": "projects/thoth-local", "secret_id": "gitlab-token",
                 "secret": {"replication": {"automatic": {}}}}
    )  # fmt: skip
    enabled_apis.faults.set(
        FaultConfig(fail_rate=1.0, fail_shape=shape, methods=methods, retry_delay_s=30)
    )
    result = cli(command, env={"THOTHCTL_RETRY_DEADLINE": "5"})
    assert result.exit_code == code, result.output
    assert words in one_error_line(result)


def test_jobs_run_wait_through_an_outage_says_how_long_it_retried(cli, enabled_apis, monkeypatch):
    """The scheduler stops answering GetJob once the run is requested: `--wait` ends with the
    last error and how long it tried, not a traceback."""
    import grpc

    from thothctl.emulator.faults import Decision

    assert cli("jobs apply --yes").exit_code == 0
    inner = enabled_apis.faults

    class AfterRunJob:
        ran = False

        def decide(self, method: str) -> Decision:
            self.ran = self.ran or method.endswith("/RunJob")
            if self.ran and method.endswith("/GetJob"):
                return Decision(fail=grpc.StatusCode.UNAVAILABLE)
            return inner.decide(method)

        def __getattr__(self, name: str):
            return getattr(inner, name)

    monkeypatch.setattr(enabled_apis, "faults", AfterRunJob())
    result = cli("jobs run daily-sync --wait", env={"THOTHCTL_RETRY_DEADLINE": "0.5"})
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert line.startswith("error: cloudscheduler.googleapis.com kept failing: UNAVAILABLE")
    assert "retried for " in line


def test_doctor_without_credentials_exits_4_with_the_login_hint(cli):
    result = cli("--project thoth-real doctor")
    assert result.exit_code == 4, result.output
    line = one_error_line(result)
    assert "no Google credentials found" in line
    assert "gcloud auth application-default login" in line
    assert result.stdout == ""  # no report of "problems" it could not check


def test_doctor_of_an_unknown_project_exits_1(cli, emulator):
    result = cli("--project nope-proj doctor")
    assert result.exit_code == 1, result.output
    assert "project nope-proj was not found, or you may not see it" in one_error_line(result)


def test_doctor_that_may_see_nothing_exits_1_not_3(cli, emulator):
    emulator.faults.set(FaultConfig(fail_rate=1.0, fail_code="PERMISSION_DENIED"))
    result = cli("doctor")
    assert result.exit_code == 1, result.output
    assert "could not check anything in project thoth-local" in one_error_line(result)
