"""thothctl.init: an operator sets up a fresh emulated project with the init plan, runs it again
and finds nothing to do; ``jobs apply`` is the same plan, filtered. Library calls over the wire."""

from __future__ import annotations

import pytest

from thothctl.config import load_config
from thothctl.errors import PermissionDeniedError, UsageError
from thothctl.init import plan as initplan
from thothctl.init import values as initvalues
from thothctl.plan import execute

TOKEN = "glpat-lib-init-test-0001"
SCHEDULER = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"
SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"


@pytest.fixture
def cfg(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


def never_asked(need):
    raise AssertionError(f"prompted for {need.name}")


def plan_init(cfg, clients, *, environ, dry_run=False, ask=never_asked, only=None):
    state = initplan.read_state(cfg, clients)
    return initplan.plan_init(
        cfg,
        clients,
        state,
        only=only,
        environ=environ,
        can_prompt=ask is not never_asked,
        dry_run=dry_run,
        ask=ask,
    )


def mutating(emulator):
    return [c.method.rsplit("/", 1)[-1] for c in emulator.calls.snapshot() if c.mutating]


def test_a_fresh_project_is_planned_applied_and_then_has_nothing_to_do(cfg, clients, emulator):
    plan = plan_init(cfg, clients, environ={"GITLAB_TOKEN": TOKEN})
    assert [s.id for s in plan.steps] == [
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
    assert plan.counts() == {"create": 11, "update": 0, "unchanged": 0}
    version = next(s for s in plan.steps if s.id == "version:gitlab-token")
    assert version.note == "value from $GITLAB_TOKEN"
    result = execute(plan.pending)
    assert result.ok, [(r.step.id, r.detail) for r in result.failed]

    emulator.calls.reset()
    again = plan_init(cfg, clients, environ={})
    assert again.pending == []
    assert mutating(emulator) == []
    token = clients.secrets.access_secret_version(
        request={"name": "projects/thoth-local/secrets/gitlab-token/versions/latest"}
    )
    assert token.payload.data.decode() == TOKEN


def test_a_failed_step_carries_its_error_as_one_line_and_skips_its_dependents(
    cfg, clients, enabled_apis
):
    enabled_apis.denied.add("iam.serviceAccounts.create")
    plan = plan_init(cfg, clients, environ={"GITLAB_TOKEN": TOKEN}, only={"iam", "jobs"})
    result = execute(plan.pending)
    by_id = {r.step.id: r for r in result.results}
    failed = by_id["sa:scheduler"]
    assert failed.status == "failed"
    assert "iam.serviceAccounts.create" in failed.detail and failed.hint
    assert by_id["grant:invoker"].status == "skipped"
    assert by_id["job:daily-sync"].detail == "needs sa:scheduler"


def test_jobs_apply_is_the_init_plan_filtered_to_the_account_grant_and_jobs(
    cfg, clients, enabled_apis
):
    full = plan_init(cfg, clients, environ={"GITLAB_TOKEN": TOKEN}, dry_run=True)
    jobs_only = initplan.plan_jobs(cfg, clients, dry_run=True)
    assert [s.id for s in jobs_only.steps] == [
        "sa:scheduler",
        "grant:invoker",
        "job:daily-sync",
        "job:hourly-incremental-sync",
    ]
    same = {s.id: s.to_json() for s in full.steps}
    assert [s.to_json() for s in jobs_only.steps] == [same[s.id] for s in jobs_only.steps]
    created = jobs_only.steps[2].to_json()["changes"]
    assert {"field": "schedule", "live": None, "desired": "0 2 * * *"} in created
    one = initplan.plan_jobs(cfg, clients, ["hourly-incremental-sync"], dry_run=True)
    assert [s.id for s in one.steps][2:] == ["job:hourly-incremental-sync"]


def test_jobs_apply_updates_only_the_fields_that_drifted(cfg, clients, enabled_apis):
    assert execute(initplan.plan_jobs(cfg, clients, dry_run=False).pending).ok
    name = "projects/thoth-local/locations/us-central1/jobs/thoth-daily-sync"
    clients.scheduler.update_job(
        request={
            "job": {"name": name, "schedule": "5 5 * * *"},
            "update_mask": {"paths": ["schedule"]},
        }
    )
    plan = initplan.plan_jobs(cfg, clients, dry_run=False)
    [step] = plan.pending
    assert (step.id, step.action) == ("job:daily-sync", "update")
    assert [c.to_json() for c in step.changes] == [
        {"field": "schedule", "live": "5 5 * * *", "desired": "0 2 * * *"}
    ]
    enabled_apis.calls.reset()
    [done] = execute(plan.pending).results
    assert done.detail == "updated schedule"
    assert mutating(enabled_apis) == ["UpdateJob"]


def test_a_caller_who_may_not_grant_the_invoker_role_is_stopped_before_any_change(
    cfg, clients, enabled_apis
):
    enabled_apis.denied.add("run.services.setIamPolicy")
    enabled_apis.calls.reset()
    with pytest.raises(PermissionDeniedError) as caught:
        initplan.plan_jobs(cfg, clients, dry_run=False)
    assert "run.services.setIamPolicy" in caught.value.message and SERVICE in caught.value.message
    assert caught.value.hint and "roles/run.admin" in caught.value.hint
    with pytest.raises(PermissionDeniedError):
        plan_init(cfg, clients, environ={"GITLAB_TOKEN": TOKEN})
    assert mutating(enabled_apis) == []
    assert initplan.plan_jobs(cfg, clients, dry_run=True).pending  # a dry run only reads


def test_jobs_apply_with_the_scheduler_api_off_says_so_before_any_change(cfg, clients, emulator):
    with pytest.raises(Exception) as caught:
        initplan.plan_jobs(cfg, clients, dry_run=False)
    assert "not enabled" in str(caught.value)
    assert mutating(emulator) == []


def test_where_each_first_value_comes_from(cfg):
    specs = {s.name: s for s in cfg.secrets.values()}
    token, url, creds = (
        specs["gitlab-token"],
        specs["gitlab-url"],
        specs["google-application-credentials"],
    )

    def sources(environ, *, can_prompt, dry_run=False):
        needs = initvalues.value_needs(
            [token, url, creds], environ, can_prompt=can_prompt, dry_run=dry_run
        )
        return [(n.name, n.source) for n in needs]

    assert sources({"GITLAB_TOKEN": TOKEN}, can_prompt=False) == [
        ("gitlab-token", "env"),
        ("gitlab-url", "default"),
        ("google-application-credentials", "skip"),
    ]
    assert [s for _, s in sources({}, can_prompt=True)] == ["prompt"] * 3
    assert [s for _, s in sources({}, can_prompt=True, dry_run=True)] == ["skip", "default", "skip"]
    with pytest.raises(UsageError, match=r"\$GITLAB_TOKEN is not set"):
        sources({}, can_prompt=False)


def test_prompted_values_enter_takes_the_default_or_skips_and_answers_are_checked(cfg):
    specs = [
        cfg.secrets[n] for n in ("gitlab-token", "gitlab-url", "google-application-credentials")
    ]
    needs = initvalues.value_needs(specs, {}, can_prompt=True, dry_run=False)
    assert [n.empty_ok for n in needs] == [False, True, True]
    assert needs[1].label.endswith("[Enter: https://gitlab.com]")
    assert needs[2].label.endswith("[Enter: skip]")
    answers = {"gitlab-token": TOKEN, "gitlab-url": "", "google-application-credentials": ""}
    values = initvalues.collect_values(needs, lambda need: answers[need.name])
    assert values["gitlab-token"].data == TOKEN.encode()
    assert values["gitlab-token"].source == "prompt"
    assert values["gitlab-url"].data == b"https://gitlab.com"
    assert values["google-application-credentials"] is None
    with pytest.raises(UsageError, match="not valid JSON"):
        needs[2].from_answer("{not json")
