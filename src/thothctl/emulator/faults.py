"""Fault injection and the call log, keyed on the full gRPC method name.

Faults: a fixed latency per call, an error rate with a chosen status code (the call is not
applied), and a "lost response" rate (the call IS applied, then the client gets an error), each
limited to the methods matching a glob, drawn from a seeded random generator.

A failure has a *shape* (``fail_shape``): ``plain`` answers ``fail_code`` with a short message;
the others answer what Google sends in that situation, details included (docs/emulator.md,
"Faults and the call log"): ``service-disabled``, ``billing``, ``quota`` (with RetryInfo),
``org-policy`` (a PreconditionFailure naming the members), ``auth-expired`` (UNAUTHENTICATED) and
``auth-revoked`` (the emulator's OAuth token endpoint refuses to refresh, so the client library's
own refresh error is what the caller sees; RPCs are not failed).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc

from thothctl.emulator.base import EmulatorError

STATUS_CODES = {c.name: c for c in grpc.StatusCode}
# fail_shape -> the status code it answers (None: fail_code; auth-revoked fails no RPC)
SHAPES: dict[str, str | None] = {
    "plain": None,
    "service-disabled": "PERMISSION_DENIED",
    "billing": "PERMISSION_DENIED",
    "quota": "RESOURCE_EXHAUSTED",
    "org-policy": "FAILED_PRECONDITION",
    "auth-expired": "UNAUTHENTICATED",
    "auth-revoked": None,
}
TOKEN_ENDPOINT = "oauth2:POST /token"  # the method name the token endpoint draws faults for


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    fail_code: str = "UNAVAILABLE"
    lost_rate: float = 0.0
    methods: str = "*"
    seed: int | None = None
    fail_shape: str = "plain"
    retry_delay_s: float = 1.0  # the RetryInfo delay of the quota shape

    def validate(self) -> FaultConfig:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        for name in ("fail_rate", "lost_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if self.fail_code not in STATUS_CODES or self.fail_code == "OK":
            raise ValueError(
                f"fail_code {self.fail_code!r} is not a gRPC status code name (e.g. UNAVAILABLE)"
            )
        if self.fail_shape not in SHAPES:
            raise ValueError(f"fail_shape {self.fail_shape!r} is not one of {', '.join(SHAPES)}")
        if not 0 <= self.retry_delay_s <= 3600:
            raise ValueError(f"retry_delay_s must be between 0 and 3600, got {self.retry_delay_s}")
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def method_matches(patterns: str, method: str) -> bool:
    """Match '/pkg.Service/Method' against comma-separated globs on the full name,
    'Service/Method' or the bare 'Method'."""
    service_method = method.rsplit(".", 1)[-1]  # 'Service/Method'
    short = method.rsplit("/", 1)[-1]
    for pattern in (p.strip() for p in patterns.split(",")):
        if pattern and any(
            fnmatch.fnmatchcase(c, pattern) for c in (method, service_method, short)
        ):
            return True
    return False


@dataclass
class Decision:
    latency: float = 0.0
    fail: grpc.StatusCode | None = None
    lost: grpc.StatusCode | None = None
    shape: str = "plain"
    retry_delay_s: float = 0.0


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.set(config or FaultConfig())
        self.injected = {"fail": 0, "lost": 0}

    def set(self, config: FaultConfig) -> None:
        config.validate()
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self.injected = {"fail": 0, "lost": 0}

    def clear(self) -> None:
        self.set(FaultConfig())

    def decide(self, method: str) -> Decision:
        """What to do to one call. The token endpoint (:data:`TOKEN_ENDPOINT`) is failed only by
        the ``auth-revoked`` shape, which fails no RPC (their latency still applies)."""
        with self._lock:
            cfg = self.config
            token = method == TOKEN_ENDPOINT
            revoked = cfg.fail_shape == "auth-revoked"
            if token and not revoked:
                return Decision()
            if not token and not method_matches(cfg.methods, method):
                return Decision()
            decision = Decision(latency=0.0 if token else cfg.latency_ms / 1000.0)
            decision.shape, decision.retry_delay_s = cfg.fail_shape, cfg.retry_delay_s
            if token != revoked:
                return decision
            if cfg.fail_rate and self._rng.random() < cfg.fail_rate:
                decision.fail = STATUS_CODES[SHAPES[cfg.fail_shape] or cfg.fail_code]
                self.injected["fail"] += 1
            elif cfg.lost_rate and self._rng.random() < cfg.lost_rate:
                decision.lost = STATUS_CODES[cfg.fail_code]
                self.injected["lost"] += 1
            return decision


@dataclass
class Target:
    """What a shaped failure names: the call, its API (Service Usage name and title), the project
    (id and number) and, for a SetIamPolicy, the members of the policy sent."""

    method: str  # /google.cloud.secretmanager.v1.SecretManagerService/ListSecrets
    api: str = ""
    title: str = ""
    project: str = ""
    number: str = ""
    members: tuple[str, ...] = ()


def _pack(*messages: Any) -> list[Any]:
    return list(messages)


def service_disabled(api: str, title: str, number: str) -> EmulatorError:
    """PERMISSION_DENIED as Google answers a call to an API that is not enabled."""
    from google.rpc import error_details_pb2 as ed

    console = f"https://console.developers.google.com/apis/api/{api}/overview?project={number}"
    return EmulatorError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"{title or api} has not been used in project {number} before or it is disabled. Enable "
        f"it by visiting {console} then retry. If you enabled this API recently, wait a few "
        "minutes for the action to propagate to our systems and retry.",
        reason="SERVICE_DISABLED",
        metadata={
            "service": api,
            "consumer": f"projects/{number}",
            "containerInfo": number,
            "serviceTitle": title or api,
            "activationUrl": console,
        },
        details=_pack(
            ed.Help(
                links=[
                    ed.Help.Link(
                        description="Google developers console API activation", url=console
                    )
                ]
            )
        ),
    )


def _billing(t: Target) -> EmulatorError:
    from google.rpc import error_details_pb2 as ed

    url = f"https://console.developers.google.com/billing/enable?project={t.number}"
    return EmulatorError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"This API method requires billing to be enabled. Please enable billing on project "
        f"#{t.number} by visiting {url} then retry. If you enabled billing for this project "
        "recently, wait a few minutes for the action to propagate to our systems and retry.",
        reason="BILLING_DISABLED",
        metadata={"service": t.api, "consumer": f"projects/{t.number}", "containerInfo": t.number},
        details=_pack(
            ed.Help(links=[ed.Help.Link(description="Google developers console billing", url=url)])
        ),
    )


def _quota(t: Target, delay: float) -> EmulatorError:
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2 as ed

    text = (
        f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
        f"'{t.api}' for consumer 'project_number:{t.number}'."
    )
    seconds = int(delay)
    return EmulatorError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        text,
        reason="RATE_LIMIT_EXCEEDED",
        metadata={
            "service": t.api,
            "consumer": f"projects/{t.number}",
            "quota_metric": f"{t.api}/requests",
            "quota_limit": "RequestsPerMinutePerProject",
            "quota_limit_value": "600",
            "quota_location": "global",
        },
        details=_pack(
            ed.QuotaFailure(
                violations=[
                    ed.QuotaFailure.Violation(
                        subject=f"project_number:{t.number}", description=text
                    )
                ]
            ),
            ed.RetryInfo(
                retry_delay=duration_pb2.Duration(
                    seconds=seconds, nanos=round((delay - seconds) * 1e9)
                )
            ),
        ),
    )


def _org_policy(t: Target) -> EmulatorError:
    """Domain restricted sharing: every member of the policy sent that is not one of the
    project's service accounts (or, failing that, every member) violates it."""
    from google.rpc import error_details_pb2 as ed

    outside = [m for m in t.members if not m.endswith(".iam.gserviceaccount.com")]
    violations = [
        ed.PreconditionFailure.Violation(
            type="constraints/iam.allowedPolicyMemberDomains",
            subject=f"orgpolicy:projects/{t.project}?configvalue={m.split(':', 1)[-1]}",
            description=f"User {m.split(':', 1)[-1]} is not in permitted organization.",
        )
        for m in (outside or list(t.members) or [f"user:someone@{t.project}.example"])
    ]
    return EmulatorError(
        grpc.StatusCode.FAILED_PRECONDITION,
        "One or more users named in the policy do not belong to a permitted customer, perhaps "
        "due to an organization policy.",
        details=_pack(ed.PreconditionFailure(violations=violations)),
    )


