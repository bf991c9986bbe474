"""`thothctl jobs`: the operator's story against the emulator, checked over the wire."""

from __future__ import annotations

import datetime as dt

import pytest
from google.protobuf import field_mask_pb2

PARENT = "projects/thoth-local/locations/us-central1"
SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"
SA = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"
DAILY = f"{PARENT}/jobs/thoth-daily-sync"


@pytest.fixture
def env(enabled_apis):
    enabled_apis.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    return enabled_apis.control_ops()


def mutating_calls(ops):
    return [c["method"] for c in ops["calls"]({}) if c["mutating"]]


def test_apply_from_defaults_creates_account_grant_and_jobs(cli, clients, env):
    r = cli("jobs", "apply", "-o", "json")
    assert r.exit_code == 0, r.output
    data = r.json()  # the init plan, filtered to the scheduler account, its grant and the jobs
    steps = [(s["id"], s["resource"], s["action"]) for s in data["plan"]["steps"]]
    assert steps == [
        ("sa:scheduler", SA, "create"),
        ("grant:invoker", "run.invoker on thoth-mcp-server", "create"),
        ("job:daily-sync", "daily-sync (thoth-daily-sync)", "create"),
        (
            "job:hourly-incremental-sync",
            "hourly-incremental-sync (thoth-hourly-incremental-sync)",
            "create",
        ),
    ]
    applied = {s["id"]: (s["status"], s["detail"]) for s in data["applied"]["steps"]}
    assert applied["sa:scheduler"] == ("done", "created")
    assert applied["grant:invoker"] == ("done", "granted")
    url = env["stub_url"]({})
    job = clients.scheduler.get_job(request={"name": DAILY})
    assert job.schedule == "0 2 * * *" and job.time_zone == "UTC"
    assert job.http_target.uri == url + "/sync"
    assert job.http_target.body == b'{"scheduled":true,"sync_type":"daily"}'
    assert job.http_target.oidc_token.service_account_email == SA
    assert job.http_target.oidc_token.audience == url
    assert job.attempt_deadline == dt.timedelta(seconds=320)
    assert job.retry_config.retry_count == 3 and job.retry_config.max_doublings == 5
    hourly = clients.scheduler.get_job(
        request={"name": f"{PARENT}/jobs/thoth-hourly-incremental-sync"}
    )
    assert hourly.retry_config.max_backoff_duration == dt.timedelta(seconds=1800)
    policy = clients.run.get_iam_policy(request={"resource": SERVICE})
    assert [(b.role, list(b.members)) for b in policy.bindings] == [
        ("roles/run.invoker", [f"serviceAccount:{SA}"])
    ]

    env["reset_calls"]({})
    again = cli("jobs", "apply")
    assert again.exit_code == 0
    assert "Nothing to do: the jobs match the configuration" in again.stderr
    assert mutating_calls(env) == []


def test_apply_keeps_other_invoker_bindings(cli, clients, env):
    policy = clients.run.get_iam_policy(request={"resource": SERVICE})
    policy.bindings.add(role="roles/run.invoker", members=["user:ops@example.com"])
    policy.bindings.add(role="roles/run.viewer", members=["group:team@example.com"])
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy})
    assert cli("jobs", "apply").exit_code == 0
    after = clients.run.get_iam_policy(request={"resource": SERVICE})
    bindings = {b.role: sorted(b.members) for b in after.bindings}
    assert bindings == {
        "roles/run.invoker": sorted(["user:ops@example.com", f"serviceAccount:{SA}"]),
        "roles/run.viewer": ["group:team@example.com"],
    }


