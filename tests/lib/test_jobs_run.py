"""thothctl.jobs: an operator runs a job and learns why an attempt failed, as typed fields;
thothctl.schedule reads cron schedules locally. Library calls over the wire."""

from __future__ import annotations

import datetime as dt

import pytest

from thothctl import jobs
from thothctl.config import load_config
from thothctl.init import plan as initplan
from thothctl.plan import execute
from thothctl.schedule import describe_schedule, next_runs

SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"


@pytest.fixture
def applied(tmp_path, clients, enabled_apis):
    """The jobs applied (the init plan's job steps), with a scheduler that only fires when told."""
    enabled_apis.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    cfg = load_config(environ={}, emulator=True, cwd=tmp_path)
    assert execute(initplan.plan_jobs(cfg, clients, dry_run=False).pending).ok
    return cfg


def test_a_healthy_run_has_no_diagnosis(applied, clients):
    result = jobs.run(clients, applied, "daily-sync", wait=True, timeout=20)
    assert result.waited and result.attempt.ok and result.attempt.http_status == 200
    assert result.attempt.diagnosis is None and result.attempt.hint is None


def test_a_403_from_the_service_is_diagnosed_as_a_missing_invoker_grant(applied, clients):
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": {"bindings": []}})
    result = jobs.run(clients, applied, "daily-sync", wait=True, timeout=20)
    attempt = result.attempt
    assert not attempt.ok
    assert (attempt.http_status, attempt.code) == (403, "PERMISSION_DENIED")
    assert attempt.diagnosis == "invoker-missing"
    assert "roles/run.invoker" in attempt.hint and "thothctl jobs apply" in attempt.hint


def test_other_failures_are_diagnosed_from_their_status():
    def attempt(http_status, code):
        return jobs.Attempt(dt.datetime.now(dt.UTC), False, code, http_status, "")

    assert attempt(401, "UNAUTHENTICATED").diagnosis == "token-rejected"
    assert "audience" in attempt(401, "UNAUTHENTICATED").hint
    assert attempt(None, "DEADLINE_EXCEEDED").diagnosis == "deadline"
    assert attempt(503, "UNAVAILABLE").diagnosis is None
    assert attempt(503, "UNAVAILABLE").hint is None


def test_a_missing_job_is_not_found_with_a_hint_to_apply(tmp_path, clients, enabled_apis):
    cfg = load_config(environ={}, emulator=True, cwd=tmp_path)
    with pytest.raises(Exception) as caught:
        jobs.run(clients, cfg, "daily-sync")
    assert "thothctl jobs apply" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("cron", "tz", "human"),
    [
        ("* * * * *", "UTC", "every minute"),
        ("*/15 * * * *", "UTC", "every 15 minutes"),
        ("0 * * * *", "UTC", "every hour on the hour"),
        ("30 * * * *", "UTC", "every hour at :30"),
        ("0 */6 * * *", "UTC", "every 6 hours at :00 UTC"),
        ("0 2 * * *", "", "every day at 02:00 UTC"),
        ("15 9 * * 1-5", "Europe/Berlin", "every weekday at 09:15 Europe/Berlin"),
        ("0 8 * * 0", "UTC", "every Sunday at 08:00 UTC"),
        ("0 3 1 * *", "UTC", "on day 1 of every month at 03:00 UTC"),
        ("0 3 1 6 *", "UTC", "cron '0 3 1 6 *' (UTC)"),
        ("@daily", "UTC", "cron '@daily' (UTC)"),
    ],
)
def test_schedules_read_like_english(cron, tz, human):
    assert describe_schedule(cron, tz) == human


def test_next_runs_are_in_the_jobs_time_zone():
    after = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    runs = next_runs("0 2 * * *", "America/New_York", 2, after=after)
    assert [(r.day, r.hour) for r in runs] == [(2, 2), (3, 2)]
    assert runs[0].utcoffset() == dt.timedelta(hours=-5)
