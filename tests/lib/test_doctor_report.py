"""`doctor.run` on an emulated project, called as a library: a converged project is healthy; each
thing broken behind the tool's back is a typed Finding with the command that fixes it."""

from __future__ import annotations

import pytest

from thothctl import doctor
from thothctl.config import load_config
from thothctl.errors import EXIT_DOCTOR, EXIT_FAILED, EXIT_OK

P = "projects/thoth-local"
RUNTIME = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
SCHEDULER = "serviceAccount:thoth-scheduler@thoth-local.iam.gserviceaccount.com"


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def converged(cli, emulator):
    """What `thothctl init` leaves behind: APIs on, secrets set and granted, jobs applied."""
    emulator.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    result = cli("init", "--yes", env={"GITLAB_TOKEN": "glpat-doctor-lib-test-1"})
    assert result.exit_code == 0, result.output
    return emulator


def by_check(report: doctor.Report) -> dict[str, doctor.Finding]:
    return {f.check: f for f in report.findings}


def test_a_converged_project_is_healthy(converged, clients, config):
    report = doctor.run(config, clients)
    assert report.healthy and report.exit_code == EXIT_OK
    assert report.problems == [] and report.unchecked == []
    found = by_check(report)
    for check in ("apis", "service", "scheduler.account", "scheduler.invoker", "job:daily-sync"):
        assert found[check].level == doctor.OK, found[check]
    assert found["secret:gitlab-token.access"] == doctor.Finding(
        "secret:gitlab-token.access", doctor.OK, f"{RUNTIME} can access it"
    )


def test_a_missing_grant_is_a_problem_with_its_fix(converged, clients, config):
    name = f"{P}/secrets/gitlab-token"
    clients.secrets.set_iam_policy(request={"resource": name, "policy": {}})

    report = doctor.run(config, clients)
    assert not report.healthy and report.exit_code == EXIT_DOCTOR
    assert report.problems == [
        doctor.Finding(
            check="secret:gitlab-token.access",
            level=doctor.PROBLEM,
            message=f"{RUNTIME} cannot access it: the service fails to start",
            fix=f"thothctl secrets grant gitlab-token {RUNTIME}",
        )
    ]


def test_a_missing_invoker_grant_says_scheduled_calls_get_403(converged, clients, config):
    service = f"{P}/locations/us-central1/services/thoth-mcp-server"
    clients.run.set_iam_policy(request={"resource": service, "policy": {}})

    (problem,) = doctor.run(config, clients).problems
    assert problem.check == "scheduler.invoker" and problem.fix == "thothctl init --only iam"
    assert problem.message.startswith(f"{SCHEDULER} lacks roles/run.invoker") and "403" in (
        problem.message
    )


def test_a_fresh_project_needs_its_apis_enabled_first(emulator, clients, config):
    report = doctor.run(config, clients)
    apis = by_check(report)["apis"]
    assert apis.level == doctor.PROBLEM and apis.fix == "thothctl apis enable"
    assert "secretmanager.googleapis.com" in apis.message


def test_a_check_that_cannot_run_is_unchecked_with_the_errors_line_and_hint(
    converged, clients, config
):
    from thothctl.emulator.faults import FaultConfig

    converged.faults.set(FaultConfig(fail_rate=1.0, fail_code="INTERNAL", methods="ListJobs"))
    report = doctor.run(config, clients)
    assert report.exit_code == EXIT_FAILED and report.problems == []
    (unchecked,) = report.unchecked
    assert unchecked.check == "jobs" and unchecked.level == doctor.UNCHECKED
    assert "INTERNAL" in unchecked.message
