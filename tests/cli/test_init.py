"""`thothctl init`: plan, ask once, apply concurrently, converge — checked over the wire."""

from __future__ import annotations

import collections
import getpass
import json

import pytest

from thothctl.cli.context import AppContext
from thothctl.emulator.faults import FaultConfig

TOKEN = "glpat-init-test-value-0001"
P = "projects/thoth-local"
LOC = f"{P}/locations/us-central1"
RUNTIME = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
SCHEDULER = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"


def mutating(emulator):
    return [c.method.rsplit("/", 1)[-1] for c in emulator.calls.snapshot() if c.mutating]


def versions(clients, secret):
    return list(clients.secrets.list_secret_versions(request={"parent": f"{P}/secrets/{secret}"}))


def test_dry_run_on_a_fresh_project_plans_everything_and_changes_nothing(cli, emulator):
    emulator.calls.reset()
    result = cli("init", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    plan = result.json()["plan"]
    ids = [s["id"] for s in plan["steps"]]
    assert ids == [
        "apis",
        "sa:scheduler",
        "grant:invoker",
        "secret:gitlab-token",
        "version:gitlab-token",
        "grant:gitlab-token",
        "secret:gitlab-url",
        "version:gitlab-url",
        "grant:gitlab-url",
        "job:daily-sync",
        "job:hourly-incremental-sync",
    ]
    assert {s["action"] for s in plan["steps"]} == {"create"}
    assert plan["summary"] == {"create": 11, "update": 0, "unchanged": 0}
    assert mutating(emulator) == []


def test_ci_init_sets_up_everything_then_a_rerun_changes_nothing(cli, emulator, clients):
    result = cli("init", "--yes", "--no-input", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "Applied 11 changes" in result.stderr
    assert TOKEN not in result.output

    # what the service and the scheduler will see, read with the official clients
    enabled = {
        s.config.name
        for s in clients.serviceusage.list_services(
            request={"parent": P, "filter": "state:ENABLED"}
        )
    }
    assert {
        "secretmanager.googleapis.com",
        "cloudscheduler.googleapis.com",
        "iam.googleapis.com",
    } <= enabled
    assert (
        clients.iam.get_service_account(
            request={"name": f"projects/-/serviceAccounts/{SCHEDULER}"}
        ).email
        == SCHEDULER
    )
    token = clients.secrets.access_secret_version(
        request={"name": f"{P}/secrets/gitlab-token/versions/latest"}
    )
    assert token.payload.data.decode() == TOKEN
    url = clients.secrets.access_secret_version(
        request={"name": f"{P}/secrets/gitlab-url/versions/latest"}
    )
    assert url.payload.data.decode() == "https://gitlab.com"
    for secret in ("gitlab-token", "gitlab-url"):
        policy = clients.secrets.get_iam_policy(request={"resource": f"{P}/secrets/{secret}"})
        assert {"role": "roles/secretmanager.secretAccessor", "members": [RUNTIME]} in [
            {"role": b.role, "members": list(b.members)} for b in policy.bindings
        ]
    svc = clients.run.get_service(request={"name": f"{LOC}/services/thoth-mcp-server"})
    run_policy = clients.run.get_iam_policy(request={"resource": svc.name})
    assert [(b.role, list(b.members)) for b in run_policy.bindings] == [
        ("roles/run.invoker", [f"serviceAccount:{SCHEDULER}"])
    ]
    job = clients.scheduler.get_job(request={"name": f"{LOC}/jobs/thoth-daily-sync"})
    assert job.schedule == "0 2 * * *" and job.http_target.uri == svc.uri.rstrip("/") + "/sync"
    assert job.http_target.oidc_token.service_account_email == SCHEDULER
    assert job.http_target.oidc_token.audience.rstrip("/") == svc.uri.rstrip("/")
    assert job.retry_config.retry_count == 3
    assert job.attempt_deadline.total_seconds() == 320

    emulator.calls.reset()
    again = cli("init", "--no-input")
    assert again.exit_code == 0, again.output
    assert "Nothing to do" in again.stderr
    calls = emulator.calls.snapshot()
    assert [c for c in calls if c.mutating] == []
    reads = collections.Counter(c.method.rsplit("/", 1)[-1] for c in calls)
    # at most one read per resource; batch reads where the API has them
    assert reads["BatchGetServices"] == 1
    assert reads["ListSecrets"] == 1 and reads["ListJobs"] == 1
    assert reads["ListSecretVersions"] <= 2
    assert reads["GetIamPolicy"] <= 3  # two secrets and the service
    assert reads["GetService"] == 1 and reads["GetServiceAccount"] == 1
    assert sum(reads.values()) <= 11


def test_a_required_value_missing_in_ci_fails_before_any_change(cli, emulator):
    emulator.calls.reset()
    result = cli("init", "--yes", "--no-input")
    assert result.exit_code == 2
    assert "$GITLAB_TOKEN is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert mutating(emulator) == []


def test_an_invalid_json_credentials_value_is_refused_before_any_change(cli, emulator):
    emulator.calls.reset()
    result = cli(
        "init",
        "--yes",
        env={"GITLAB_TOKEN": TOKEN, "GOOGLE_APPLICATION_CREDENTIALS_JSON": "{not json"},
    )
    assert result.exit_code == 2
    assert "JSON" in result.stderr
    assert mutating(emulator) == []


def test_optional_credentials_are_created_only_when_given(cli, emulator, clients):
    creds = json.dumps({"type": "service_account", "project_id": "x"})
    result = cli(
        "init", "--yes", env={"GITLAB_TOKEN": TOKEN, "GOOGLE_APPLICATION_CREDENTIALS_JSON": creds}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(
        clients.secrets.access_secret_version(
            request={"name": f"{P}/secrets/google-application-credentials/versions/latest"}
        ).payload.data
    ) == json.loads(creds)


def test_a_secret_with_versions_is_never_given_a_new_one(cli, enabled_apis, clients):
    assert cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN}).exit_code == 0
    result = cli("init", "--yes", env={"GITLAB_TOKEN": "glpat-a-different-value-99"})
    assert result.exit_code == 0
    assert len(versions(clients, "gitlab-token")) == 1
    token = clients.secrets.access_secret_version(
        request={"name": f"{P}/secrets/gitlab-token/versions/latest"}
    )
    assert token.payload.data.decode() == TOKEN


def test_only_limits_the_scope(cli, enabled_apis, clients):
    result = cli("init", "--yes", "--only", "secrets", "-o", "json", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    steps = result.json()["plan"]["steps"]
    assert {s["scope"] for s in steps} == {"secrets"}
    assert list(clients.scheduler.list_jobs(request={"parent": LOC})) == []
    assert len(versions(clients, "gitlab-token")) == 1
    bad = cli("init", "--only", "everything")
    assert bad.exit_code == 2 and "apis, secrets, iam, jobs" in bad.stderr


def test_drift_behind_the_tools_back_is_planned_as_an_update_and_fixed(cli, emulator, clients):
    assert cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN}).exit_code == 0
    name = f"{LOC}/jobs/thoth-hourly-incremental-sync"
    clients.scheduler.update_job(
        request={
            "job": {"name": name, "schedule": "*/5 * * * *"},
            "update_mask": {"paths": ["schedule"]},
        }
    )
    plan = cli("init", "--dry-run", "-o", "json").json()["plan"]
    job_step = next(s for s in plan["steps"] if s["id"] == "job:hourly-incremental-sync")
    assert job_step["action"] == "update"
    assert job_step["changes"] == [
        {"field": "schedule", "live": "*/5 * * * *", "desired": "0 * * * *"}
    ]
    assert cli("init", "--yes").exit_code == 0
    assert clients.scheduler.get_job(request={"name": name}).schedule == "0 * * * *"