def _auth_expired(t: Target) -> EmulatorError:
    return EmulatorError(
        grpc.StatusCode.UNAUTHENTICATED,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        reason="ACCESS_TOKEN_EXPIRED",
        metadata={"service": t.api, "method": t.method.strip("/").replace("/", ".")},
    )


def injected_error(decision: Decision, target: Target) -> EmulatorError:
    """The error an injected failure answers, in the decision's shape."""
    shape = decision.shape
    if shape == "service-disabled":
        return service_disabled(target.api, target.title, target.number)
    if shape == "billing":
        return _billing(target)
    if shape == "quota":
        return _quota(target, decision.retry_delay_s)
    if shape == "org-policy":
        return _org_policy(target)
    if shape == "auth-expired":
        return _auth_expired(target)
    assert decision.fail is not None
    return EmulatorError(decision.fail, "The service is currently unavailable (injected fault).")


@dataclass
class Call:
    method: str
    code: str
    ms: float
    mutating: bool
    start: float
    end: float
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "code": self.code,
            "ms": round(self.ms, 3),
            "mutating": self.mutating,
            "start": self.start,
            "end": self.end,
        }
        if self.fault:
            out["fault"] = self.fault
        return out


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    limit: int = 100_000

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
            if len(self.calls) > self.limit:
                del self.calls[: len(self.calls) - self.limit]

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
