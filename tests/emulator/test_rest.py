"""The emulator's REST (HTTP/JSON) surface, as Google's REST clients, curl and gcloud see it
(docs/emulator.md, "REST"): routes from the client libraries' HTTP rules, transcoding, Google's
JSON errors with the gRPC codes, LROs, IAM verbs, faults and the call log on both transports."""

from __future__ import annotations

import base64

import grpc
import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, secretmanager_v1, service_usage_v1

from thothctl.emulator.base import project_number_for
from thothctl.emulator.rest import routes

P = "projects/thoth-local"
NUMBER = project_number_for("thoth-local")
SERVICE = f"{P}/locations/us-central1/services/thoth-mcp-server"


@pytest.fixture
def http(enabled_apis):
    base = f"http://{enabled_apis.rest_address}"
    session = requests.Session()

    def call(method: str, path: str, **kw) -> requests.Response:
        return session.request(method, base + path, timeout=10, **kw)

    return call


def rest(cls, emulator):
    options = ClientOptions(api_endpoint=f"http://{emulator.rest_address}")
    return cls(credentials=AnonymousCredentials(), transport="rest", client_options=options)


def test_every_rule_the_client_library_ships_for_an_emulated_rpc_is_a_route(emulator):
    served = {(r.method, r.template) for r in emulator._rest._server.router.routes}
    for svc in emulator.services:
        specs = {s.name for s in svc.rpcs() if not s.stream}
        for rpc, rules in routes.service_rules(svc).items():
            for rule in rules if rpc in specs else ():
                assert (rule["method"].upper(), rule["uri"]) in served, (svc.service_name, rpc)
    secret_rules = routes.gapic_rules(emulator.service("SecretManagerService"))
    assert {"method": "get", "uri": "/v1/{name=projects/*/secrets/*/versions/*}:access"} in (
        secret_rules["AccessSecretVersion"]
    )


def test_a_secret_over_plain_http_as_curl_would(http):
    made = http(
        "POST",
        f"/v1/{P}/secrets?secretId=gitlab-token&alt=json",
        json={"replication": {"automatic": {}}, "labels": {"team": "thoth"}},
    )
    assert made.status_code == 200, made.text
    assert made.json()["name"] == f"projects/{NUMBER}/secrets/gitlab-token"
    assert "createTime" in made.json() and "create_time" not in made.json()  # camelCase JSON
    for value in ("one", "two", "three"):
        added = http(
            "POST",
            f"/v1/{P}/secrets/gitlab-token:addVersion",
            json={"payload": {"data": base64.b64encode(value.encode()).decode()}},
        )
        assert added.status_code == 200 and added.json()["state"] == "ENABLED"
    got = http("GET", f"/v1/{P}/secrets/gitlab-token/versions/latest:access")
    assert base64.b64decode(got.json()["payload"]["data"]) == b"three"
    numeric = http(
        "GET", f"/v1/{P}/secrets/gitlab-token/versions/1", params={"$alt": "json;enum-encoding=int"}
    )
    assert numeric.json()["state"] == 1  # ENABLED, as the generated clients ask for it
    first = http("GET", f"/v1/{P}/secrets/gitlab-token/versions", params={"pageSize": 2})
    assert len(first.json()["versions"]) == 2 and first.json()["nextPageToken"]
    rest_page = http(
        "GET",
        f"/v1/{P}/secrets/gitlab-token/versions",
        params={"pageSize": 2, "pageToken": first.json()["nextPageToken"]},
    )
    assert [v["name"][-1] for v in rest_page.json()["versions"]] == ["1"]
    patched = http(
        "PATCH",
        f"/v1/{P}/secrets/gitlab-token?updateMask=labels",
        json={"labels": {"team": "sync"}},
    )
    assert patched.json()["labels"] == {"team": "sync"}


def test_errors_are_googles_json_with_the_codes_grpc_answers(http, clients, enabled_apis):
    sm = clients.secrets.raw
    sm.create_secret(parent=P, secret_id="s", secret={"replication": {"automatic": {}}})
    cases = [
        ("GET", f"/v1/{P}/secrets/missing", lambda: sm.get_secret(name=f"{P}/secrets/missing")),
        (
            "POST",
            f"/v1/{P}/secrets?secretId=s",
            lambda: sm.create_secret(
                parent=P, secret_id="s", secret={"replication": {"automatic": {}}}
            ),
        ),
        (
            "GET",
            f"/v1/{P}/secrets/s/versions/latest:access",
            lambda: sm.access_secret_version(name=f"{P}/secrets/s/versions/latest"),
        ),
    ]
    for method, path, grpc_call in cases:
        with pytest.raises(gexc.GoogleAPICallError) as err:
            grpc_call()
        body = {"replication": {"automatic": {}}} if method == "POST" else None
        answer = http(method, path, json=body)
        error = answer.json()["error"]
        assert error["status"] == err.value.grpc_status_code.name
        assert error["message"] == err.value.message
        assert (
            answer.status_code
            == error["code"]
            == {"NOT_FOUND": 404, "ALREADY_EXISTS": 409}[error["status"]]
        )
    enabled_apis.control_ops()["apis_set"](
        {"project": "thoth-local", "disable": ["secretmanager.googleapis.com"]}
    )
    denied = http("GET", f"/v1/{P}/secrets").json()["error"]
    assert denied["status"] == "PERMISSION_DENIED" and denied["code"] == 403
    info, *_help = denied["details"]  # ErrorInfo first, then a Help link (as Google sends)
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == "SERVICE_DISABLED"
    assert info["metadata"]["service"] == "secretmanager.googleapis.com"


