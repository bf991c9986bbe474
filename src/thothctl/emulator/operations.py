"""google.longrunning.Operations: long-running operations shared by Service Usage and Cloud Run.

A service starts an operation with :meth:`OperationsService.begin`, naming an *effect* (a function
registered by kind) that runs when the operation completes after ``operation_ms``. Effects are
recorded declaratively (kind + JSON args), so operations pending when a persisted emulator stopped
are completed when it starts again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2

from thothctl.emulator import base
from thothctl.emulator.base import EmulatedService, EmulatorError, rpc

TABLE = "operations"
Effect = Callable[[dict[str, Any]], tuple[Any, Any]]


def pack(message: Any) -> any_pb2.Any:
    raw = type(message).pb(message) if hasattr(type(message), "pb") else message
    out = any_pb2.Any()
    out.Pack(raw)
    return out


class OperationsService(EmulatedService):
    service_name = "google.longrunning.Operations"
    stored_types = (operations_pb2.Operation,)

    def __init__(self, emulator):
        super().__init__(emulator)
        self.effects: dict[str, Effect] = {}
        self._timers: dict[str, threading.Timer] = {}

    def register_effect(self, kind: str, effect: Effect) -> None:
        self.effects[kind] = effect

    def begin(
        self,
        name: str,
        kind: str,
        args: dict[str, Any],
        *,
        metadata: Any = None,
        duration_s: float | None = None,
    ) -> operations_pb2.Operation:
        """Start an operation (call with the store lock held). Returns the Operation to answer."""
        duration = self.emu.operation_ms / 1000.0 if duration_s is None else duration_s
        op = operations_pb2.Operation(name=name, done=False)
        if metadata is not None:
            op.metadata.CopyFrom(pack(metadata))
        self.store.table(TABLE)[name] = {
            "op": op,
            "kind": kind,
            "args": args,
            "done_at": time.time() + duration,
        }
        if duration <= 0:
            self.complete(name)
        else:
            self._schedule(name, duration)
        return operations_pb2.Operation.FromString(
            self.store.table(TABLE)[name]["op"].SerializeToString()
        )

    def _schedule(self, name: str, delay: float) -> None:
        timer = threading.Timer(max(0.0, delay), self.complete, args=(name,))
        timer.daemon = True
        self._timers[name] = timer
        timer.start()

    def complete(self, name: str) -> None:
        with self.store.lock:
            rec = self.store.table(TABLE).get(name)
            self._timers.pop(name, None)
            if rec is None or rec["op"].done:
                return
            op = rec["op"]
            try:
                response, metadata = self.effects[rec["kind"]](rec["args"])
                if response is not None:
                    op.response.CopyFrom(pack(response))
                if metadata is not None:
                    op.metadata.CopyFrom(pack(metadata))
            except EmulatorError as err:
                op.error.CopyFrom(status_pb2.Status(code=err.code.value[0], message=err.message))
            op.done = True
            self.store.touch()

    def on_start(self) -> None:
        now = time.time()
        for name, rec in list(self.store.table(TABLE).items()):
            if not rec["op"].done and name not in self._timers:
                self._schedule(name, rec["done_at"] - now)

    def on_stop(self) -> None:
        for timer in list(self._timers.values()):
            timer.cancel()
        self._timers.clear()

    def _get(self, name: str) -> operations_pb2.Operation:
        if name.endswith("noop.DONE_OPERATION"):
            raise base.invalid(f"Operation {name} is a synthetic, already-done operation.")
        rec = self.store.table(TABLE).get(name)
        if rec is None:
            raise base.not_found(f"Operation {name} not found.")
        if not rec["op"].done and time.time() >= rec["done_at"]:
            self.complete(name)
        return rec["op"]

    @rpc("GetOperation", operations_pb2.GetOperationRequest, operations_pb2.Operation)
    def get_operation(self, request, context):
        return self._get(request.name)

    @rpc(
        "ListOperations",
        operations_pb2.ListOperationsRequest,
        operations_pb2.ListOperationsResponse,
    )
    def list_operations(self, request, context):
        ops = [
            r["op"]
            for n, r in sorted(self.store.table(TABLE).items())
            if n.startswith(request.name)
        ]
        page, token = base.paginate(ops, request, default=50, maximum=500)
        return operations_pb2.ListOperationsResponse(operations=page, next_page_token=token)

    @rpc("DeleteOperation", operations_pb2.DeleteOperationRequest, empty_pb2.Empty, mutating=True)
    def delete_operation(self, request, context):
        self._get(request.name)
        del self.store.table(TABLE)[request.name]
        return empty_pb2.Empty()

    @rpc("CancelOperation", operations_pb2.CancelOperationRequest, empty_pb2.Empty, mutating=True)
    def cancel_operation(self, request, context):
        op = self._get(request.name)
        if not op.done:
            raise base.failed_precondition("This operation cannot be cancelled.")
        return empty_pb2.Empty()

    @rpc("WaitOperation", operations_pb2.WaitOperationRequest, operations_pb2.Operation)
    def wait_operation(self, request, context):
        return self._get(request.name)


SERVICES = [OperationsService]


def operations(emu) -> OperationsService:
    svc = emu.service(OperationsService.service_name)
    assert isinstance(svc, OperationsService)
    return svc