def test_apply_from_edited_config_updates_only_differing_fields(cli, clients, env, tmp_path):
    assert cli("jobs", "apply").exit_code == 0
    (tmp_path / "thothctl.toml").write_text(
        '[jobs.daily-sync]\nschedule = "30 3 * * *"\ntime_zone = "Europe/Berlin"\n'
    )
    dry = cli("jobs", "apply", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "daily-sync" in dry.stdout and "schedule: '0 2 * * *' -> '30 3 * * *'" in dry.stdout
    assert clients.scheduler.get_job(request={"name": DAILY}).schedule == "0 2 * * *"
    env["reset_calls"]({})
    r = cli("jobs", "apply", "daily-sync", "-o", "json")
    assert r.exit_code == 0, r.output
    [job] = [s for s in r.json()["plan"]["steps"] if s["kind"] == "job"]
    assert job["action"] == "update"
    assert sorted(c["field"] for c in job["changes"]) == ["schedule", "time_zone"]
    assert mutating_calls(env) == ["/google.cloud.scheduler.v1.CloudScheduler/UpdateJob"]
    live = clients.scheduler.get_job(request={"name": DAILY})
    assert (live.schedule, live.time_zone) == ("30 3 * * *", "Europe/Berlin")


def test_list_shows_missing_jobs_and_drift_after_an_edit_behind_our_back(cli, clients, env):
    dry = cli("jobs", "apply", "--dry-run")
    assert dry.exit_code == 0 and "+ daily-sync (thoth-daily-sync) would create" in dry.stdout
    assert "    schedule: '0 2 * * *'" in dry.stdout
    r = cli("jobs", "list", "-o", "json")
    assert r.exit_code == 0, r.output
    assert [(j["job_id"], j["state"], j["exists"]) for j in r.json()] == [
        ("thoth-daily-sync", "MISSING", False),
        ("thoth-hourly-incremental-sync", "MISSING", False),
    ]
    assert cli("jobs", "apply").exit_code == 0
    clients.scheduler.update_job(
        request={
            "job": {"name": DAILY, "schedule": "15 4 * * *"},
            "update_mask": field_mask_pb2.FieldMask(paths=["schedule"]),
        }
    )
    rows = {j["job_id"]: j for j in cli("jobs", "list", "-o", "json").json()}
    daily = rows["thoth-daily-sync"]
    assert daily["state"] == "ENABLED"
    assert daily["drift"] == [{"field": "schedule", "live": "15 4 * * *", "desired": "0 2 * * *"}]
    assert daily["schedule_human"] == "every day at 04:15 UTC"
    assert rows["thoth-hourly-incremental-sync"]["drift"] == []
    assert rows["thoth-hourly-incremental-sync"]["schedule_human"] == "every hour on the hour"
    plain = cli("jobs", "list")
    assert "1 missing" not in plain.stderr and "1 drifted" in plain.stderr
    fixed = cli("jobs", "apply", "-o", "json").json()
    assert [s["action"] for s in fixed["plan"]["steps"] if s["kind"] == "job"] == [
        "update",
        "unchanged",
    ]
    assert clients.scheduler.get_job(request={"name": DAILY}).schedule == "0 2 * * *"


def test_pause_resume_and_delete(cli, clients, env):
    assert cli("jobs", "apply").exit_code == 0
    r = cli("jobs", "pause", "daily-sync")
    assert r.exit_code == 0 and "Paused thoth-daily-sync" in r.stderr
    assert clients.scheduler.get_job(request={"name": DAILY}).state.name == "PAUSED"
    again = cli("jobs", "pause", "thoth-daily-sync")
    assert again.exit_code == 0 and "thoth-daily-sync is already paused" in again.stderr
    assert cli("jobs", "resume", "daily-sync", "-o", "json").json() == {
        "job_id": "thoth-daily-sync",
        "state": "ENABLED",
        "changed": True,
    }
    refused = cli("jobs", "delete", "daily-sync")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert cli("jobs", "delete", "daily-sync", "--yes").exit_code == 0
    assert [j.name for j in clients.scheduler.list_jobs(request={"parent": PARENT})] == [
        f"{PARENT}/jobs/thoth-hourly-incremental-sync"
    ]
    gone = cli("jobs", "describe", "daily-sync", "-o", "json")
    assert gone.exit_code == 0 and gone.json()["state"] == "MISSING"


def test_run_wait_reaches_the_stub_with_a_valid_token(cli, env):
    assert cli("jobs", "apply").exit_code == 0
    r = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s", "-o", "json")
    assert r.exit_code == 0, r.output
    attempt = r.json()["attempt"]
    assert attempt["ok"] is True and attempt["http_status"] == 200
    [req] = env["stub_requests"]({})
    assert req["authorized"] and req["email"] == SA and req["audience"] == env["stub_url"]({})
    assert req["body"] == '{"scheduled":true,"sync_type":"daily"}'
    assert req["headers"]["X-CloudScheduler-JobName"] == "thoth-daily-sync"
    described = cli("jobs", "describe", "daily-sync", "-o", "json").json()
    assert described["last_attempt"]["ok"] is True


def test_run_wait_with_failing_stub_exits_1_with_the_http_status(cli, env):
    assert cli("jobs", "apply").exit_code == 0
    env["stub_behave"]({"status": 503})
    r = cli("jobs", "run", "hourly-incremental-sync", "--wait", "--timeout", "20s")
    assert r.exit_code == 1
    assert (
        "thoth-hourly-incremental-sync ran at " in r.stderr and "and failed: HTTP 503" in r.stderr
    )
    assert "Original HTTP response code" not in r.stderr and "URL_" not in r.stderr
    assert r.stderr.rstrip().endswith("thothctl logs --job hourly-incremental-sync --since 1h")


def test_missing_invoker_grant_shows_403_in_job_status(cli, clients, env):
    assert cli("jobs", "apply").exit_code == 0
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": {"bindings": []}})
    r = cli("jobs", "run", "daily-sync", "--wait")
    assert r.exit_code == 1
    assert "and failed: HTTP 403" in r.stderr and "roles/run.invoker" in r.stderr
    row = next(j for j in cli("jobs", "list", "-o", "json").json() if j["name"] == "daily-sync")
    assert (
        row["last_attempt"]["http_status"] == 403
        and row["last_attempt"]["code"] == "PERMISSION_DENIED"
    )


def test_running_a_paused_job_is_refused_unless_forced(cli, env):
    assert cli("jobs", "apply").exit_code == 0
    assert cli("jobs", "pause", "daily-sync").exit_code == 0
    env["reset_calls"]({})
    r = cli("jobs", "run", "daily-sync")
    assert r.exit_code == 2 and "resume" in r.stderr
    assert mutating_calls(env) == []
    forced = cli("jobs", "run", "daily-sync", "--force", "--wait", "-o", "json")
    assert forced.exit_code == 0 and forced.json()["attempt"]["ok"]


def test_cron_schedule_fires_the_applied_job(cli, clients, env, tmp_path):
    (tmp_path / "thothctl.toml").write_text('[jobs.daily-sync]\nschedule = "*/5 * * * *"\n')
    assert cli("jobs", "apply", "daily-sync").exit_code == 0
    due = clients.scheduler.get_job(request={"name": DAILY}).schedule_time
    assert env["scheduler_tick"]({"at": due.timestamp()}) == [DAILY]
    r = cli("jobs", "describe", "daily-sync", "-o", "json")
    import time

    for _ in range(100):
        if r.json()["last_attempt"]:
            break
        time.sleep(0.05)
        r = cli("jobs", "describe", "daily-sync", "-o", "json")
    assert r.json()["last_attempt"]["ok"] is True
    assert env["stub_requests"]({})[0]["path"] == "/sync"


def test_apply_without_the_cloud_run_service_says_what_to_deploy(cli, env, tmp_path):
    (tmp_path / "thothctl.toml").write_text('service = "not-deployed"\n')
    r = cli("jobs", "apply")
    assert r.exit_code == 1
    assert "Cloud Run service 'not-deployed' not found in us-central1" in r.stderr
    assert "gcloud run deploy not-deployed" in r.stderr
    assert mutating_calls(env) == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[jobs.daily-sync]\nschedule = "0 25 * * *"\n', "not a valid cron schedule"),
        ('[jobs.daily-sync]\nschedule = "every day"\n', "not a valid cron schedule"),
        ('[jobs.daily-sync]\ntime_zone = "Moon/Base"\n', "not a known time zone"),
        ('[jobs.daily-sync]\nattempt_deadline = "soon"\n', "not a duration"),
        ('[jobs.daily-sync]\npath = "sync"\n', "not a valid URL path"),
    ],
)
def test_bad_crons_and_time_zones_exit_2_without_any_call(cli, env, tmp_path, toml, message):
    (tmp_path / "thothctl.toml").write_text(toml)
    env["reset_calls"]({})
    r = cli("jobs", "apply")
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.output
    assert env["calls"]({}) == []


