"""The errors Google really sends, from the emulator's fault injection (``--fail-shape``): status
codes, messages and details (google.rpc.ErrorInfo, QuotaFailure, RetryInfo, PreconditionFailure,
Help) as the official clients expose them in ``exc.details``, over gRPC (grpc-status-details-bin)
and REST (the JSON ``error.details``). Shapes from google/api/error_reason.proto and the answers
Google gives (docs/emulator.md, "Faults and the call log")."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.rpc import error_details_pb2

from thothctl.emulator.base import project_number_for
from thothctl.emulator.faults import FaultConfig

P = "projects/thoth-local"
NUMBER = project_number_for("thoth-local")
REGION = f"{P}/locations/us-central1"


def _detail(exc: gexc.GoogleAPICallError, cls: type) -> list:
    return [d for d in exc.details if isinstance(d, cls)]


def _failing(emulator, shape: str, methods: str = "*", **extra) -> None:
    emulator.faults.set(FaultConfig(fail_rate=1.0, fail_shape=shape, methods=methods, **extra))


# one List call per emulated API: (client attribute, method, request, Service Usage name)
LISTS = [
    ("secrets", "list_secrets", {"parent": P}, "secretmanager.googleapis.com"),
    ("scheduler", "list_jobs", {"parent": REGION}, "cloudscheduler.googleapis.com"),
    ("run", "list_services", {"parent": REGION}, "run.googleapis.com"),
    ("iam", "list_service_accounts", {"name": P}, "iam.googleapis.com"),
    ("logging", "list_log_entries", {"resource_names": [P]}, "logging.googleapis.com"),
]


@pytest.mark.parametrize(("api", "method", "request_", "service"), LISTS, ids=[x[3] for x in LISTS])
def test_service_disabled_names_each_api_as_google_does(
    enabled_apis, clients, api, method, request_, service
):
    _failing(enabled_apis, "service-disabled")
    call = getattr(getattr(clients, api).raw, method)
    with pytest.raises(gexc.PermissionDenied) as err:
        list(call(request=request_, retry=None))
    assert f"has not been used in project {NUMBER} before or it is disabled" in err.value.message
    assert err.value.reason == "SERVICE_DISABLED" and err.value.domain == "googleapis.com"
    meta = err.value.metadata
    assert meta["service"] == service and meta["consumer"] == f"projects/{NUMBER}"
    assert service in meta["activationUrl"]
    (help_,) = _detail(err.value, error_details_pb2.Help)
    assert service in help_.links[0].url


def test_a_disabled_api_answers_the_same_shape_as_the_fault(enabled_apis, clients):
    enabled_apis.control_ops()["apis_set"](
        {"project": "thoth-local", "disable": ["secretmanager.googleapis.com"]}
    )
    with pytest.raises(gexc.PermissionDenied) as real:
        list(clients.secrets.raw.list_secrets(request={"parent": P}, retry=None))
    _failing(enabled_apis, "service-disabled")
    with pytest.raises(gexc.PermissionDenied) as injected:
        list(clients.secrets.raw.list_secrets(request={"parent": P}, retry=None))
    assert real.value.message == injected.value.message
    assert dict(real.value.metadata) == dict(injected.value.metadata)


def test_billing_disabled(enabled_apis, clients):
    _failing(enabled_apis, "billing")
    with pytest.raises(gexc.PermissionDenied) as err:
        list(clients.scheduler.raw.list_jobs(request={"parent": REGION}, retry=None))
    assert err.value.message.startswith("This API method requires billing to be enabled.")
    assert f"project #{NUMBER}" in err.value.message
    assert err.value.reason == "BILLING_DISABLED"
    assert err.value.metadata["service"] == "cloudscheduler.googleapis.com"


def test_quota_has_its_limit_the_violation_and_a_retry_delay(enabled_apis, clients):
    _failing(enabled_apis, "quota", retry_delay_s=2.5)
    with pytest.raises(gexc.TooManyRequests) as err:
        list(clients.secrets.raw.list_secrets(request={"parent": P}, retry=None))
    assert err.value.grpc_status_code.name == "RESOURCE_EXHAUSTED"
    assert err.value.reason == "RATE_LIMIT_EXCEEDED"
    meta = err.value.metadata
    assert meta["quota_limit"] and meta["quota_metric"].startswith("secretmanager.googleapis.com/")
    (quota,) = _detail(err.value, error_details_pb2.QuotaFailure)
    assert quota.violations[0].subject == f"project_number:{NUMBER}"
    (retry,) = _detail(err.value, error_details_pb2.RetryInfo)
    assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (2, 500_000_000)


def test_org_policy_names_the_constraint_and_each_member_outside_the_domain(enabled_apis, clients):
    from google.iam.v1 import policy_pb2

    _failing(enabled_apis, "org-policy", methods="*SetIamPolicy")
    policy = policy_pb2.Policy(
        bindings=[
            policy_pb2.Binding(
                role="roles/secretmanager.secretAccessor",
                members=[
                    "user:bob@gmail.com",
                    "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com",
                ],
            )
        ]
    )
    resource = f"{REGION}/services/thoth-mcp-server"
    with pytest.raises(gexc.FailedPrecondition) as err:
        clients.run.raw.set_iam_policy(request={"resource": resource, "policy": policy}, retry=None)
    assert "do not belong to a permitted customer" in err.value.message
    (failure,) = _detail(err.value, error_details_pb2.PreconditionFailure)
    (violation,) = failure.violations  # the project's own service account is allowed
    assert violation.type == "constraints/iam.allowedPolicyMemberDomains"
    assert violation.subject == "orgpolicy:projects/thoth-local?configvalue=bob@gmail.com"
    assert violation.description == "User bob@gmail.com is not in permitted organization."


def test_an_expired_token_is_unauthenticated_with_the_method(enabled_apis, clients):
    _failing(enabled_apis, "auth-expired")
    with pytest.raises(gexc.Unauthenticated) as err:
        clients.iam.raw.list_service_accounts(request={"name": P}, retry=None)
    assert err.value.message.startswith("Request had invalid authentication credentials.")
    assert err.value.reason == "ACCESS_TOKEN_EXPIRED"
    assert err.value.metadata["method"] == "google.iam.admin.v1.IAM.ListServiceAccounts"


def test_the_details_travel_over_rest_too(enabled_apis):
    import requests

    _failing(enabled_apis, "quota", retry_delay_s=7)
    answer = requests.get(f"http://{enabled_apis.rest_address}/v1/{P}/secrets", timeout=10)
    error = answer.json()["error"]
    assert answer.status_code == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    kinds = {d["@type"].rsplit(".", 1)[-1]: d for d in error["details"]}
    assert kinds["ErrorInfo"]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert kinds["RetryInfo"]["retryDelay"] == "7s"
    assert kinds["QuotaFailure"]["violations"][0]["subject"] == f"project_number:{NUMBER}"


def test_auth_revoked_fails_token_refreshes_not_rpcs(enabled_apis, clients):
    """The token endpoint refuses the refresh the way Google's does; RPCs are not failed (a
    client with a token keeps working until it must refresh)."""
    import requests

    assert list(clients.secrets.raw.list_secrets(request={"parent": P}, retry=None)) == []
    _failing(enabled_apis, "auth-revoked")  # after this client was built: it stays anonymous
    token_uri = enabled_apis.control_ops()["info"]({})["token_uri"]
    refused = requests.post(token_uri, data={"grant_type": "refresh_token"}, timeout=10)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert list(clients.secrets.raw.list_secrets(request={"parent": P}, retry=None)) == []
    enabled_apis.faults.clear()
    assert enabled_apis.control_ops()["info"]({})["token_uri"] is None  # clients stay anonymous
