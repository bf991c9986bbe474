"""`thothctl logs`: the 02:00 failure story, told from the terminal, against the emulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest

PROJECT = "thoth-local"
DAILY = f"projects/{PROJECT}/locations/us-central1/jobs/thoth-daily-sync"
HOURLY = f"projects/{PROJECT}/locations/us-central1/jobs/thoth-hourly-incremental-sync"
URL = "https://thoth-mcp-server-7f3a.a.run.app/sync"
SA = "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
LOG_TYPE = "type.googleapis.com/google.cloud.scheduler.logging."


def ago(**kw) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**kw)


def attempt(emu, *, job=DAILY, status=None, when, scheduled, http_status=None, latency=None):
    """One scheduler execution entry, as Cloud Scheduler writes it (docs/emulator.md, Logging)."""
    job_id = job.rsplit("/", 1)[-1]
    payload = {
        "@type": LOG_TYPE
        + ("AttemptStarted" if http_status is None and status is None else "AttemptFinished"),
        "jobName": job,
        "scheduledTime": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "targetType": "HTTP",
        "url": URL,
    }
    http = None
    if http_status is not None:
        payload["debugInfo"] = f"Original HTTP response code number = {http_status}"
        http = {"status": http_status}
        if latency is not None:
            http["latency"] = latency
    if status:
        payload["status"] = status
    emu.write_log(
        project_id=PROJECT,
        log_id="cloudscheduler.googleapis.com/executions",
        resource_type="cloud_scheduler_job",
        resource_labels={"job_id": job_id, "location": "us-central1", "project_id": PROJECT},
        severity="ERROR" if status else "INFO",
        json_payload=payload,
        http_request=http,
        timestamp=when,
    )


def request(emu, *, status, when, latency=2.1):
    emu.write_log(
        project_id=PROJECT,
        log_id="run.googleapis.com/requests",
        resource_type="cloud_run_revision",
        resource_labels={
            "service_name": "thoth-mcp-server",
            "revision_name": "thoth-mcp-server-00001-abc",
            "location": "us-central1",
            "project_id": PROJECT,
            "configuration_name": "thoth-mcp-server",
        },
        severity="ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO",
        http_request={
            "requestMethod": "POST",
            "requestUrl": URL,
            "status": status,
            "latency": latency,
            "userAgent": "Google-Cloud-Scheduler",
        },
        timestamp=when,
    )


def secret_read(emu, *, when):
    from google.cloud.audit import audit_log_pb2

    audit = audit_log_pb2.AuditLog(
        service_name="secretmanager.googleapis.com",
        method_name="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
        resource_name="projects/123/secrets/gitlab-token/versions/latest",
    )
    audit.authentication_info.principal_email = SA
    emu.write_log(
        project_id=PROJECT,
        log_id="cloudaudit.googleapis.com/data_access",
        resource_type="audited_resource",
        resource_labels={"service": "secretmanager.googleapis.com", "method": audit.method_name},
        proto_payload=audit,
        timestamp=when,
    )


@pytest.fixture
def night(emulator):
    """A failed 02:00-style run five minutes ago, retried successfully; plus noise."""
    sched = ago(minutes=5)
    attempt(emulator, when=sched, scheduled=sched)
    request(emulator, status=503, when=sched + dt.timedelta(seconds=2))
    attempt(
        emulator,
        when=sched + dt.timedelta(seconds=2.1),
        scheduled=sched,
        status="UNAVAILABLE",
        http_status=503,
        latency=2.1,
    )
    secret_read(emulator, when=sched + dt.timedelta(seconds=3))
    attempt(emulator, when=sched + dt.timedelta(seconds=8), scheduled=sched)
    request(emulator, status=200, when=sched + dt.timedelta(seconds=9), latency=0.8)
    attempt(
        emulator,
        when=sched + dt.timedelta(seconds=9),
        scheduled=sched,
        http_status=200,
        latency=0.8,
    )
    # the hourly job, and an old failure outside --since 10m
    attempt(emulator, job=HOURLY, when=ago(minutes=3), scheduled=ago(minutes=3), http_status=200)
    old = ago(hours=3)
    attempt(emulator, when=old, scheduled=old, status="INTERNAL", http_status=500, latency=1.0)
    return emulator


def list_calls(emu):
    return [c for c in emu.calls.snapshot() if c.method.endswith("/ListLogEntries")]


def test_logs_jobs_spells_out_each_attempt(cli, night):
    r = cli("logs", "jobs")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "daily-sync: POST …/sync → 503 after 2.1s (UNAVAILABLE), will retry" in r.stdout
    assert "daily-sync: POST …/sync → 200 after 0.8s, ok" in r.stdout
    assert "daily-sync: POST …/sync → 500 after 1.0s (INTERNAL), will retry" in r.stdout
    assert "hourly-incremental-sync: POST …/sync → 200" in r.stdout
    assert all(" jobs " in line for line in lines)  # no service or secret entries
    assert [line.split()[2] for line in lines if "503" in line] == ["ERROR"]
    # oldest first
    assert lines.index(next(x for x in lines if "→ 500" in x)) < lines.index(
        next(x for x in lines if "→ 503" in x)
    )


def test_all_sources_tell_the_whole_story_in_order(cli, night):
    r = cli("logs", "--since", "10m")
    assert r.exit_code == 0, r.output
    messages = [line.split(None, 4)[4] for line in r.stdout.splitlines()]
    assert messages[:4] == [
        "daily-sync: POST …/sync attempt started",
        "POST /sync → 503 in 2.1s (from Cloud Scheduler)",
        "daily-sync: POST …/sync → 503 after 2.1s (UNAVAILABLE), will retry (3 retries left)",
        f"{SA} read gitlab-token (version latest)",
    ]
    sources = [line.split()[3] for line in r.stdout.splitlines()]
    assert set(sources) == {"jobs", "service", "secrets"}


def test_json_lines_for_one_job_since_ten_minutes(cli, night):
    r = cli("logs", "--job", "daily-sync", "--since", "10m", "-o", "json")
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in r.stdout.splitlines()]
    jobs = [rec for rec in records if rec["source"] == "jobs"]
    assert {rec["job"] for rec in jobs} == {"daily-sync"}  # not the hourly job
    finished = [rec for rec in jobs if rec["http_status"] is not None]
    assert [(rec["http_status"], rec["status"], rec["will_retry"]) for rec in finished] == [
        (503, "UNAVAILABLE", True),
        (200, None, False),
    ]
    assert all(rec["timestamp"] >= ago(minutes=10).strftime("%Y-%m-%dT%H:%M:%S") for rec in records)
    assert {rec["source"] for rec in records} == {"jobs", "service", "secrets"}
    assert set(records[0]) >= {"timestamp", "severity", "source", "log", "message", "insert_id"}


def test_severity_and_extra_filter_narrow_the_result(cli, night):
    r = cli("logs", "--severity", "error", "-o", "json")
    assert r.exit_code == 0, r.output
    assert {json.loads(x)["severity"] for x in r.stdout.splitlines()} == {"ERROR"}
    r = cli("logs", "service", "--filter", "httpRequest.status>=500", "-o", "json")
    assert [json.loads(x)["http_status"] for x in r.stdout.splitlines()] == [503]


def test_limit_keeps_the_newest_and_says_there_is_more(cli, night):
    r = cli("logs", "jobs", "--limit", "2", "-o", "json")
    assert r.exit_code == 0
    records = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(records) == 2
    assert records[-1]["job"] == "hourly-incremental-sync"  # the newest, shown last
    assert "newest 2" in r.stderr


def test_verbose_shows_the_filter_sent(cli, night):
    r = cli("logs", "jobs", "--job", "thoth-daily-sync", "--severity", "WARNING", "-v")
    assert r.exit_code == 0
    sent = next(line for line in r.stderr.splitlines() if "filter: " in line)
    assert 'log_id("cloudscheduler.googleapis.com/executions")' in sent
    assert 'resource.labels.job_id="thoth-daily-sync"' in sent
    assert "severity>=WARNING" in sent and 'timestamp>="' in sent


def test_an_empty_result_says_so_and_exits_0(cli, emulator):
    r = cli("logs", "secrets", "--since", "30m")
    assert r.exit_code == 0
    assert r.stdout == ""
    assert "No secrets log entries match since" in r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is neither a duration nor a timestamp"),
        (["--until", "2026-13-45"], "--until '2026-13-45'"),
        (["--severity", "LOUD"], "--severity 'LOUD' is not a log severity"),
        (["--filter", 'textPayload:"robot'], "never closes the string '\"robot'"),
        (["--filter", "(severity=ERROR"], "never closes the '(' in '(severity=ERROR'"),
        (["--filter", "severity="], "ends with the operator in 'severity='"),
        (["--job", "weekly-sync"], "unknown job 'weekly-sync'"),
        (["service", "--job", "daily-sync"], "--job selects scheduler entries"),
        (["--since", "1h", "--until", "2h"], "is after --until"),
        (["--follow", "--until", "1h"], "--until cannot be combined with --follow"),
        (["everything"], "'everything' is not one of"),
    ],
)
def test_bad_input_is_one_line_exit_2_before_any_call(cli, emulator, args, words):
    r = cli("logs", *args)
    assert r.exit_code == 2, r.output
    assert words in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert list_calls(emulator) == []


def test_a_filter_the_api_rejects_is_one_line_exit_2(cli, emulator):
    r = cli("logs", "--filter", "severity>=LOUD")
    assert r.exit_code == 2
    assert "the log filter was rejected" in r.stderr and "invalid severity 'LOUD'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_follow_in_a_terminal_ends_cleanly_on_ctrl_c(emulator, tmp_path):
    env = {
        **os.environ,
        "THOTHCTL_EMULATOR_HOST": emulator.address,
        "PYTHONUNBUFFERED": "1",
        "NO_GCE_CHECK": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "thothctl", "logs", "-f", "-o", "json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        service = emulator.service("google.logging.v2.LoggingServiceV2")
        assert service.wait_for_tailers(1, timeout=15), proc.stderr.read() if proc.poll() else ""
        now = dt.datetime.now(dt.UTC)
        attempt(
            emulator, when=now, scheduled=now, status="UNAVAILABLE", http_status=503, latency=2.1
        )
        first = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first["job"] == "daily-sync" and first["http_status"] == 503
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Following new log entries" in err


def test_end_to_end_a_failing_then_healthy_service(cli, enabled_apis):
    """Run the real emulated scheduler against the stub: first attempt 503, the retry 200."""
    ops = enabled_apis.control_ops()
    ops["scheduler_config"]({"auto": False, "time_scale": 0.01})
    assert cli("jobs", "apply").exit_code == 0
    ops["stub_behave"]({"status": 503, "times": 1})
    assert cli("jobs", "run", "daily-sync").exit_code == 0
    deadline = time.monotonic() + 15
    records: list[dict] = []
    while time.monotonic() < deadline:
        r = cli("logs", "--job", "daily-sync", "--since", "10m", "-o", "json")
        assert r.exit_code == 0, r.output
        records = [json.loads(x) for x in r.stdout.splitlines()]
        if any(rec.get("http_status") == 200 and rec["source"] == "jobs" for rec in records):
            break
        time.sleep(0.1)
    finished = [
        (rec["http_status"], rec["will_retry"])
        for rec in records
        if rec["source"] == "jobs" and rec["http_status"]
    ]
    assert finished == [(503, True), (200, False)]
    served = [rec["http_status"] for rec in records if rec["source"] == "service"]
    assert served == [503, 200]
    human = cli("logs", "jobs", "--since", "10m")
    assert "daily-sync: POST …/sync → 503 after" in human.stdout and "will retry" in human.stdout


def test_who_read_the_secrets_comes_from_secret_manager_itself(cli, clients, enabled_apis):
    parent = f"projects/{PROJECT}"
    clients.secrets.create_secret(
        request={
            "parent": parent,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    clients.secrets.add_secret_version(
        request={
            "parent": f"{parent}/secrets/gitlab-token",
            "payload": {"data": b"glpat-never-shown"},
        }
    )
    clients.secrets.access_secret_version(
        request={"name": f"{parent}/secrets/gitlab-token/versions/latest"}
    )
    r = cli("logs", "secrets", "-o", "json")
    assert r.exit_code == 0, r.output
    (record,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert record["source"] == "secrets" and record["principal"]
    assert record["message"] == f"{record['principal']} read gitlab-token (version 1)"
    human = cli("logs", "secrets")
    assert "read gitlab-token (version 1)" in human.stdout
    assert "glpat-never-shown" not in r.stdout + human.stdout + human.stderr
