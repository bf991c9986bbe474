"""Service Usage conformance through the official google-cloud-service-usage client (docs/emulator.md, "Service Usage")."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

PARENT = "projects/thoth-local"


def test_get_service_uses_the_project_number_and_reports_state(clients, emulator):
    svc = clients.serviceusage.get_service(
        request={"name": f"{PARENT}/services/run.googleapis.com"}
    )
    number = emulator.resolve_project("thoth-local")["number"]
    assert svc.name == f"projects/{number}/services/run.googleapis.com"
    assert svc.parent == f"projects/{number}"
    assert svc.state.name == "ENABLED"
    assert svc.config.title == "Cloud Run Admin API"
    off = clients.serviceusage.get_service(
        request={"name": f"{PARENT}/services/secretmanager.googleapis.com"}
    )
    assert off.state.name == "DISABLED"


def test_enable_service_is_a_long_running_operation(clients, emulator):
    emulator.operation_ms = 200
    op = clients.serviceusage.enable_service(
        request={"name": f"{PARENT}/services/secretmanager.googleapis.com"}
    )
    assert not op.done()
    response = clients.wait(op)
    assert response.service.state.name == "ENABLED"
    assert op.metadata.resource_names
    polls = [c for c in emulator.calls.snapshot() if c.method.endswith("/GetOperation")]
    assert polls, "the client polls the operation on the same channel"


def test_enabling_an_enabled_service_answers_the_done_noop_operation(clients):
    op = clients.serviceusage.enable_service(
        request={"name": f"{PARENT}/services/run.googleapis.com"}
    )
    assert op.done()
    assert op.operation.name == "operations/noop.DONE_OPERATION"
    assert op.result().service.state.name == "ENABLED"


def test_batch_enable_is_atomic_and_limited_to_20(clients):
    with pytest.raises(
        exceptions.PermissionDenied,
        match=r"Permission denied to enable service \[nope.googleapis.com\]",
    ):
        clients.serviceusage.batch_enable_services(
            request={
                "parent": PARENT,
                "service_ids": ["secretmanager.googleapis.com", "nope.googleapis.com"],
            }
        )
    state = clients.serviceusage.get_service(
        request={"name": f"{PARENT}/services/secretmanager.googleapis.com"}
    ).state
    assert state.name == "DISABLED", "a failed batch changes nothing"

    with pytest.raises(exceptions.InvalidArgument, match="maximum of 20"):
        clients.serviceusage.batch_enable_services(
            request={"parent": PARENT, "service_ids": [f"s{i}.googleapis.com" for i in range(21)]}
        )

    op = clients.serviceusage.batch_enable_services(
        request={
            "parent": PARENT,
            "service_ids": ["secretmanager.googleapis.com", "iam.googleapis.com"],
        }
    )
    result = clients.wait(op)
    assert sorted(s.config.name for s in result.services) == [
        "iam.googleapis.com",
        "secretmanager.googleapis.com",
    ]


def test_batch_get_rejects_more_than_30_names_and_foreign_parents(clients):
    with pytest.raises(exceptions.InvalidArgument):
        clients.serviceusage.batch_get_services(
            request={"parent": PARENT, "names": [f"{PARENT}/services/run.googleapis.com"] * 31}
        )
    with pytest.raises(exceptions.NotFound):
        clients.serviceusage.batch_get_services(
            request={
                "parent": PARENT,
                "names": ["projects/other-project/services/run.googleapis.com"],
            }
        )


def test_list_services_filters_by_state_and_pages(clients):
    enabled = list(
        clients.serviceusage.list_services(request={"parent": PARENT, "filter": "state:ENABLED"})
    )
    assert {s.config.name for s in enabled} >= {"run.googleapis.com", "serviceusage.googleapis.com"}
    assert all(s.state.name == "ENABLED" for s in enabled)
    pager = clients.serviceusage.list_services(request={"parent": PARENT, "page_size": 5})
    pages = list(pager.pages)
    assert len(pages) > 1 and all(len(p.services) <= 5 for p in pages)
    with pytest.raises(exceptions.InvalidArgument):
        list(clients.serviceusage.list_services(request={"parent": PARENT, "filter": "name:run"}))


def test_disable_a_service_that_is_not_enabled_fails_precondition(clients):
    with pytest.raises(exceptions.FailedPrecondition):
        clients.serviceusage.disable_service(
            request={"name": f"{PARENT}/services/secretmanager.googleapis.com"}
        )


def test_unknown_project_is_not_found(clients):
    with pytest.raises(exceptions.NotFound, match="Project 'no-such-project' not found"):
        clients.serviceusage.get_service(
            request={"name": "projects/no-such-project/services/run.googleapis.com"}
        )