def test_bad_arguments_exit_2_before_any_call(cli, env):
    env["reset_calls"]({})
    assert cli("jobs", "run", "daily-sync", "--wait", "--timeout", "forever").exit_code == 2
    assert cli("jobs", "apply", "no-such-job").exit_code == 2
    assert cli("jobs", "pause", "bad id!").exit_code == 2
    assert cli("jobs", "next", "daily-sync", "-n", "0").exit_code == 2
    assert env["calls"]({}) == []


def test_next_run_times_are_computed_locally(cli, env, tmp_path):
    (tmp_path / "thothctl.toml").write_text('[jobs.daily-sync]\ntime_zone = "America/New_York"\n')
    env["reset_calls"]({})
    r = cli("jobs", "next", "daily-sync", "-n", "3", "-o", "json")
    assert r.exit_code == 0, r.output
    data = r.json()
    assert data["schedule_human"] == "every day at 02:00 America/New_York"
    times = [dt.datetime.fromisoformat(t) for t in data["next_runs_local"]]
    utc = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in data["next_runs"]]
    assert utc == times
    assert len(times) == 3 and all((t.hour, t.minute) == (2, 0) for t in times)
    assert times[1] - times[0] in (
        dt.timedelta(days=1),
        dt.timedelta(hours=23),
        dt.timedelta(hours=25),
    )
    assert env["calls"]({}) == []
