"""Cloud Logging as the official LoggingServiceV2Client sees it (docs/emulator.md, "Cloud Logging")."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from google.api_core import exceptions as gexc
from google.cloud.logging_v2 import types

from thothctl.emulator.base import project_number_for

PARENT = "projects/thoth-local"
LOG = f"{PARENT}/logs/my-app"
FINISHED = "type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"


def write(clients, *entries, **request):
    request.setdefault("log_name", LOG)
    request.setdefault("resource", {"type": "global"})
    return clients.logging.write_log_entries(request={**request, "entries": list(entries)})


def listed(clients, filter_="", order_by="", page_size=0):
    request = {
        "resource_names": [PARENT],
        "filter": filter_,
        "order_by": order_by,
        "page_size": page_size,
    }
    return list(clients.logging.list_log_entries(request=request))


def logging_service(emulator):
    return emulator.service("google.logging.v2.LoggingServiceV2")


def scheduler_attempt(emulator, *, job_id="thoth-daily-sync", status=503, when=None):
    failed = status >= 300
    payload = {
        "@type": FINISHED,
        "jobName": f"{PARENT}/locations/us-central1/jobs/{job_id}",
        "targetType": "HTTP",
        "url": "https://thoth-mcp-server.a.run.app/sync",
        "debugInfo": f"Original HTTP response code number = {status}",
    }
    if failed:
        payload["status"] = "UNAVAILABLE"
    emulator.write_log(
        project_id="thoth-local",
        log_id="cloudscheduler.googleapis.com/executions",
        resource_type="cloud_scheduler_job",
        resource_labels={"job_id": job_id, "location": "us-central1", "project_id": "thoth-local"},
        severity="ERROR" if failed else "INFO",
        json_payload=payload,
        http_request={"status": status},
        timestamp=when,
    )


def test_written_entries_come_back_with_request_defaults_applied(clients):
    write(
        clients,
        {"text_payload": "first", "labels": {"who": "entry"}},
        {"text_payload": "second", "severity": "WARNING"},
        labels={"who": "request", "env": "test"},
    )
    first, second = listed(clients)
    assert first.log_name == LOG and first.resource.type == "global"
    assert first.text_payload == "first"
    assert dict(first.labels) == {"who": "entry", "env": "test"}  # the entry's label wins
    assert dict(second.labels) == {"who": "request", "env": "test"}
    assert second.severity == 400 and first.severity == 0  # WARNING, DEFAULT
    # timestamps and insert ids were supplied so that the earlier entry sorts first
    assert first.insert_id and second.insert_id and first.insert_id < second.insert_id
    assert first.timestamp <= second.timestamp and first.receive_timestamp


def test_a_project_number_in_the_log_name_is_translated_to_the_id(clients):
    number = project_number_for("thoth-local")
    write(
        clients,
        {"text_payload": "x"},
        log_name=f"projects/{number}/logs/cloudaudit.googleapis.com%2Factivity",
    )
    (entry,) = listed(clients)
    assert entry.log_name == f"{PARENT}/logs/cloudaudit.googleapis.com%2Factivity"


def test_an_entry_without_log_name_or_resource_is_refused_and_nothing_is_written(clients):
    with pytest.raises(gexc.InvalidArgument, match="log_name"):
        clients.logging.write_log_entries(
            request={"resource": {"type": "global"}, "entries": [{"text_payload": "x"}]}
        )
    with pytest.raises(gexc.InvalidArgument, match="resource"):
        clients.logging.write_log_entries(
            request={"log_name": LOG, "entries": [{"text_payload": "x"}]}
        )
    with pytest.raises(gexc.InvalidArgument):
        write(
            clients,
            {"text_payload": "ok"},
            {"text_payload": "bad", "log_name": "projects/thoth-local/nolog"},
        )
    assert listed(clients) == []


def test_partial_success_writes_the_valid_entries_and_reports_the_others(clients):
    with pytest.raises(gexc.InvalidArgument) as info:
        write(
            clients,
            {"text_payload": "ok"},
            {"text_payload": "bad", "log_name": "projects/thoth-local/nolog"},
            partial_success=True,
        )
    partial = types.WriteLogEntriesPartialErrors.pb()()
    assert any(detail.Unpack(partial) for detail in info.value.details)
    assert list(partial.log_entry_errors) == [1]
    assert partial.log_entry_errors[1].code == 3  # INVALID_ARGUMENT
    assert [e.text_payload for e in listed(clients)] == ["ok"]


def test_dry_run_persists_nothing(clients):
    write(clients, {"text_payload": "x"}, dry_run=True)
    assert listed(clients) == []


def test_entries_outside_retention_or_too_far_in_the_future_are_not_ingested(clients):
    now = dt.datetime.now(dt.UTC)
    write(
        clients,
        {"text_payload": "old", "timestamp": now - dt.timedelta(days=31)},
        {"text_payload": "future", "timestamp": now + dt.timedelta(hours=25)},
        {"text_payload": "recent", "timestamp": now - dt.timedelta(days=2)},
    )
    assert [e.text_payload for e in listed(clients)] == ["recent"]


def test_ordering_is_by_timestamp_then_insert_id_both_ways(clients):
    base = dt.datetime.now(dt.UTC)
    write(
        clients,
        {"text_payload": "b", "timestamp": base, "insert_id": "b"},
        {"text_payload": "late", "timestamp": base + dt.timedelta(seconds=1)},
        {"text_payload": "a", "timestamp": base, "insert_id": "a"},
        {"text_payload": "early", "timestamp": base - dt.timedelta(seconds=1)},
    )
    assert [e.text_payload for e in listed(clients)] == ["early", "a", "b", "late"]
    assert [e.text_payload for e in listed(clients, order_by="timestamp desc")] == [
        "late",
        "b",
        "a",
        "early",
    ]


def test_duplicates_with_the_same_timestamp_and_insert_id_are_removed(clients):
    when = dt.datetime.now(dt.UTC)
    write(clients, {"text_payload": "one", "timestamp": when, "insert_id": "same"})
    write(clients, {"text_payload": "one again", "timestamp": when, "insert_id": "same"})
    assert len(listed(clients)) == 1


def test_the_scheduler_failure_filter_from_the_docs_selects_failed_attempts(emulator, clients):
    scheduler_attempt(emulator, status=503)
    scheduler_attempt(emulator, status=200)
    scheduler_attempt(emulator, job_id="other", status=500)
    flt = (
        'resource.type="cloud_scheduler_job" AND resource.labels.job_id="thoth-daily-sync" AND '
        f'jsonPayload."@type"="{FINISHED}" AND severity>=ERROR'
    )
    (entry,) = listed(clients, flt)
    assert entry.json_payload["status"] == "UNAVAILABLE"
    assert entry.http_request.status == 503
    assert entry.log_name == f"{PARENT}/logs/cloudscheduler.googleapis.com%2Fexecutions"
    assert dict(entry.resource.labels) == {
        "job_id": "thoth-daily-sync",
        "location": "us-central1",
        "project_id": "thoth-local",
    }
    ok = listed(
        clients, 'log_id("cloudscheduler.googleapis.com/executions") AND NOT jsonPayload.status:*'
    )
    assert [e.http_request.status for e in ok] == [200]


def test_secret_access_audit_entries_carry_an_audit_log(emulator, clients):
    from google.cloud.audit import audit_log_pb2

    audit = audit_log_pb2.AuditLog(
        service_name="secretmanager.googleapis.com",
        method_name="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
        resource_name="projects/1/secrets/gitlab-token/versions/latest",
    )
    audit.authentication_info.principal_email = "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
    emulator.write_log(
        project_id="thoth-local",
        log_id="cloudaudit.googleapis.com/data_access",
        resource_type="audited_resource",
        resource_labels={"service": "secretmanager.googleapis.com", "method": audit.method_name},
        proto_payload=audit,
    )
    (entry,) = listed(clients, 'protoPayload.authenticationInfo.principalEmail:"thoth-mcp-sa@"')
    got = audit_log_pb2.AuditLog()
    assert entry.proto_payload.Unpack(got)
    assert got.resource_name.endswith("secrets/gitlab-token/versions/latest")


def test_bad_filters_order_and_page_sizes_are_invalid_argument(clients):
    with pytest.raises(gexc.InvalidArgument, match=r"Unparseable filter.*column 1"):
        listed(clients, "(severity=ERROR")
    with pytest.raises(gexc.InvalidArgument, match="invalid severity"):
        listed(clients, "severity>=LOUD")
    with pytest.raises(gexc.InvalidArgument, match="order_by"):
        listed(clients, order_by="severity desc")
    with pytest.raises(gexc.InvalidArgument, match="page_size"):
        listed(clients, page_size=1001)
    with pytest.raises(gexc.InvalidArgument, match="resource_names"):
        clients.logging.list_log_entries(request={"resource_names": []}).next_page_token  # noqa: B018


def test_pages_cover_every_entry_once_even_while_entries_arrive(clients):
    write(clients, *[{"text_payload": f"e{i:02d}"} for i in range(25)])
    first = clients.logging.list_log_entries(request={"resource_names": [PARENT], "page_size": 10})
    pages = iter(first.pages)
    seen = [e.text_payload for e in next(pages).entries]
    write(clients, {"text_payload": "later"})
    for page in pages:
        seen.extend(e.text_payload for e in page.entries)
    assert seen == [f"e{i:02d}" for i in range(25)] + ["later"]


def test_a_page_token_is_bound_to_its_query(clients):
    write(clients, *[{"text_payload": f"e{i}"} for i in range(3)])
    pager = clients.logging.list_log_entries(request={"resource_names": [PARENT], "page_size": 1})
    assert pager.next_page_token
    with pytest.raises(gexc.InvalidArgument, match="page token"):
        clients.logging.list_log_entries(
            request={
                "resource_names": [PARENT],
                "page_size": 1,
                "filter": "e1",
                "page_token": pager.next_page_token,
            }
        )


def test_reading_needs_the_permission_and_the_api(emulator, clients):
    emulator.denied.add("logging.logEntries.list")
    with pytest.raises(gexc.PermissionDenied, match=r"logging\.logEntries\.list"):
        listed(clients)
    emulator.denied.clear()
    emulator.control_ops()["apis_set"]({"disable": ["logging.googleapis.com"]})
    with pytest.raises(gexc.PermissionDenied, match="Cloud Logging API has not been used"):
        listed(clients)


def test_tail_streams_new_matching_entries_and_ends_when_cancelled(emulator, clients):
    scheduler_attempt(emulator, status=503)  # before the stream: not replayed
    service = logging_service(emulator)
    request = types.TailLogEntriesRequest(resource_names=[PARENT], filter="severity>=ERROR")

    def writer():
        assert service.wait_for_tailers(1)
        emulator.write_log(
            project_id="thoth-local",
            log_id="run.googleapis.com/stdout",
            resource_type="cloud_run_revision",
            severity="INFO",
            text_payload="quiet",
        )
        scheduler_attempt(emulator, status=500)

    thread = threading.Thread(target=writer)
    thread.start()
    # The client waits for the first response before returning the stream.
    stream = clients.logging.tail_log_entries(requests=iter([request]), timeout=30)
    response = next(iter(stream))
    thread.join()
    assert [e.http_request.status for e in response.entries] == [500]
    stream.cancel()
    deadline = dt.datetime.now() + dt.timedelta(seconds=3)
    while service.tailers and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    assert service.tailers == 0


def test_tail_with_a_bad_filter_is_invalid_argument(clients):
    request = types.TailLogEntriesRequest(resource_names=[PARENT], filter="severity>=")
    with pytest.raises(gexc.InvalidArgument, match="Unparseable filter"):
        next(iter(clients.logging.tail_log_entries(requests=iter([request]), timeout=10)))


def test_tail_goes_through_the_same_checks_and_faults_as_any_call(emulator, clients):
    from thothctl.emulator.faults import FaultConfig

    method = "/google.logging.v2.LoggingServiceV2/TailLogEntries"
    request = types.TailLogEntriesRequest(resource_names=[PARENT])

    def tail():  # the raw client: no retry policy, so the injected fault surfaces
        stream = clients.logging.raw.tail_log_entries(requests=iter([request]), retry=None)
        return next(iter(stream))

    emulator.denied.add("logging.logEntries.list")
    with pytest.raises(gexc.PermissionDenied, match=r"logging\.logEntries\.list"):
        tail()
    emulator.denied.clear()
    emulator.calls.reset()
    emulator.faults.set(FaultConfig(fail_rate=1.0, methods="TailLogEntries"))
    try:
        with pytest.raises(gexc.ServiceUnavailable, match="injected fault"):
            tail()
    finally:
        emulator.faults.clear()
    tails = [c for c in emulator.calls.snapshot() if c.method == method]
    assert tails and all((c.code, c.fault) == ("UNAVAILABLE", "fail") for c in tails)