def test_bad_requests_are_400_and_unknown_paths_404(http):
    bad_json = http("POST", f"/v1/{P}/secrets?secretId=x", data=b"{not json")
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["message"].startswith("Invalid JSON payload received.")
    unknown = http("GET", f"/v1/{P}/secrets", params={"colour": "blue"})
    assert unknown.status_code == 400 and '"colour"' in unknown.json()["error"]["message"]
    nowhere = http("GET", "/v9/nothing/here")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["status"] == "NOT_FOUND"


def test_official_rest_clients_poll_operations_and_use_the_iam_verbs(enabled_apis):
    usage = rest(service_usage_v1.ServiceUsageClient, enabled_apis)
    op = usage.batch_enable_services(
        request={"parent": P, "service_ids": ["logging.googleapis.com"]}
    )
    assert op.result(timeout=10).services[0].state.name == "ENABLED"
    run = rest(run_v2.ServicesClient, enabled_apis)
    service = run.get_service(name=SERVICE)
    updated = run.update_service(service=service).result(timeout=10)
    assert updated.generation == service.generation + 1 and not updated.reconciling
    policy = run.get_iam_policy(request={"resource": SERVICE})
    policy.bindings.add(
        role="roles/run.invoker", members=["serviceAccount:a@b.iam.gserviceaccount.com"]
    )
    run.set_iam_policy(request={"resource": SERVICE, "policy": policy})
    granted = run.test_iam_permissions(
        request={"resource": SERVICE, "permissions": ["run.routes.invoke", "run.jobs.run"]}
    )
    assert list(granted.permissions) == ["run.routes.invoke"]
    sm = rest(secretmanager_v1.SecretManagerServiceClient, enabled_apis)
    with pytest.raises(gexc.NotFound):
        sm.get_iam_policy(request={"resource": f"{P}/secrets/missing"})


def test_faults_and_the_call_log_apply_to_rest_too(enabled_apis):
    ops = enabled_apis.control_ops()
    sm = rest(secretmanager_v1.SecretManagerServiceClient, enabled_apis)
    before = ops["rest_requests"]({}).get(
        "/google.cloud.secretmanager.v1.SecretManagerService/ListSecrets", 0
    )
    ops["faults_set"]({"fail_rate": 1.0, "fail_code": "UNAVAILABLE", "methods": "*ListSecrets"})
    enabled_apis.calls.reset()
    with pytest.raises(gexc.ServiceUnavailable, match="injected fault"):
        sm.list_secrets(parent=P, retry=None)
    ops["faults_clear"]({})
    assert list(sm.list_secrets(parent=P, retry=None)) == []
    logged = [(c.method.rsplit("/", 1)[1], c.code, c.fault) for c in enabled_apis.calls.snapshot()]
    assert logged == [("ListSecrets", "UNAVAILABLE", "fail"), ("ListSecrets", "OK", None)]
    after = ops["rest_requests"]({})[
        "/google.cloud.secretmanager.v1.SecretManagerService/ListSecrets"
    ]
    assert after - before == 2


def test_as_a_proxy_it_answers_plain_http_by_path_and_refuses_tunnels(enabled_apis):
    proxy = {
        "http": f"http://{enabled_apis.rest_address}",
        "https": f"http://{enabled_apis.rest_address}",
    }
    knative = requests.get(
        "http://us-central1-run.googleapis.com/apis/serving.knative.dev/v1/namespaces/"
        "thoth-local/services/thoth-mcp-server",
        proxies=proxy,
        timeout=10,
    ).json()
    assert knative["kind"] == "Service"
    assert knative["metadata"]["labels"]["cloud.googleapis.com/location"] == "us-central1"
    assert knative["spec"]["template"]["spec"]["serviceAccountName"].startswith("thoth-mcp-sa@")
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(
            "https://secretmanager.googleapis.com/v1/projects/x/secrets", proxies=proxy, timeout=10
        )


def test_grpc_clients_reach_the_same_port(enabled_apis):
    from google.cloud.secretmanager_v1.services.secret_manager_service import transports

    channel = grpc.insecure_channel(enabled_apis.rest_address)
    try:
        sm = secretmanager_v1.SecretManagerServiceClient(
            transport=transports.SecretManagerServiceGrpcTransport(channel=channel)
        )
        assert list(sm.list_secrets(parent=P)) == []
    finally:
        channel.close()