def test_missing_cloud_run_service_says_what_to_deploy_and_changes_nothing(cli, emulator, tmp_path):
    (tmp_path / "thothctl.toml").write_text('service = "not-deployed"\n')
    emulator.calls.reset()
    result = cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "not-deployed" in result.stderr and "gcloud run deploy" in result.stderr
    assert mutating(emulator) == []


def test_without_permission_to_grant_invoker_it_stops_before_any_change(cli, emulator):
    emulator.denied.add("run.services.setIamPolicy")
    emulator.calls.reset()
    result = cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "run.services.setIamPolicy" in result.stderr and "roles/run.admin" in result.stderr
    assert mutating(emulator) == []


def test_a_failed_run_is_finished_by_running_again_without_duplicates(cli, emulator, clients):
    emulator.faults.set(FaultConfig(fail_rate=1.0, fail_code="INTERNAL", methods="CreateJob"))
    first = cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    assert first.exit_code == 1
    assert "failed" in first.stderr and "run thothctl init again" in first.stderr
    assert "Traceback" not in first.output
    emulator.faults.clear()
    second = cli("init", "--yes", "-o", "json", env={"GITLAB_TOKEN": TOKEN})
    assert second.exit_code == 0, second.output
    pending = [s["id"] for s in second.json()["plan"]["steps"] if s["action"] != "unchanged"]
    assert pending == ["job:daily-sync", "job:hourly-incremental-sync"]
    assert len(versions(clients, "gitlab-token")) == 1
    assert len(list(clients.scheduler.list_jobs(request={"parent": LOC}))) == 2


def test_interactive_init_prompts_hidden_twice_offers_defaults_and_skips_optional(
    cli, emulator, clients, monkeypatch
):
    answers = iter([TOKEN, TOKEN])  # the token, hidden, twice
    prompts: list[str] = []

    def fake_getpass(prompt="", stream=None):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr(AppContext, "can_prompt", property(lambda self: True))
    result = cli("init", "--yes", input="\n\n")  # Enter: the URL's default; Enter: skip creds
    assert result.exit_code == 0, result.output
    assert prompts[0].startswith("GitLab personal access token (gitlab-token)")
    assert "(again)" in prompts[1] and len(prompts) == 2
    assert "GitLab base URL (gitlab-url) [Enter: https://gitlab.com]: " in result.stderr
    assert "(google-application-credentials) [Enter: skip]: " in result.stderr
    assert TOKEN not in result.output
    assert (
        clients.secrets.access_secret_version(
            request={"name": f"{P}/secrets/gitlab-url/versions/latest"}
        ).payload.data
        == b"https://gitlab.com"
    )
    names = {s.name.rsplit("/", 1)[-1] for s in clients.secrets.list_secrets(request={"parent": P})}
    assert "google-application-credentials" not in names


def test_without_yes_and_without_a_tty_it_asks_for_yes(cli, emulator):
    emulator.calls.reset()
    result = cli("init", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert mutating(emulator) == []


@pytest.mark.parametrize("rate", [0.3])
def test_transient_faults_are_absorbed(cli, emulator, clients, rate):
    emulator.faults.set(FaultConfig(fail_rate=rate, seed=11))
    result = cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    emulator.faults.clear()
    assert result.exit_code == 0, result.output
    assert len(versions(clients, "gitlab-token")) == 1
    assert len(list(clients.scheduler.list_jobs(request={"parent": LOC}))) == 2
    assert cli("init", "--dry-run", "-o", "json").json()["plan"]["summary"]["unchanged"] == 11
