"""`thothctl doctor`: healthy after init, then broken behind the tool's back in many ways, each
one reported as a problem or warning with the command that fixes it."""

from __future__ import annotations

import pytest
from google.iam.v1 import policy_pb2

TOKEN = "glpat-doctor-test-value-1"
P = "projects/thoth-local"
LOC = f"{P}/locations/us-central1"
SERVICE = f"{LOC}/services/thoth-mcp-server"
RUNTIME = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"


@pytest.fixture
def healthy(cli, emulator):
    emulator.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    result = cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    return emulator


def findings(cli, *, code):
    result = cli("doctor", "-o", "json")
    assert result.exit_code == code, result.output
    return {f["check"]: f for f in result.json()["findings"]}


def test_a_fresh_project_has_problems_and_says_how_to_fix_them(cli, emulator):
    result = cli("doctor", "-o", "json")
    assert result.exit_code == 3
    data = result.json()
    by_check = {f["check"]: f for f in data["findings"]}
    assert (
        by_check["apis"]["level"] == "problem" and by_check["apis"]["fix"] == "thothctl apis enable"
    )
    assert by_check["scheduler.invoker"]["level"] == "problem"
    assert data["healthy"] is False and data["problems"] >= 2


def test_healthy_after_init(cli, healthy):
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert "is healthy" in result.stderr
    data = cli("doctor", "-o", "json").json()
    assert data["healthy"] and data["problems"] == 0
    assert {
        "apis",
        "service",
        "service.account",
        "scheduler.account",
        "scheduler.invoker",
        "secret:gitlab-token.access",
        "job:daily-sync",
    } <= {f["check"] for f in data["findings"]}


def test_missing_invoker_grant_is_a_problem(cli, healthy, clients):
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy_pb2.Policy()})
    f = findings(cli, code=3)["scheduler.invoker"]
    assert (
        f["level"] == "problem" and "403" in f["message"] and f["fix"] == "thothctl init --only iam"
    )


def test_public_service_is_a_problem(cli, healthy, clients):
    policy = clients.run.get_iam_policy(request={"resource": SERVICE})
    policy.bindings.add(role="roles/run.invoker", members=["allUsers"])
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy})
    f = findings(cli, code=3)["service.public"]
    assert "allUsers" in f["message"] and "remove-iam-policy-binding" in f["fix"]


def test_disabled_latest_version_and_revoked_access_are_problems(cli, healthy, clients):
    clients.secrets.disable_secret_version(request={"name": f"{P}/secrets/gitlab-token/versions/1"})
    assert cli("secrets", "revoke", "gitlab-url", RUNTIME).exit_code == 0
    found = findings(cli, code=3)
    assert "DISABLED" in found["secret:gitlab-token"]["message"]
    assert (
        found["secret:gitlab-url.access"]["fix"] == f"thothctl secrets grant gitlab-url {RUNTIME}"
    )


def test_paused_job_is_a_warning_only(cli, healthy, clients):
    clients.scheduler.pause_job(request={"name": f"{LOC}/jobs/thoth-hourly-incremental-sync"})
    found = findings(cli, code=0)
    assert found["job:hourly-incremental-sync"]["level"] == "warning"
    assert (
        found["job:hourly-incremental-sync"]["fix"]
        == "thothctl jobs resume hourly-incremental-sync"
    )


def test_wrong_target_is_a_problem_and_schedule_drift_a_warning(cli, healthy, clients):
    name = f"{LOC}/jobs/thoth-daily-sync"
    job = clients.scheduler.get_job(request={"name": name})
    job.http_target.uri = "https://old-url.example.run.app/sync"
    job.schedule = "0 5 * * *"
    clients.scheduler.update_job(
        request={"job": job, "update_mask": {"paths": ["http_target", "schedule"]}}
    )
    found = findings(cli, code=3)
    assert found["job:daily-sync.target"]["level"] == "problem"
    assert "old-url.example.run.app" in found["job:daily-sync.target"]["message"]
    assert found["job:daily-sync.drift"]["level"] == "warning"
    assert "schedule '0 5 * * *' → '0 2 * * *'" in found["job:daily-sync.drift"]["message"]
    assert cli("jobs", "apply").exit_code == 0
    findings(cli, code=0)


def test_a_failed_last_attempt_shows_its_status(cli, healthy):
    healthy.control_ops()["stub_behave"]({"status": 503})
    run = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s")
    assert run.exit_code == 1
    f = findings(cli, code=3)["job:daily-sync.last-attempt"]
    assert "503" in f["message"] and f["fix"].startswith("thothctl logs jobs --job daily-sync")


def test_pinned_disabled_version_and_piling_disabled_versions(cli, healthy, clients):
    for i in range(4):
        assert (
            cli("secrets", "set", "gitlab-token", "-", input=f"glpat-rotated-{i}\n").exit_code == 0
        )
    for v in (1, 2, 3):
        clients.secrets.disable_secret_version(
            request={"name": f"{P}/secrets/gitlab-token/versions/{v}"}
        )
    svc = clients.run.get_service(request={"name": SERVICE})
    for env in svc.template.containers[0].env:
        if env.name == "GITLAB_TOKEN":
            env.value_source.secret_key_ref.version = "2"
    clients.wait(clients.run.update_service(request={"service": svc}))
    found = findings(cli, code=3)
    assert found["service.env.GITLAB_TOKEN"]["level"] == "problem"
    assert "version 2, which is DISABLED" in found["service.env.GITLAB_TOKEN"]["message"]
    assert found["secret:gitlab-token.billing"]["level"] == "warning"
    assert "3 disabled versions" in found["secret:gitlab-token.billing"]["message"]


def test_service_running_as_another_account_is_a_warning(cli, healthy, clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    svc.template.service_account = "other@thoth-local.iam.gserviceaccount.com"
    clients.wait(clients.run.update_service(request={"service": svc}))
    f = findings(cli, code=0)["service.account"]
    assert f["level"] == "warning" and "other@thoth-local" in f["message"]


def test_markdown_for_a_ci_step_summary(cli, healthy):
    result = cli("doctor", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("## thothctl doctor: `thoth-local`")
    assert "✅ **healthy**" in result.stdout and "| --- | --- | --- | --- |" in result.stdout
    assert cli("doctor", "--format", "yaml").exit_code == 2


def test_a_check_that_cannot_run_exits_1(cli, healthy):
    from thothctl.emulator.faults import FaultConfig

    healthy.faults.set(FaultConfig(fail_rate=1.0, fail_code="INTERNAL", methods="ListJobs"))
    result = cli("doctor", "-o", "json")
    assert result.exit_code == 1, result.output
    data = result.json()
    assert data["could_not_check"][0]["check"] == "jobs"
    assert data["problems"] == 0
