"""Cloud Run v2 Services in the emulator, through the official client (docs/emulator.md, "Cloud Run")."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import run_v2
from google.iam.v1 import policy_pb2
from google.protobuf import field_mask_pb2

SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"


def test_seeded_service_runs_as_runtime_account_with_secret_env_vars(clients, emulator):
    svc = clients.run.get_service(request={"name": SERVICE})
    assert svc.template.service_account == "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
    env = {
        e.name: (e.value_source.secret_key_ref.secret, e.value_source.secret_key_ref.version)
        for e in svc.template.containers[0].env
    }
    assert env == {
        "GITLAB_TOKEN": ("gitlab-token", "latest"),
        "GITLAB_BASE_URL": ("gitlab-url", "latest"),
    }
    assert svc.uri == emulator.control_ops()["stub_url"]({})
    assert svc.uri.startswith("http://127.0.0.1:")
    assert svc.generation == 1 and svc.observed_generation == 1 and not svc.reconciling
    assert svc.latest_ready_revision == svc.latest_created_revision
    assert svc.latest_created_revision.startswith(SERVICE + "/revisions/thoth-mcp-server-00001-")
    assert svc.terminal_condition.type_ == "Ready"


def test_missing_service_is_not_found_with_the_real_message(clients):
    with pytest.raises(gexc.NotFound) as err:
        clients.run.get_service(
            request={"name": "projects/thoth-local/locations/us-central1/services/nope"}
        )
    assert (
        "Resource 'nope' of kind 'SERVICE' in region 'us-central1' in project 'thoth-local' "
        "does not exist." in str(err.value)
    )


def test_list_services_refuses_wildcard_location(clients):
    names = [
        s.name
        for s in clients.run.list_services(
            request={"parent": "projects/thoth-local/locations/us-central1"}
        )
    ]
    assert names == [SERVICE]
    assert (
        list(
            clients.run.list_services(
                request={"parent": "projects/thoth-local/locations/europe-west1"}
            )
        )
        == []
    )
    with pytest.raises(gexc.InvalidArgument):
        list(clients.run.list_services(request={"parent": "projects/thoth-local/locations/-"}))


def test_update_service_template_creates_a_new_revision_via_lro(clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    old_revision = svc.latest_created_revision
    svc.template.containers[0].env[0].value_source.secret_key_ref.version = "3"
    op = clients.run.update_service(request={"service": svc})
    updated = clients.wait(op, timeout=10)
    assert isinstance(updated, run_v2.Service)
    assert updated.generation == 2 and updated.observed_generation == 2
    assert updated.latest_created_revision != old_revision
    assert "-00002-" in updated.latest_created_revision
    assert updated.latest_ready_revision == updated.latest_created_revision
    live = clients.run.get_service(request={"name": SERVICE})
    assert live.template.containers[0].env[0].value_source.secret_key_ref.version == "3"
    assert not live.reconciling and live.etag != svc.etag


def test_label_only_update_with_mask_keeps_the_revision(clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    change = run_v2.Service(name=SERVICE, labels={"team": "thoth"})
    op = clients.run.update_service(
        request={"service": change, "update_mask": field_mask_pb2.FieldMask(paths=["labels"])}
    )
    updated = clients.wait(op, timeout=10)
    assert updated.labels == {"team": "thoth"}
    assert updated.generation == 2
    assert updated.latest_created_revision == svc.latest_created_revision
    assert updated.template.containers[0].image == svc.template.containers[0].image


def test_update_with_stale_etag_is_aborted_and_validate_only_changes_nothing(clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    stale = svc.etag
    clients.wait(clients.run.update_service(request={"service": svc}), timeout=10)
    svc.etag = stale
    with pytest.raises(gexc.Aborted):
        clients.run.update_service(request={"service": svc})
    fresh = clients.run.get_service(request={"name": SERVICE})
    fresh.description = "dry"
    result = clients.wait(
        clients.run.update_service(request={"service": fresh, "validate_only": True}), timeout=10
    )
    assert result.description == "dry"
    assert clients.run.get_service(request={"name": SERVICE}).description == ""


def test_update_without_containers_is_invalid(clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    del svc.template.containers[:]
    with pytest.raises(gexc.InvalidArgument):
        clients.run.update_service(request={"service": svc})


def test_update_of_missing_service_is_not_found(clients):
    svc = clients.run.get_service(request={"name": SERVICE})
    svc.name = "projects/thoth-local/locations/us-central1/services/other"
    with pytest.raises(gexc.NotFound):
        clients.run.update_service(request={"service": svc})


def test_iam_policy_read_modify_write_with_etags(clients):
    policy = clients.run.get_iam_policy(request={"resource": SERVICE})
    assert list(policy.bindings) == [] and policy.etag
    policy.bindings.add(
        role="roles/run.invoker", members=["serviceAccount:a@thoth-local.iam.gserviceaccount.com"]
    )
    written = clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy})
    assert written.etag != policy.etag
    # a writer holding the old etag loses
    policy.bindings[0].members.append("user:late@example.com")
    with pytest.raises(gexc.Aborted) as err:
        clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy})
    assert "concurrent policy changes" in str(err.value)
    again = clients.run.get_iam_policy(request={"resource": SERVICE})
    assert [list(b.members) for b in again.bindings] == [
        ["serviceAccount:a@thoth-local.iam.gserviceaccount.com"]
    ]


def test_set_iam_policy_rejects_empty_binding(clients):
    bad = policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker", members=[])])
    with pytest.raises(gexc.InvalidArgument):
        clients.run.set_iam_policy(request={"resource": SERVICE, "policy": bad})


def test_test_iam_permissions_and_denied_permissions(clients, emulator):
    perms = ["run.services.get", "run.services.setIamPolicy"]
    assert (
        list(
            clients.run.test_iam_permissions(
                request={"resource": SERVICE, "permissions": perms}
            ).permissions
        )
        == perms
    )
    emulator.control_ops()["deny"]({"permissions": ["run.services.setIamPolicy"]})
    got = clients.run.test_iam_permissions(
        request={"resource": SERVICE, "permissions": perms}
    ).permissions
    assert list(got) == ["run.services.get"]
    with pytest.raises(gexc.PermissionDenied):
        clients.run.set_iam_policy(request={"resource": SERVICE, "policy": policy_pb2.Policy()})
