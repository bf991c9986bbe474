"""The emulator core: one gRPC server, one state store, one call log, one fault injector.

Every RPC, unary or streaming, goes through :class:`Dispatcher`, which (like a server interceptor
keyed on the method name) applies faults and latency, records the call, holds the store lock
around the handler (around the checks, for a stream), checks that the project exists, that the API
is enabled and that the permission is not denied, and turns ``EmulatorError`` into a real gRPC
status with ``google.rpc.ErrorInfo`` details. See docs/emulator.md, "Layout".
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc

from thothctl.emulator import base, serving
from thothctl.emulator.base import EmulatedService, EmulatorError, RpcSpec
from thothctl.emulator.faults import (
    Call,
    CallLog,
    Decision,
    FaultConfig,
    FaultInjector,
    Target,
    injected_error,
    method_matches,
    service_disabled,
)
from thothctl.emulator.store import Store

log = logging.getLogger("thothctl.emulator")

SERVICE_MODULES = (
    "operations",
    "serviceusage",
    "secretmanager.service",
    "iam",
    "run",
    "scheduler.service",
    "logging.service",
    "gitlab",
    "oauth",
)
CONTROL_SERVICE = "thothctl.emulator.v1.Control"
DEFAULT_PROJECTS = ("thoth-local",)


def service_classes() -> list[type[EmulatedService]]:
    classes: list[type[EmulatedService]] = []
    for name in SERVICE_MODULES:
        module = importlib.import_module(f"thothctl.emulator.{name}")
        classes.extend(getattr(module, "SERVICES", []))
    return classes


def _project_tokens(message: Any) -> Iterable[str]:
    """Resource-name project tokens in a request: its name-like fields, and any string one
    message down (``job.name``)."""
    for field, value, depth in base.string_fields(message):
        m = base.PROJECT_IN_NAME.search(value)
        if m and (depth or field in base.NAME_FIELDS):
            yield m.group(1)


class Dispatcher:
    def __init__(self, emulator: Emulator):
        self.emu = emulator

    def _status(self, err: EmulatorError):
        from google.protobuf import any_pb2
        from google.rpc import error_details_pb2, status_pb2
        from grpc_status import rpc_status

        status = status_pb2.Status(code=err.code.value[0], message=err.message)
        if err.reason:
            info = error_details_pb2.ErrorInfo(
                reason=err.reason, domain=err.domain, metadata=err.metadata
            )
            detail = any_pb2.Any()
            detail.Pack(info)
            status.details.append(detail)
        for extra in getattr(err, "details", ()):
            detail = any_pb2.Any()
            detail.Pack(extra)
            status.details.append(detail)
        return rpc_status.to_status(status)

    def check(self, svc: EmulatedService, spec: RpcSpec, request: Any) -> None:
        base.refuse_control_characters(request)  # a name with a "\n" is INVALID_ARGUMENT
        emu = self.emu
        project = None
        for token in _project_tokens(request):
            if token == "-":
                continue
            project = emu.resolve_project(token)
            break
        if project and spec.check_api and svc.api and not emu.api_enabled(project["id"], svc.api):
            raise service_disabled(svc.api, svc.api_title, project["number"])
        if spec.permission and emu.permission_denied(spec.permission):
            resource = next(iter(_resource_names(request)), "")
            raise base.permission_denied(
                f"Permission '{spec.permission}' denied on resource '{resource}' (or it may not "
                "exist).",
                reason="IAM_PERMISSION_DENIED",
                domain="iam.googleapis.com",
                metadata={"permission": spec.permission, "resource": resource},
            )

    # --- the one path every call takes: faults, latency, checks, the call log ------------------
    @contextlib.contextmanager
    def _served(self, method: str, spec: RpcSpec, context: Any) -> Iterator[dict[str, Any]]:
        """Time the call, turn errors into statuses and record it in the call log."""
        outcome: dict[str, Any] = {"code": "OK", "fault": None}
        start = time.time()
        try:
            with self.emu.activity.call(stream=spec.stream is not None):
                yield outcome
        except serving.TooManyStreams as exc:
            outcome["code"] = "RESOURCE_EXHAUSTED"
            context.abort_with_status(self._status(serving.stream_error(exc)))
        except EmulatorError as err:
            outcome["code"] = err.code.name
            context.abort_with_status(self._status(err))
        except Exception as exc:
            if isinstance(exc, grpc.RpcError) or type(exc).__name__ == "_AbortError":
                raise
            outcome["code"] = "INTERNAL"
            log.error("handler %s failed:\n%s", method, traceback.format_exc())
            context.abort(grpc.StatusCode.INTERNAL, f"emulator error in {spec.name}: {exc}")
        finally:
            self._record(method, outcome, spec.mutating, start)

    def _record(self, method: str, outcome: dict[str, Any], mutating: bool, start: float) -> None:
        """The call log's entry for one call, gRPC or HTTP, as it ended."""
        end = time.time()
        self.emu.calls.record(
            Call(
                method,
                outcome["code"],
                (end - start) * 1000,
                mutating,
                start,
                end,
                outcome["fault"],
            )
        )

    def _inject(
        self, method: str, outcome: dict[str, Any], svc: EmulatedService, request: Any
    ) -> Decision:
        """Apply the configured latency and failure (in its shape: faults.injected_error); the
        caller applies a lost response."""
        decision = self.emu.faults.decide(method)
        if decision.latency:
            time.sleep(decision.latency)
        if decision.fail:
            outcome["fault"] = "fail"
            raise injected_error(decision, self._target(method, svc, request))
        return decision

    def _target(self, method: str, svc: EmulatedService, request: Any) -> Target:
        """What a shaped failure names: the API, the request's project, a policy's members."""
        target = Target(method, api=svc.api or "", title=svc.api_title or svc.api or "")
        token = next((t for t in _project_tokens(request) if t != "-"), None)
        if token:
            try:
                project = self.emu.resolve_project(token)
                target.project, target.number = project["id"], str(project["number"])
            except EmulatorError:
                target.project = target.number = token
        bindings = getattr(getattr(request, "policy", None), "bindings", None) or ()
        target.members = tuple(m for b in bindings for m in b.members)
        return target

    def unary(self, svc: EmulatedService, spec: RpcSpec) -> Callable[[Any, Any], Any]:
        method = f"/{svc.service_name}/{spec.name}"
        emu = self.emu

        def behavior(request, context):
            with self._served(method, spec, context) as outcome:
                decision = self._inject(method, outcome, svc, request)
                with emu.store.lock:
                    self.check(svc, spec, request)
                    response = spec.func(request, context)
                    if spec.mutating:
                        emu.store.touch()
                if decision.lost:
                    outcome["fault"] = "lost"
                    raise EmulatorError(decision.lost, "The response was lost (injected fault).")
                return response

        return behavior

    def streaming(self, svc: EmulatedService, spec: RpcSpec) -> Callable[[Any, Any], Any]:
        """A streaming call: faults and latency when it opens, the checks on its first request
        (for a client stream, the handler gets that request again as the first of its iterator),
        one call-log record when it ends."""
        method = f"/{svc.service_name}/{spec.name}"
        emu = self.emu

        def behavior(request_or_iterator, context):
            with self._served(method, spec, context) as outcome:
                request = first = request_or_iterator
                if spec.stream == "stream_stream":
                    iterator = iter(request_or_iterator)
                    first = next(iterator, None)
                    if first is None:
                        return
                    request = itertools.chain([first], iterator)
                self._inject(method, outcome, svc, first)
                with emu.store.lock:
                    self.check(svc, spec, first)
                yield from spec.func(request, context)

        return behavior

    def http(
        self, method: str, mutating: bool, handle: Callable[[], tuple[int, Any]]
    ) -> tuple[int, Any]:
        """An HTTP stub request (the GitLab stub, ``method`` like ``gitlab:GET /api/v4/...``):
        the same latency, failures, lost responses and call log as an RPC. A fault answers the
        HTTP status of its gRPC code; the log records the gRPC code of the HTTP status."""
        outcome: dict[str, Any] = {"code": "OK", "fault": None}
        start = time.time()
        self.emu.activity.touch()  # a call, for the daemon's idle timeout
        try:
            decision = self.emu.faults.decide(method)
            if decision.latency:
                time.sleep(decision.latency)
            if decision.fail:
                outcome["fault"] = "fail"
                status, payload = _http_fault(decision.fail)
            else:
                with self.emu.store.lock:
                    status, payload = handle()
                if decision.lost:
                    outcome["fault"] = "lost"
                    status, payload = _http_fault(decision.lost)
        except Exception:
            log.error("HTTP stub %s failed:\n%s", method, traceback.format_exc())
            status, payload = 500, {"message": "500 Internal Server Error"}
        try:
            outcome["code"] = HTTP_CODES.get(status, "OK" if status < 400 else "UNKNOWN")
            return status, payload
        finally:
            self._record(method, outcome, mutating, start)


