"""Client for a running emulator's control plane (faults, call log, reset), JSON over gRPC.

Used by ``thothctl emulator faults|calls|reset-calls``, by tests and by benchmarks.
"""

from __future__ import annotations

import json
from typing import Any

from thothctl.errors import OperationError, UsageError

CONTROL_METHOD = "/thothctl.emulator.v1.Control/Call"


class ControlClient:
    def __init__(self, host: str, timeout: float = 10.0):
        if not host:
            raise UsageError(
                "THOTHCTL_EMULATOR_HOST is not set",
                hint="start one with `thothctl emulator serve` and export the address it prints",
            )
        import grpc

        self.host = host
        self.timeout = timeout
        self._channel = grpc.insecure_channel(host)
        self._call = self._channel.unary_unary(CONTROL_METHOD)

    def call(self, op: str, **args: Any) -> Any:
        import grpc

        try:
            raw = self._call(json.dumps({"op": op, "args": args}).encode(), timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise UsageError(f"emulator refused {op}: {exc.details()}") from None
            raise OperationError(
                f"cannot reach the emulator at {self.host} ({exc.code().name})",
                hint="is `thothctl emulator serve` running, and THOTHCTL_EMULATOR_HOST right?",
            ) from None
        return json.loads(raw)["result"]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
