"""Cloud Run Admin API v1, the surface gcloud's ``run`` commands use, over the v2 state.

No Python client library ships Cloud Run v1 (``google-cloud-run`` is v2 only), so these routes are
declared here, after Google's v1 REST reference: the Knative-shaped
``GET /apis/serving.knative.dev/v1/namespaces/{project}/services/{service}`` (and the list) and
``projects.locations.services.getIamPolicy|setIamPolicy``. Each goes through the dispatcher as
the v2 RPC it corresponds to (GetService, ListServices, GetIamPolicy, SetIamPolicy: faults, checks
and the call log are the v2 method's), and the v2 Service is rendered in the Knative shape.

The Knative paths carry no region: Google serves them on regional hosts
(``us-central1-run.googleapis.com``), which is where the region is read from (gcloud derives that
host from its endpoint override; through the emulator as its HTTP proxy, the request keeps it).
Without a region in the host, the service is looked up in every location.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from google.cloud.run_v2 import types
from google.iam.v1 import iam_policy_pb2

import thothctl.emulator.rest.routes as routing
from thothctl.emulator.rest.transcode import build_request, to_json

if TYPE_CHECKING:
    from thothctl.emulator.server import Emulator

RUN_V2 = "google.cloud.run.v2.Services"
KNATIVE = "/apis/serving.knative.dev/v1"
_REGION_HOST = re.compile(r"^([a-z]+(?:-[a-z]+)+\d+)-")
DEFAULT_REGION = "us-central1"


def region_of(host: str, emu: Emulator, namespace: str, service: str = "") -> str:
    m = _REGION_HOST.match(host)
    if m:
        return m.group(1)
    with emu.store.lock:
        for name in emu.store.table("run.services"):
            parts = name.split("/")
            if parts[1] == namespace and (not service or parts[5] == service):
                return parts[3]
    return DEFAULT_REGION


def routes(emu: Emulator) -> list[routing.Route]:
    def get_adapt(path_vars: dict[str, str], http: Any) -> Any:
        _, ns, _, svc = path_vars["name"].split("/")
        region = region_of(http.host, emu, ns, svc)
        return types.GetServiceRequest(name=f"projects/{ns}/locations/{region}/services/{svc}")

    def list_adapt(path_vars: dict[str, str], http: Any) -> Any:
        ns = path_vars["parent"].split("/")[1]
        region = region_of(http.host, emu, ns)
        return types.ListServicesRequest(parent=f"projects/{ns}/locations/{region}")

    def policy_adapt(request_type: Any, body: str | None):
        def adapt(path_vars: dict[str, str], http: Any) -> Any:
            return build_request(request_type, body, path_vars, http.query, http.body)

        return adapt

    v1_resource = "/v1/{resource=projects/*/locations/*/services/*}"
    return [
        routing.route(
            emu,
            RUN_V2,
            "GetService",
            "GET",
            KNATIVE + "/{name=namespaces/*/services/*}",
            adapt=get_adapt,
            render=lambda svc, http: knative_service(svc),
        ),
        routing.route(
            emu,
            RUN_V2,
            "ListServices",
            "GET",
            KNATIVE + "/{parent=namespaces/*}/services",
            adapt=list_adapt,
            render=lambda resp, http: {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "ServiceList",
                "metadata": {},
                "items": [knative_service(s) for s in resp.services],
            },
        ),
        routing.route(
            emu,
            RUN_V2,
            "GetIamPolicy",
            "GET",
            v1_resource + ":getIamPolicy",
            adapt=policy_adapt(iam_policy_pb2.GetIamPolicyRequest, None),
        ),
        routing.route(
            emu,
            RUN_V2,
            "SetIamPolicy",
            "POST",
            v1_resource + ":setIamPolicy",
            "*",
            adapt=policy_adapt(iam_policy_pb2.SetIamPolicyRequest, "*"),
        ),
    ]


def _env(env: dict[str, Any]) -> dict[str, Any]:
    out = {"name": env["name"]}
    ref = env.get("valueSource", {}).get("secretKeyRef")
    if ref:
        out["valueFrom"] = {
            "secretKeyRef": {"name": ref["secret"], "key": ref.get("version", "latest")}
        }
    else:
        out["value"] = env.get("value", "")
    return out


def _container(c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"image": c.get("image", "")}
    if c.get("name"):
        out["name"] = c["name"]
    if c.get("env"):
        out["env"] = [_env(e) for e in c["env"]]
    if c.get("ports"):
        out["ports"] = [
            {"name": p.get("name", "http1"), "containerPort": p.get("containerPort", 8080)}
            for p in c["ports"]
        ]
    if c.get("resources", {}).get("limits"):
        out["resources"] = {"limits": c["resources"]["limits"]}
    return out


def _traffic(target: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"percent": target.get("percent", 0)}
    if target.get("type", "").endswith("LATEST"):
        out["latestRevision"] = True
    if target.get("revision"):
        out["revisionName"] = target["revision"]
    if target.get("tag"):
        out["tag"] = target["tag"]
    return out


def _short(revision: str) -> str:
    return revision.rsplit("/", 1)[-1]


def _spec(template: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [_container(c) for c in template.get("containers", [])],
        "serviceAccountName": template.get("serviceAccount", ""),
    }
    if template.get("maxInstanceRequestConcurrency"):
        spec["containerConcurrency"] = template["maxInstanceRequestConcurrency"]
    if template.get("timeout"):
        spec["timeoutSeconds"] = int(float(template["timeout"].rstrip("s")))
    return spec


def _annotations(v2: dict[str, Any]) -> dict[str, str]:
    annotations = dict(v2.get("annotations", {}))
    ingress = v2.get("ingress", "INGRESS_TRAFFIC_ALL").replace("INGRESS_TRAFFIC_", "").lower()
    ingress = {
        "internal_only": "internal",
        "internal_load_balancer": "internal-and-cloud-load-balancing",
    }.get(ingress, ingress)
    annotations.setdefault("run.googleapis.com/ingress", ingress)
    annotations.setdefault("run.googleapis.com/ingress-status", ingress)
    annotations.setdefault("serving.knative.dev/creator", v2.get("creator", ""))
    annotations.setdefault("serving.knative.dev/lastModifier", v2.get("lastModifier", ""))
    return annotations


def _status(v2: dict[str, Any]) -> dict[str, Any]:
    ready = v2.get("terminalCondition", {}).get("state") == "CONDITION_SUCCEEDED"
    conditions = [
        {
            "type": cond.get("type", "Ready"),
            "status": "True" if cond.get("state") == "CONDITION_SUCCEEDED" else "Unknown",
            "lastTransitionTime": cond.get("lastTransitionTime", ""),
        }
        for cond in [v2.get("terminalCondition", {}), *v2.get("conditions", [])]
        if cond
    ]
    return {
        "observedGeneration": int(v2.get("observedGeneration", 0)),
        "conditions": conditions,
        "latestCreatedRevisionName": _short(v2.get("latestCreatedRevision", "")),
        "latestReadyRevisionName": _short(v2.get("latestReadyRevision", "")) if ready else "",
        "url": v2.get("uri", ""),
        "address": {"url": v2.get("uri", "")},
        "traffic": [_traffic(t) for t in v2.get("trafficStatuses", [])],
    }


def knative_service(svc: types.Service) -> dict[str, Any]:
    """A v2 Service in Cloud Run v1's Knative shape (serving.knative.dev/v1 Service)."""
    v2 = to_json(svc)
    _, project, _, region, _, name = v2["name"].split("/")
    template = v2.get("template", {})
    metadata = {
        "name": name,
        "namespace": project,
        "uid": v2.get("uid", ""),
        "generation": int(v2.get("generation", 0)),
        "creationTimestamp": v2.get("createTime", ""),
        "resourceVersion": v2.get("etag", "").strip('"'),
        "selfLink": f"{KNATIVE}/namespaces/{project}/services/{name}",
        "labels": {**v2.get("labels", {}), "cloud.googleapis.com/location": region},
        "annotations": _annotations(v2),
    }
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "template": {
                "metadata": {"annotations": dict(template.get("annotations", {}))},
                "spec": _spec(template),
            },
            "traffic": [_traffic(t) for t in v2.get("traffic", [])],
        },
        "status": _status(v2),
    }
