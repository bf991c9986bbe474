"""The REST route table, derived from the ``google.api.http`` annotations the client libraries ship
(docs/emulator.md, "REST").

Where each service's rules come from, in this order:

1. the generated REST transport of its GAPIC client library (``rest_base.py``: every
   ``_Base<Rpc>._get_http_options()`` is the method's ``google.api.http`` rule with its additional
   bindings, as the generator read it from the proto), found through the package's
   ``gapic_metadata.json``. Its mixins (``GetOperation``, ``ListOperations``, ...) route to the
   emulated ``google.longrunning.Operations`` under the API's own paths;
2. the method options of the service descriptor in the protobuf descriptor pool, for the
   services shipped as ``*_pb2`` modules (``google.longrunning.Operations``);
3. :mod:`thothctl.emulator.rest.declared`, for the APIs whose Python client ships no HTTP rules
   at all (IAM admin v1, Logging v2): the same rules, copied from the API's proto.

A rule becomes a :class:`Route`: the HTTP method, a regular expression compiled from the path
template (``{name=projects/*/secrets/*}``, ``**``, ``:verb``), the request fields its variables
bind and the ``body`` field.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thothctl.emulator.base import EmulatedService, RpcSpec
    from thothctl.emulator.server import Emulator

OPERATIONS = "google.longrunning.Operations"
_VAR = re.compile(r"\{([\w.]+)(?:=([^}]*))?\}")


@dataclass
class Route:
    method: str  # GET, POST, PATCH, DELETE, PUT
    template: str
    body: str | None
    service: EmulatedService
    spec: RpcSpec
    call: Callable[[Any, Any], Any]  # the dispatcher's behaviour for this RPC
    regex: re.Pattern[str] = field(init=False)
    fields: list[str] = field(init=False)  # request field paths bound by the path, in order
    # Hooks for surfaces that are not the RPC's own JSON (Cloud Run v1's Knative shape):
    adapt: Callable[[dict[str, str], Any], Any] | None = None  # (path vars, http) -> request
    render: Callable[[Any, Any], Any] | None = None  # (response, http) -> JSON value

    def __post_init__(self) -> None:
        self.regex, self.fields = compile_template(self.template)

    @property
    def rank(self) -> tuple[int, int]:
        """Routes with a custom verb first, then the most literal text: the most specific wins."""
        literal = len(re.sub(r"\{[\w.]+=?|[}*]", "", self.template))
        return (0 if re.search(r":\w+$", self.template) else 1, -literal)


def _segment_pattern(template: str) -> str:
    parts = []
    for seg in template.split("/"):
        if seg == "**":
            parts.append(r"[^?#]+?")
        elif seg == "*":
            parts.append(r"[^/]+?")
        else:
            parts.append(re.escape(seg))
    return "/".join(parts)


def compile_template(template: str) -> tuple[re.Pattern[str], list[str]]:
    """``/v1/{name=projects/*/secrets/*}:access`` -> a regex with one group per variable."""
    out, fields, pos = [], [], 0
    for m in _VAR.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<v{len(fields)}>{_segment_pattern(m.group(2) or '*')})")
        fields.append(m.group(1))
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$"), fields


# --- where the rules come from ------------------------------------------------------------------
Rules = dict[str, list[dict[str, str]]]  # rpc name -> [{"method", "uri", "body"?}]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def gapic_rules(svc: EmulatedService) -> Rules:
    """The rules in the GAPIC REST transport of the service's client library (empty if none)."""
    package = None
    for spec in svc.rpcs():
        module = getattr(spec.request, "__module__", "")
        if ".types" in module and hasattr(spec.request, "pb"):
            package = module.split(".types", 1)[0]
            break
    if package is None:
        return {}
    try:
        meta = json.loads(resources.files(package).joinpath("gapic_metadata.json").read_text())
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    proto_package, short = svc.service_name.rsplit(".", 1)
    info = meta.get("services", {}).get(short, {})
    if meta.get("protoPackage") != proto_package or "rest" not in info.get("clients", {}):
        return {}
    module = importlib.import_module(f"{package}.services.{_snake(short)}.transports.rest_base")
    base_cls = next(
        obj
        for name, obj in vars(module).items()
        if name.startswith("_Base") and name.endswith("RestTransport")
    )
    rules: Rules = {}
    for name, obj in vars(base_cls).items():
        options = getattr(obj, "_get_http_options", None)
        if name.startswith("_Base") and callable(options):
            rules[name[len("_Base") :]] = [dict(o) for o in options()]
    return rules


def pool_rules(svc: EmulatedService) -> Rules:
    """The rules in the service descriptor's method options (services shipped as *_pb2)."""
    from google.api import annotations_pb2
    from google.protobuf import descriptor_pool

    try:
        desc = descriptor_pool.Default().FindServiceByName(svc.service_name)
    except KeyError:
        return {}
    rules: Rules = {}
    for method in desc.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        rule = options.Extensions[annotations_pb2.http]
        rules[method.name] = [_rule_dict(r) for r in (rule, *rule.additional_bindings)]
    return rules


def _rule_dict(rule: Any) -> dict[str, str]:
    kind = rule.WhichOneof("pattern")
    out = {"method": kind, "uri": getattr(rule, kind)}
    if rule.body:
        out["body"] = rule.body
    return out


def service_rules(svc: EmulatedService) -> Rules:
    from thothctl.emulator.rest.declared import RULES

    return gapic_rules(svc) or pool_rules(svc) or RULES.get(svc.service_name, {})


def build(emu: Emulator) -> list[Route]:
    """Every emulated unary RPC that has an HTTP rule, as routes through the dispatcher."""
    by_service = {svc.service_name: svc for svc in emu.services}
    operations = by_service.get(OPERATIONS)
    routes: list[Route] = []
    for svc in emu.services:
        specs = {spec.name: spec for spec in svc.rpcs()}
        op_specs = {spec.name: spec for spec in operations.rpcs()} if operations else {}
        for rpc_name, rules in service_rules(svc).items():
            target, spec = svc, specs.get(rpc_name)
            if spec is None and rpc_name in op_specs:  # a mixin: operations under the API's paths
                target, spec = operations, op_specs[rpc_name]
            if spec is None or spec.stream:
                continue
            routes.extend(_routes(emu, target, spec, rules))
    return routes


def _routes(
    emu: Emulator, svc: EmulatedService, spec: RpcSpec, rules: Iterable[dict[str, str]]
) -> list[Route]:
    call = emu.dispatcher.unary(svc, spec)
    return [
        Route(rule["method"].upper(), rule["uri"], rule.get("body") or None, svc, spec, call)
        for rule in rules
    ]


def route(
    emu: Emulator,
    service: str,
    rpc: str,
    method: str,
    uri: str,
    body: str | None = None,
    **hooks: Any,
) -> Route:
    """One route to an emulated RPC (for surfaces whose rules no library ships)."""
    svc = emu.service(service)
    assert svc is not None, service
    spec = next(s for s in svc.rpcs() if s.name == rpc)
    return Route(method, uri, body, svc, spec, emu.dispatcher.unary(svc, spec), **hooks)
