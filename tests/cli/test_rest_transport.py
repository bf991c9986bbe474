"""thothctl over REST, for real: the operator's whole story (init → rotate → jobs run --wait →
logs → doctor) with ``--transport rest`` against the emulator, and with nothing but gcloud-style
endpoint overrides pointing at its REST listener (no credentials needed for a plain-http loopback
override). The emulator counts what it answered over REST, so a silent fall-back to gRPC fails."""

from __future__ import annotations

import pytest

from thothctl.clients import Clients, ClientSettings

OVERRIDDEN = ("SECRETMANAGER", "CLOUDSCHEDULER", "RUN", "IAM", "SERVICEUSAGE", "LOGGING")
REST_APIS = ("secretmanager", "scheduler", "run", "serviceusage")


def rest_served(emulator) -> dict[str, int]:
    return emulator.control_ops()["rest_requests"]({})


def served_delta(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {m.split("/")[1] for m, n in after.items() if n > before.get(m, 0)}


def story(cli, emulator, *flags: str, env: dict[str, str] | None = None) -> None:
    """init → rotate → jobs run --wait → logs → doctor, each exiting 0; GitLab is the emulator's."""
    ops = emulator.control_ops()
    first, rotated = (ops["gitlab_token_create"]({})["token"] for _ in range(2))
    values = {"GITLAB_TOKEN": first, "GITLAB_BASE_URL": ops["gitlab_url"]({})}

    def run(*args: str, **kw):
        result = cli(*flags, *args, env={**(env or {}), **values}, **kw)
        assert result.exit_code == 0, (args, result.output)
        return result

    run("init", "--yes", "--no-input")
    run("secrets", "rotate", "gitlab-token", "-", input=rotated)
    attempt = run("jobs", "run", "daily-sync", "--wait", "--timeout", "20s", "-o", "json")
    assert attempt.json()["attempt"]["http_status"] == 200
    logged = run("logs", "jobs", "-o", "json").stdout
    assert "AttemptFinished" in logged
    doctor = run("doctor", "-o", "json").json()
    assert doctor["healthy"] is True and doctor["problems"] == 0, doctor
    assert rotated not in attempt.output + logged


@pytest.fixture
def quick_scheduler(emulator):
    emulator.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    return emulator


def test_the_whole_story_with_transport_rest(cli, quick_scheduler):
    before = rest_served(quick_scheduler)
    story(cli, quick_scheduler, "--transport", "rest")
    services = served_delta(before, rest_served(quick_scheduler))
    assert {
        "google.cloud.secretmanager.v1.SecretManagerService",
        "google.cloud.scheduler.v1.CloudScheduler",
        "google.cloud.run.v2.Services",
        "google.api.serviceusage.v1.ServiceUsage",
    } <= services


def test_the_whole_story_through_endpoint_overrides_alone(cli, quick_scheduler, monkeypatch):
    monkeypatch.delenv("THOTHCTL_EMULATOR_HOST")
    url = f"http://{quick_scheduler.rest_address}/"
    overrides = {f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}": url for api in OVERRIDDEN}
    before = rest_served(quick_scheduler)
    quick_scheduler.calls.reset()
    story(cli, quick_scheduler, "--project", "thoth-local", env=overrides)
    assert "google.cloud.secretmanager.v1.SecretManagerService" in served_delta(
        before, rest_served(quick_scheduler)
    )
    # the gRPC-only libraries (IAM admin, Logging) reached the same address
    methods = {c.method for c in quick_scheduler.calls.snapshot()}
    assert "/google.iam.admin.v1.IAM/GetServiceAccount" in methods
    assert "/google.logging.v2.LoggingServiceV2/ListLogEntries" in methods


def test_any_other_override_still_needs_real_credentials(cli, monkeypatch):
    monkeypatch.delenv("THOTHCTL_EMULATOR_HOST", raising=False)
    env = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": "https://secretmanager.example.test/"}
    result = cli("--project", "thoth-local", "secrets", "list", env=env)
    assert result.exit_code == 4, result.output
    assert "no Google credentials found" in result.output
    assert "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE" in result.output
    for how in (
        {"env": {**env, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": "/nonexistent/token"}},
        {"env": env, "flags": ("--access-token-file", "/nonexistent/token")},
    ):
        args = ("--project", "thoth-local", *how.get("flags", ()), "secrets", "list")
        missing = cli(*args, env=how["env"])
        assert missing.exit_code == 4 and "cannot read the access token file" in missing.output
        assert "Traceback" not in missing.output


def test_an_access_token_file_is_a_credential_source(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("ya29.short-lived-ci-token\n")
    env = {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token_file)}
    clients = Clients(ClientSettings(project="p-123456", environ=env, quota_project="billing-1"))
    creds = clients.secrets.raw.transport._credentials
    assert creds.token == "ya29.short-lived-ci-token" and creds.quota_project_id == "billing-1"
    clients.close()
