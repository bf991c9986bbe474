"""Client for a running emulator's control plane (faults, call log, reset), JSON over gRPC.

Used by ``thothctl emulator faults|calls|reset-calls|stub``, by tests and by benchmarks. It raises
:class:`ControlError` (the emulator imports nothing from the CLI or the library; the CLI turns
this error into its own).
"""

from __future__ import annotations

import json
from typing import Any

CONTROL_METHOD = "/thothctl.emulator.v1.Control/Call"


class ControlError(Exception):
    """The control plane could not do what was asked.

    ``usage`` is true when the caller is at fault (no emulator address, or the emulator refused
    the operation or its arguments) and false when the emulator could not be reached."""

    def __init__(self, message: str, *, hint: str | None = None, usage: bool = False):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.usage = usage


class ControlClient:
    def __init__(self, host: str, timeout: float = 10.0):
        if not host:
            raise ControlError(
                "THOTHCTL_EMULATOR_HOST is not set",
                hint="steer your local emulator with `thothctl --emulator emulator …`, or start "
                "one with `thothctl emulator serve` and export the address it prints",
                usage=True,
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
                raise ControlError(f"emulator refused {op}: {exc.details()}", usage=True) from None
            raise ControlError(
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


def shutdown(host: str, timeout: float = 10.0) -> dict[str, Any]:
    """Ask the emulator at ``host`` to stop, and wait until it no longer answers."""
    import time

    with ControlClient(host) as client:
        answer = client.call("shutdown")
        client.timeout = 1.0
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                client.call("info")
            except ControlError:
                return answer
            time.sleep(0.05)
    raise ControlError(f"the emulator at {host} did not stop within {timeout:.0f} s")


def call(host: str, op: str, **args: Any) -> Any:
    """One control operation on the emulator at ``host`` (opens and closes a channel)."""
    with ControlClient(host) as client:
        return client.call(op, **args)