# HTTP status -> the gRPC code name the call log records (and back, for injected faults).
HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _http_fault(code: grpc.StatusCode) -> tuple[int, Any]:
    status = next((s for s, name in HTTP_CODES.items() if name == code.name), 500)
    return status, {"message": f"{status} {code.name} (injected fault)"}


def _resource_names(request: Any) -> Iterable[str]:
    pb = request if not hasattr(type(request), "pb") else type(request).pb(request)
    for key in ("name", "parent", "resource"):
        val = getattr(pb, key, None)
        if isinstance(val, str) and val:
            yield val


class Emulator:
    """The whole emulator. ``start()`` serves it; tests may use the objects directly."""

    def __init__(
        self,
        *,
        data_file: str | os.PathLike[str] | None = None,
        seed: bool = True,
        projects: Iterable[str] = DEFAULT_PROJECTS,
        operation_ms: float = 500.0,
        faults: FaultConfig | None = None,
        stub_host: str = "127.0.0.1",
    ):
        self.store = Store(data_file)
        self.calls = CallLog()
        self.faults = FaultInjector(faults)
        self.operation_ms = operation_ms
        self.seed_enabled = seed
        self.project_ids = tuple(projects)
        self.stub_host = stub_host
        self.denied: set[str] = set()
        self.host = "127.0.0.1"
        self.port = 0
        self.activity = serving.Activity()
        self.started_at: float | None = None
        self.shutdown_requested = threading.Event()
        self._server: grpc.Server | None = None
        self._rest = None  # rest.RestServer: Google's HTTP/JSON surface beside gRPC
        self.rest_port: int | None = None
        self._lock = threading.RLock()
        self.services: list[EmulatedService] = []
        for cls in service_classes():
            self.services.append(cls(self))
            for stored in cls.stored_types:
                self.store.types.register(stored)
        self.dispatcher = Dispatcher(self)
        if not self.store.load():
            self.seed()

    # --- projects, APIs, permissions -----------------------------------------------------
    def seed(self) -> None:
        with self.store.lock:
            projects = self.store.table("projects")
            for pid in self.project_ids:
                projects[pid] = {"id": pid, "number": base.project_number_for(pid)}
            if self.seed_enabled:
                for pid in self.project_ids:
                    for svc in self.services:
                        svc.seed(projects[pid])
            self.store.touch()

    def reset(self, seed: bool | None = None) -> None:
        with self.store.lock:
            self.store.clear()
            if seed is not None:
                self.seed_enabled = seed
            self.seed()
        self.calls.reset()
        self.faults.clear()
        self.denied.clear()
        for svc in self.services:
            svc.on_reset()

    def resolve_project(self, token: str) -> dict[str, Any]:
        projects = self.store.table("projects")
        if token in projects:
            return projects[token]
        for project in projects.values():
            if project["number"] == token:
                return project
        raise base.not_found(f"Project '{token}' not found.")

    def api_enabled(self, project_id: str, api: str) -> bool:
        return api in self.store.table("serviceusage.enabled").get(project_id, ())

    def permission_denied(self, permission: str) -> bool:
        return any(method_matches(p, permission) or p == permission for p in self.denied)

    def service(self, name: str) -> EmulatedService | None:
        for svc in self.services:
            if svc.service_name == name or type(svc).__name__ == name:
                return svc
        return None

    def write_log(self, **entry: Any) -> None:
        """Write a log entry into the emulated Cloud Logging (no-op if it is absent).

        Keyword arguments: project_id, log_id, resource_type, resource_labels, severity,
        json_payload, text_payload, http_request, labels, timestamp."""
        svc = self.service("google.logging.v2.LoggingServiceV2")
        if svc is not None and hasattr(svc, "append"):
            svc.append(**entry)

    # --- control plane -------------------------------------------------------------------
    def control_ops(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            "info": lambda a: self.info(),
            "calls": lambda a: [c.to_json() for c in self.calls.snapshot()],
            "reset_calls": lambda a: self.calls.reset(),
            "faults_get": lambda a: {
                **self.faults.config.to_json(),
                "injected": dict(self.faults.injected),
            },
            "faults_set": self._faults_set,
            "faults_clear": lambda a: self.faults.clear(),
            "reset": lambda a: self.reset(a.get("seed")),
            "deny": lambda a: self.denied.update(a.get("permissions", [])),
            "allow": lambda a: (
                self.denied.clear()
                if not a.get("permissions")
                else self.denied.difference_update(a["permissions"])
            ),
            "save": lambda a: self.store.flush(),
            "rest_requests": lambda a: self._rest.requests() if self._rest is not None else {},
            "status": lambda a: self.status(),
            "shutdown": lambda a: self._shutdown_soon(),
        }
        for svc in self.services:
            ops.update(svc.control_ops())
        return ops

    def _faults_set(self, args: dict[str, Any]) -> dict[str, Any]:
        cfg = FaultConfig(**{k: v for k, v in args.items() if v is not None})
        self.faults.set(cfg)
        return cfg.to_json()

    def status(self) -> dict[str, Any]:
        """What `thothctl emulator status` shows: where it listens, its state file, how long it
        has served, the jobs its scheduler will fire and when the next one fires."""
        from thothctl import __version__

        status: dict[str, Any] = {
            "address": self.address,
            "rest_address": self.rest_address,
            "pid": os.getpid(),
            "version": __version__,
            "data_file": str(self.store.path) if self.store.path else None,
            "uptime_s": round(time.time() - self.started_at, 1) if self.started_at else 0.0,
            "idle_s": round(self.activity.idle_for(), 1),
            "streams": self.activity.streams,  # open streams: `logs -f` followers
            "jobs_scheduled": 0,
            "next_fire": None,
            "next_job": None,
        }
        for svc in self.services:
            summary = getattr(getattr(svc, "executor", None), "schedule_summary", None)
            if callable(summary):
                status.update(summary())
        return status

    def _shutdown_soon(self) -> dict[str, Any]:
        """Answer the caller first, then stop serving (``serve`` and the daemon wait on it)."""
        threading.Timer(0.05, self.shutdown_requested.set).start()
        return {"stopping": True, "pid": os.getpid(), "address": self.address}

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "projects": sorted(self.store.table("projects")),
            "data_file": str(self.store.path) if self.store.path else None,
            "operation_ms": self.operation_ms,
            "rest_address": self.rest_address,
        }
        for svc in self.services:
            extra = getattr(svc, "info", None)
            if callable(extra):
                info.update(extra())
        return info

    def _control_handler(self):
        ops = self.control_ops()

        def call(request: bytes, context):
            with self.activity.call():
                return handle(request, context)

        def handle(request: bytes, context):
            try:
                payload = json.loads(request or b"{}")
                op = payload.get("op")
                if op not in ops:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown control op {op!r}")
                result = ops[op](payload.get("args") or {})
                return json.dumps({"result": result}, default=str).encode()
            except (ValueError, TypeError, KeyError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

        return grpc.method_handlers_generic_handler(
            CONTROL_SERVICE,
            {
                "Call": grpc.unary_unary_rpc_method_handler(
                    call, request_deserializer=None, response_serializer=None
                )
            },
        )

    # --- serving -------------------------------------------------------------------------
    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Every service's RPCs (through the dispatcher) and the control plane, for gRPC."""
        return [*serving.service_handlers(self.services, self.dispatcher), self._control_handler()]

    def start(self, host: str = "127.0.0.1", port: int = 0, rest_port: int | None = 0) -> int:
        """Serve gRPC on ``port`` and, unless ``rest_port`` is None, REST (HTTP/JSON) on
        ``rest_port`` (0: any free port; see ``rest_address``). Returns the gRPC port."""
        with self._lock:
            if self._server is not None:
                return self.port
            server = serving.new_server()
            for handler in self.handlers():
                server.add_generic_rpc_handlers((handler,))
            bound = serving.listen(server, host, port)
            server.start()
            self._server = server
            self.host, self.port = host, bound
            self.started_at = time.time()
            self.shutdown_requested.clear()
            if rest_port is not None:
                from thothctl.emulator.rest import RestServer

                self._rest = RestServer(self)
                self.rest_port = self._rest.start(host, rest_port)
            for svc in self.services:
                svc.on_start()
            return bound

    def stop(self, grace: float = 0.5) -> None:
        with self._lock:
            for svc in self.services:
                try:
                    svc.on_stop()
                except Exception:
                    log.exception("stopping %s", svc.service_name)
            if self._server is not None:
                self._server.stop(grace).wait(grace + 1)
                self._server = None
            if self._rest is not None:
                self._rest.stop()
                self._rest, self.rest_port = None, None
            self.store.stop()

    def wait(self) -> None:
        if self._server is not None:
            self._server.wait_for_termination()

    def serve_until_interrupted(self) -> None:
        """Serve until Ctrl-C, SIGTERM or the control op ``shutdown``, then stop (``thothctl
        emulator serve``)."""
        import signal

        signal.signal(signal.SIGTERM, lambda *a: self.shutdown_requested.set())
        try:
            while not self.shutdown_requested.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def address(self) -> str:
        """Where a local client reaches it (a wildcard host is reached on 127.0.0.1)."""
        return serving.client_address(self.host, self.port)

    @property
    def rest_address(self) -> str | None:
        """host:port of the REST (HTTP/JSON) listener, or None when it is off."""
        return serving.client_address(self.host, self.rest_port) if self.rest_port else None
