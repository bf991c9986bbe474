"""Reading and following what the sync did, through the library, over the wire to the emulator:
the entries come back as LogLines with the attempt spelled out."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from thothctl import logs
from thothctl.config import load_config
from thothctl.errors import UsageError
from thothctl.logquery import build_query

PROJECT = "thoth-local"
DAILY = f"projects/{PROJECT}/locations/us-central1/jobs/thoth-daily-sync"
FINISHED = "type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


def finished_attempt(emu, *, when: dt.datetime, http_status: int, status: str | None = None):
    """An AttemptFinished entry, as Cloud Scheduler writes it for the daily job."""
    payload = {"@type": FINISHED, "jobName": DAILY, "url": "https://x.a.run.app/sync"}
    payload["scheduledTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if status:
        payload["status"] = status
    emu.write_log(
        project_id=PROJECT,
        log_id="cloudscheduler.googleapis.com/executions",
        resource_type="cloud_scheduler_job",
        resource_labels={"job_id": "thoth-daily-sync", "location": "us-central1"},
        severity="ERROR" if status else "INFO",
        json_payload=payload,
        http_request={"status": http_status, "latency": 2.1},
        timestamp=when,
    )


def test_the_newest_entries_come_back_oldest_first_with_the_attempt_spelled_out(
    emulator, clients, config
):
    now = dt.datetime.now(dt.UTC)
    finished_attempt(
        emulator, when=now - dt.timedelta(minutes=3), http_status=503, status="UNAVAILABLE"
    )
    finished_attempt(emulator, when=now - dt.timedelta(minutes=2), http_status=200)
    finished_attempt(emulator, when=now - dt.timedelta(minutes=1), http_status=200)

    lines, more = logs.read(clients, config, build_query(config, "jobs", since="10m"))
    assert not more
    assert [(line.http_status, line.will_retry) for line in lines] == [
        (503, True),
        (200, False),
        (200, False),
    ]
    first = lines[0]
    assert first.source == "jobs" and first.job == "daily-sync" and first.status == "UNAVAILABLE"
    assert (
        first.message
        == "daily-sync: POST …/sync → 503 after 2.1s (UNAVAILABLE), will retry (3 retries left)"
    )

    newest, more = logs.read(clients, config, build_query(config, "jobs", since="10m", limit=2))
    assert more and [line.http_status for line in newest] == [200, 200]


def test_a_filter_the_server_rejects_is_a_usage_error(emulator, clients, config):
    query = build_query(config, extra_filter="severity>=LOUD")
    with pytest.raises(UsageError) as caught:
        logs.read(clients, config, query)
    assert "the log filter was rejected" in caught.value.message


def test_following_yields_new_entries_then_stops_cleanly(emulator, clients, config):
    """The generator behind --follow yields entries written after it opened; closing it cancels
    the stream."""
    query = build_query(config, "jobs", follow=True)
    service = emulator.service("google.logging.v2.LoggingServiceV2")

    def fire():
        assert service.wait_for_tailers(1)
        now = dt.datetime.now(dt.UTC)
        emulator.write_log(  # a service entry: not a "jobs" entry
            project_id=PROJECT,
            log_id="run.googleapis.com/requests",
            resource_type="cloud_run_revision",
            resource_labels={"service_name": "thoth-mcp-server"},
            http_request={"requestMethod": "POST", "status": 503},
            timestamp=now,
        )
        finished_attempt(emulator, when=now, http_status=503, status="UNAVAILABLE")

    thread = threading.Thread(target=fire)
    thread.start()
    opened = []
    stream = logs.follow(clients, config, query, on_open=lambda: opened.append(True))
    try:
        line = next(stream)
    finally:
        stream.close()
        thread.join()
    assert opened == [True]
    assert line.source == "jobs" and line.http_status == 503 and line.will_retry is True
    deadline = time.monotonic() + 3
    while service.tailers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.tailers == 0
