"""Cloud Scheduler in the emulator, through the official client (docs/emulator.md, "Cloud Scheduler"), including a
scheduler that really fires HTTP requests at the stub Cloud Run service."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import scheduler_v1
from google.iam.v1 import policy_pb2
from google.protobuf import field_mask_pb2

from thothctl.emulator import oidc
from thothctl.emulator.scheduler.executor import backoff_s

PARENT = "projects/thoth-local/locations/us-central1"
SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"
SA = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"


@pytest.fixture
def sched(enabled_apis, clients):
    ops = enabled_apis.control_ops()
    ops["scheduler_config"]({"auto": False, "time_scale": 0.01})
    clients.iam.create_service_account(
        request={"name": "projects/thoth-local", "account_id": "thoth-scheduler"}
    )
    return ops


def grant_invoker(clients, member=f"serviceAccount:{SA}"):
    policy = clients.run.get_iam_policy(request={"resource": SERVICE})
    policy.bindings.append(policy_pb2.Binding(role="roles/run.invoker", members=[member]))
    clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy})


def http_job(ops, job_id="thoth-daily-sync", **overrides):
    url = ops["stub_url"]({})
    job = {
        "name": f"{PARENT}/jobs/{job_id}",
        "schedule": "0 2 * * *",
        "time_zone": "UTC",
        "http_target": {
            "uri": url + "/sync",
            "http_method": "POST",
            "body": b'{"scheduled":true}',
            "headers": {"Content-Type": "application/json", "User-Agent": "mine"},
            "oidc_token": {"service_account_email": SA, "audience": url},
        },
    }
    job.update(overrides)
    return job


def wait_for_attempt(clients, name, *, after=None, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = clients.scheduler.get_job(request={"name": name})
        if "last_attempt_time" in job and (after is None or job.last_attempt_time > after):
            return job
        time.sleep(0.02)
    raise AssertionError(f"{name} made no attempt within {timeout}s")


def test_create_fills_the_documented_defaults(clients, sched):
    url = sched["stub_url"]({})
    spec = http_job(sched)
    del spec["http_target"]["oidc_token"]["audience"]
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    assert job.state == scheduler_v1.Job.State.ENABLED
    assert job.attempt_deadline == dt.timedelta(seconds=180)
    rc = job.retry_config
    assert (rc.retry_count, rc.min_backoff_duration, rc.max_backoff_duration, rc.max_doublings) == (
        0,
        dt.timedelta(seconds=5),
        dt.timedelta(hours=1),
        5,
    )
    assert job.http_target.oidc_token.audience == url + "/sync"
    assert "User-Agent" not in job.http_target.headers
    now = dt.datetime.now(dt.UTC)
    assert job.schedule_time > now and job.schedule_time.hour == 2 and job.schedule_time.minute == 0
    with pytest.raises(gexc.AlreadyExists) as err:
        clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    assert f"Job {PARENT}/jobs/thoth-daily-sync already exists." in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "every monday"}, "Schedule or time zone is invalid."),
        ({"schedule": "61 * * * *"}, "Schedule or time zone is invalid."),
        ({"time_zone": "Mars/Olympus"}, "Schedule or time zone is invalid."),
        ({"name": f"{PARENT}/jobs/bad.id"}, "can contain only letters"),
        ({"attempt_deadline": dt.timedelta(seconds=10)}, "between 15 seconds and 30 minutes"),
        ({"retry_config": {"retry_count": 6}}, "greater than 5"),
    ],
)
def test_invalid_jobs_are_refused(clients, sched, change, message):
    with pytest.raises(gexc.InvalidArgument) as err:
        clients.scheduler.create_job(request={"parent": PARENT, "job": http_job(sched, **change)})
    assert message in str(err.value)
    assert list(clients.scheduler.list_jobs(request={"parent": PARENT})) == []


def test_body_needs_a_body_method_and_the_account_must_exist(clients, sched):
    spec = http_job(sched)
    spec["http_target"]["http_method"] = "GET"
    with pytest.raises(gexc.InvalidArgument):
        clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    spec = http_job(sched)
    spec["http_target"]["oidc_token"]["service_account_email"] = (
        "ghost@thoth-local.iam.gserviceaccount.com"
    )
    with pytest.raises(gexc.InvalidArgument) as err:
        clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    assert "does not exist" in str(err.value)


def test_update_mask_must_be_snake_case_and_keeps_paused_state(clients, sched):
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": http_job(sched)})
    clients.scheduler.pause_job(request={"name": job.name})
    change = scheduler_v1.Job(name=job.name, time_zone="Europe/Berlin")
    with pytest.raises(gexc.InvalidArgument) as err:
        clients.scheduler.update_job(
            request={"job": change, "update_mask": field_mask_pb2.FieldMask(paths=["timeZone"])}
        )
    assert "Invalid mask for Job: timeZone" in str(err.value)
    updated = clients.scheduler.update_job(
        request={"job": change, "update_mask": field_mask_pb2.FieldMask(paths=["time_zone"])}
    )
    assert updated.time_zone == "Europe/Berlin"
    assert updated.schedule == "0 2 * * *"
    assert updated.http_target.body == b'{"scheduled":true}'
    assert updated.state == scheduler_v1.Job.State.PAUSED
    local = updated.schedule_time.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert updated.schedule_time.hour in (0, 1) and local.minute == 0


def test_pause_resume_states_and_delete(clients, sched):
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": http_job(sched)})
    with pytest.raises(gexc.FailedPrecondition):
        clients.scheduler.resume_job(request={"name": job.name})
    assert (
        clients.scheduler.pause_job(request={"name": job.name}).state
        == scheduler_v1.Job.State.PAUSED
    )
    with pytest.raises(gexc.FailedPrecondition):
        clients.scheduler.pause_job(request={"name": job.name})
    assert (
        clients.scheduler.resume_job(request={"name": job.name}).state
        == scheduler_v1.Job.State.ENABLED
    )
    clients.scheduler.delete_job(request={"name": job.name})
    with pytest.raises(gexc.NotFound):
        clients.scheduler.get_job(request={"name": job.name})
    with pytest.raises(gexc.NotFound):
        clients.scheduler.delete_job(request={"name": job.name})


def test_run_job_sends_what_cloud_scheduler_sends_with_a_valid_oidc_token(clients, sched):
    grant_invoker(clients)
    url = sched["stub_url"]({})
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": http_job(sched)})
    returned = clients.scheduler.run_job(request={"name": job.name})
    assert "last_attempt_time" not in returned  # dispatch is asynchronous
    done = wait_for_attempt(clients, job.name)
    assert done.status.code == 0
    [req] = sched["stub_requests"]({})
    assert (req["method"], req["path"], req["status"]) == ("POST", "/sync", 200)
    assert req["body"] == '{"scheduled":true}'
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["user-agent"] == "Google-Cloud-Scheduler"
    assert headers["x-cloudscheduler"] == "true"
    assert headers["x-cloudscheduler-jobname"] == "thoth-daily-sync"
    assert headers["content-type"] == "application/json"
    assert dt.datetime.fromisoformat(headers["x-cloudscheduler-scheduletime"]).tzinfo is not None
    assert req["authorized"] and req["email"] == SA and req["audience"] == url


def test_minted_tokens_verify_and_forgeries_do_not():
    token = oidc.mint(SA, "http://127.0.0.1:1")
    claims = oidc.verify(token, audiences=["http://127.0.0.1:1"])
    assert (
        claims["email"] == SA
        and claims["email_verified"]
        and claims["iss"] == "https://accounts.google.com"
    )
    assert claims["exp"] - claims["iat"] == 3600
    with pytest.raises(oidc.InvalidToken):
        oidc.verify(token, audiences=["http://elsewhere"])
    head, body, sig = token.split(".")
    with pytest.raises(oidc.InvalidToken):
        oidc.verify(f"{head}.{body}.{sig[:-4]}AAAA")


def test_missing_invoker_grant_shows_403_in_job_status(clients, sched):
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": http_job(sched)})
    clients.scheduler.run_job(request={"name": job.name})
    done = wait_for_attempt(clients, job.name)
    assert done.status.code == 7  # PERMISSION_DENIED
    assert "= 403" in done.status.message
    assert sched["stub_requests"]({})[0]["status"] == 403


def test_wrong_audience_is_401(clients, sched):
    grant_invoker(clients)
    spec = http_job(sched)
    spec["http_target"]["oidc_token"]["audience"] = "https://somewhere-else.example"
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    clients.scheduler.run_job(request={"name": job.name})
    assert wait_for_attempt(clients, job.name).status.code == 16  # UNAUTHENTICATED


def test_failing_target_is_retried_per_retry_config(clients, sched):
    grant_invoker(clients)
    sched["stub_behave"]({"status": 500})
    spec = http_job(
        sched, retry_config={"retry_count": 2, "min_backoff_duration": dt.timedelta(seconds=5)}
    )
    job = clients.scheduler.create_job(request={"parent": PARENT, "job": spec})
    clients.scheduler.run_job(request={"name": job.name})
    deadline = time.time() + 5
    while time.time() < deadline and (
        len(sched["stub_requests"]({})) < 3 or sched["scheduler_running"]({})
    ):
        time.sleep(0.02)
    assert [r["status"] for r in sched["stub_requests"]({})] == [500, 500, 500]
    final = clients.scheduler.get_job(request={"name": job.name})
    assert final.status.code == 13 and "= 500" in final.status.message


def test_attempt_deadline_is_enforced(clients, sched):
    grant_invoker(clients)
    sched["stub_behave"]({"delay_s": 0.6})  # deadline 15 s x time_scale 0.01 = 0.15 s
    job = clients.scheduler.create_job(
        request={
            "parent": PARENT,
            "job": http_job(sched, attempt_deadline=dt.timedelta(seconds=15)),
        }
    )
    clients.scheduler.run_job(request={"name": job.name})
    assert wait_for_attempt(clients, job.name).status.code == 4  # DEADLINE_EXCEEDED


def test_cron_fires_enabled_jobs_in_their_time_zone(clients, sched):
    grant_invoker(clients)
    job = clients.scheduler.create_job(
        request={
            "parent": PARENT,
            "job": http_job(sched, schedule="*/5 * * * *", time_zone="America/New_York"),
        }
    )
    paused = clients.scheduler.create_job(
        request={"parent": PARENT, "job": http_job(sched, "paused", schedule="*/5 * * * *")}
    )
    clients.scheduler.pause_job(request={"name": paused.name})
    due = job.schedule_time
    assert due.minute % 5 == 0 and due.second == 0
    assert sched["scheduler_tick"]({"at": (due - dt.timedelta(seconds=1)).timestamp()}) == []
    assert sched["scheduler_tick"]({"at": due.timestamp()}) == [job.name]
    done = wait_for_attempt(clients, job.name)
    assert done.status.code == 0
    assert done.schedule_time == due + dt.timedelta(minutes=5)
    [req] = sched["stub_requests"]({})
    sent = dt.datetime.fromisoformat(req["headers"]["X-CloudScheduler-ScheduleTime"])
    assert sent == due and sent.utcoffset() in (dt.timedelta(hours=-4), dt.timedelta(hours=-5))


def test_backoff_follows_the_documented_example():
    assert [backoff_s(i, 10, 300, 3) for i in range(8)] == [10, 20, 40, 80, 160, 240, 300, 300]
