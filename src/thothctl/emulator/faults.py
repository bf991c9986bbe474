"""Fault injection and the call log, keyed on the full gRPC method name.

Faults: a fixed latency per call, an error rate with a chosen status code (the call is not
applied), and a "lost response" rate (the call IS applied, then the client gets an error), each
limited to the methods matching a glob, drawn from a seeded random generator.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc

STATUS_CODES = {c.name: c for c in grpc.StatusCode}


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    fail_code: str = "UNAVAILABLE"
    lost_rate: float = 0.0
    methods: str = "*"
    seed: int | None = None

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
        with self._lock:
            cfg = self.config
            if not method_matches(cfg.methods, method):
                return Decision()
            decision = Decision(latency=cfg.latency_ms / 1000.0)
            if cfg.fail_rate and self._rng.random() < cfg.fail_rate:
                decision.fail = STATUS_CODES[cfg.fail_code]
                self.injected["fail"] += 1
            elif cfg.lost_rate and self._rng.random() < cfg.lost_rate:
                decision.lost = STATUS_CODES[cfg.fail_code]
                self.injected["lost"] += 1
            return decision


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
