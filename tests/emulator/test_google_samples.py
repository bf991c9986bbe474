"""What Google's own published samples expect, through both transports: the gaps their sample
tests found, closed (docs/emulator.md). gRPC through the official clients; REST through the
official REST clients where the library has them, else the way a REST transport calls
(``rest_client.RestClient``)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from rest_client import RestClient

from thothctl.clients import Clients, ClientSettings

P = "projects/thoth-local"
LOC = f"{P}/locations/us-central1"
SA = f"{P}/serviceAccounts/thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"


@pytest.fixture(params=["grpc", "rest"])
def api(request, enabled_apis):
    enabled_apis.control_ops()["apis_set"](
        {"project": "thoth-local", "enable": ["logging.googleapis.com"]}
    )
    bundle = Clients(
        ClientSettings(
            project="thoth-local", emulator_host=enabled_apis.address, transport=request.param
        )
    )
    if request.param == "rest":
        bundle.iam = RestClient(enabled_apis, "google.iam.admin.v1.IAM")
        bundle.logging = RestClient(enabled_apis, "google.logging.v2.LoggingServiceV2")
    yield bundle
    bundle.close()


def test_regional_quickstart_creates_a_secret_from_its_id_alone(api):
    secret = api.secrets.create_secret(request={"parent": LOC, "secret_id": "regional"})
    assert secret.name.endswith("/locations/us-central1/secrets/regional")
    api.secrets.add_secret_version(request={"parent": secret.name, "payload": {"data": b"hi"}})
    got = api.secrets.access_secret_version(request={"name": f"{secret.name}/versions/latest"})
    assert got.payload.data == b"hi"


def test_tags_are_input_only(api):
    made = api.secrets.create_secret(
        request={
            "parent": P,
            "secret_id": "tagged",
            "secret": {
                "replication": {"automatic": {}},
                "tags": {"tagKeys/281478036623522": "tagValues/281475012217424"},
            },
        }
    )
    assert dict(made.tags) == {}
    assert dict(api.secrets.get_secret(request={"name": made.name}).tags) == {}


def test_service_account_disable_enable_patch_and_its_policy(api):
    api.iam.disable_service_account(request={"name": SA})
    assert api.iam.get_service_account(request={"name": SA}).disabled is True
    api.iam.enable_service_account(request={"name": SA})
    assert api.iam.get_service_account(request={"name": SA}).disabled is False
    patched = api.iam.patch_service_account(
        request={
            "service_account": {"name": SA, "display_name": "Thoth runtime"},
            "update_mask": {"paths": ["display_name"]},
        }
    )
    assert patched.display_name == "Thoth runtime"
    with pytest.raises(gexc.InvalidArgument):
        api.iam.patch_service_account(
            request={
                "service_account": {"name": SA, "email": "x@y"},
                "update_mask": {"paths": ["email"]},
            }
        )
    policy = api.iam.get_iam_policy(request={"resource": SA})
    member = "user:operator@example.com"
    wanted = {"role": "roles/iam.serviceAccountUser", "members": [member]}
    api.iam.set_iam_policy(
        request={"resource": SA, "policy": {"bindings": [wanted], "etag": policy.etag}}
    )
    [binding] = api.iam.get_iam_policy(request={"resource": SA}).bindings
    assert list(binding.members) == [member]
    with pytest.raises(gexc.Aborted):  # the etag read before the write is stale now
        api.iam.set_iam_policy(request={"resource": SA, "policy": {"etag": policy.etag}})


def test_list_logs_and_delete_a_log(api):
    for log in ("app", "audit%2Fdata"):
        api.logging.write_log_entries(
            request={
                "log_name": f"{P}/logs/{log}",
                "resource": {"type": "global"},
                "entries": [{"text_payload": "hello"}],
            }
        )
    names = list(api.logging.list_logs(request={"parent": P}).log_names)
    assert names == [f"{P}/logs/app", f"{P}/logs/audit%2Fdata"]
    api.logging.delete_log(request={"log_name": f"{P}/logs/audit%2Fdata"})
    assert list(api.logging.list_logs(request={"parent": P}).log_names) == [f"{P}/logs/app"]
    with pytest.raises(gexc.NotFound):
        api.logging.delete_log(request={"log_name": f"{P}/logs/audit%2Fdata"})


def test_cloud_run_create_and_delete_are_long_running(api, enabled_apis):
    op = api.run.create_service(
        request={
            "parent": LOC,
            "service_id": "hello",
            "service": {
                "template": {"containers": [{"image": "us-docker.pkg.dev/cloudrun/hello"}]}
            },
        }
    )
    created = op.result(timeout=10)
    assert created.name == f"{LOC}/services/hello" and created.uri.startswith("http://127.0.0.1:")
    assert created.terminal_condition.state.name == "CONDITION_SUCCEEDED"
    with pytest.raises(gexc.AlreadyExists):
        api.run.create_service(request={"parent": LOC, "service_id": "hello", "service": created})
    gone = api.run.delete_service(request={"name": created.name}).result(timeout=10)
    assert gone.name == created.name
    with pytest.raises(gexc.NotFound):
        api.run.get_service(request={"name": created.name})
