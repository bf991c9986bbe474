"""A REST caller for emulated APIs whose Python library has no REST transport (IAM admin, Logging),
calling the way a generated REST transport does: the RPC's HTTP rule transcodes the request
(``google.api_core.path_template.transcode``), the JSON answer parses into the response type and an
error becomes the google-api-core exception of its status. ``RestClient(emu, service).rpc_name(
request={...})`` mirrors the official clients' call shape, so a test runs on either transport."""

from __future__ import annotations

from typing import Any

import requests
from google.api_core import exceptions, path_template, rest_helpers
from google.protobuf import json_format

from thothctl.clients import rest_status_error
from thothctl.emulator.rest import routes, transcode


def _camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


class RestClient:
    def __init__(self, emulator: Any, service: str):
        svc = emulator.service(service)
        self.base = f"http://{emulator.rest_address}"
        self.specs = {spec.name: spec for spec in svc.rpcs()}
        self.rules = routes.service_rules(svc)
        self.session = requests.Session()

    def call(self, rpc: str, request: dict[str, Any]) -> Any:
        spec = self.specs[rpc]
        if hasattr(spec.request, "pb"):  # proto-plus, built from a dict as the clients do
            message = spec.request.pb(spec.request(request))
        else:
            message = spec.request(**request)
        sent = path_template.transcode(self.rules[rpc], message)
        body = sent.get("body")
        params = rest_helpers.flatten_query_params(
            json_format.MessageToDict(sent["query_params"]), strict=True
        )
        resp = self.session.request(
            sent["method"],
            self.base + sent["uri"],
            params=params,
            data=json_format.MessageToJson(body) if body is not None else None,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        if resp.status_code >= 400:
            raise rest_status_error(exceptions.from_http_response(resp))
        return json_format.Parse(
            resp.content, transcode.pb_class(spec.response)(), ignore_unknown_fields=True
        )

    def __getattr__(self, name: str) -> Any:
        rpc = _camel(name)
        if rpc not in self.specs:
            raise AttributeError(name)
        return lambda request: self.call(rpc, request)
