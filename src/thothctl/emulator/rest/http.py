"""The emulator's HTTP/1.1 listener: Google's REST surface beside the gRPC one.

Every request is matched against the route table (:mod:`routes`), transcoded into the RPC's
request (:mod:`transcode`) and handed to the same dispatcher behaviour the gRPC server uses, so
faults, latency, the checks and the call log apply to both transports in one place. The
dispatcher reports an error by aborting the call's context; :class:`RestContext` turns that abort
into the status, which is answered as Google's JSON error.

The listener also:

- accepts absolute-form request targets (``GET http://us-central1-run.googleapis.com/...``), so it
  can stand as gcloud's HTTP proxy: gcloud's ``run`` commands derive regional host names
  (``REGION-HOST``) from the endpoint override, which only a proxy can answer for a loopback
  address. ``CONNECT`` (an HTTPS tunnel to anywhere) is refused, so nothing reaches Google.
- passes an HTTP/2 connection (a gRPC client, prior knowledge) through to the gRPC port, so one
  address serves both transports (thothctl's IAM and Logging clients have no REST transport).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from google.rpc import status_pb2

# absolute module imports: `from thothctl.emulator.rest import x` would import this package again
import thothctl.emulator.rest.knative as knative
import thothctl.emulator.rest.routes as routing
import thothctl.emulator.rest.transcode as transcode
from thothctl.emulator.base import EmulatorError

if TYPE_CHECKING:
    from thothctl.emulator.server import Emulator

log = logging.getLogger("thothctl.emulator.rest")
H2_PREFACE = b"PRI * HTTP/2.0"
MAX_BODY = 64 * 1024 * 1024


class _AbortError(Exception):
    """The dispatcher aborted the call (the name the dispatcher lets through untouched)."""

    def __init__(self, status: status_pb2.Status):
        super().__init__(status.message)
        self.status = status


class RestContext:
    """The part of a gRPC servicer context the dispatcher and the handlers use."""

    def __init__(self, http: Request):
        self.http = http

    def abort_with_status(self, status: Any) -> None:
        for key, value in status.trailing_metadata or ():
            if key == "grpc-status-details-bin":
                raise _AbortError(status_pb2.Status.FromString(value))
        raise _AbortError(status_pb2.Status(code=status.code.value[0], message=status.details))

    def abort(self, code: Any, details: str) -> None:
        raise _AbortError(status_pb2.Status(code=code.value[0], message=details))

    def is_active(self) -> bool:
        return True

    def invocation_metadata(self) -> tuple:
        return ()

    def set_code(self, code: Any) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass


class Request:
    """One HTTP request as the routes see it."""

    def __init__(self, method: str, target: str, headers: Any, body: bytes):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path or "/"
        self.host = parts.netloc or headers.get("Host", "")
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body


class Router:
    def __init__(self, emu: Emulator):
        self.routes = sorted(routing.build(emu) + knative.routes(emu), key=lambda r: r.rank)
        self.served: Counter[str] = Counter()  # RPC method -> requests answered over REST
        self._count_lock = threading.Lock()
        self.by_method: dict[str, list[routing.Route]] = {}
        for route in self.routes:
            self.by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> tuple[routing.Route, dict[str, str]] | None:
        for route in self.by_method.get(method, ()):
            m = route.regex.match(path)
            if m:
                return route, {f: m.group(f"v{i}") for i, f in enumerate(route.fields)}
        return None

    def serve(self, req: Request) -> tuple[int, dict[str, Any]]:
        found = self.match(req.method, req.path)
        if found is None:
            return transcode.error_json(
                status_pb2.Status(
                    code=5, message=f"The requested URL {req.path} was not found on this server."
                )
            )
        route, path_vars = found
        with self._count_lock:
            self.served[f"/{route.service.service_name}/{route.spec.name}"] += 1
        context = RestContext(req)
        try:
            if route.adapt is not None:
                request = route.adapt(path_vars, req)
            else:
                request = transcode.build_request(
                    route.spec.request, route.body, path_vars, req.query, req.body
                )
            response = route.call(request, context)
        except _AbortError as exc:
            return transcode.error_json(exc.status)
        except EmulatorError as err:  # bad input, before the dispatcher saw it
            route_method = f"/{route.service.service_name}/{route.spec.name}"
            _record_rejected(route, route_method, err)
            return transcode.error_json(transcode.error_status(err))
        if route.render is not None:
            return 200, route.render(response, req)
        return 200, transcode.to_json(response, int_enums=transcode.int_enums(req.query))


def _record_rejected(route: routing.Route, method: str, err: Any) -> None:
    from thothctl.emulator.faults import Call

    now = time.time()
    route.service.emu.calls.record(
        Call(method, err.code.name, 0.0, route.spec.mutating, now, now, None)
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "thothctl-emulator"
    server: _Server
    # headers and body leave in one write (flushed after each request), and without Nagle's
    # delay: a separate small body segment would wait for the client's delayed ACK (~40 ms)
    wbufsize = 1 << 16

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            head = self.rfile.peek(len(H2_PREFACE))
        except (OSError, ValueError):
            return
        if head.startswith(H2_PREFACE[:4]):
            self._tunnel_to_grpc()
            return
        super().handle()

    def _tunnel_to_grpc(self) -> None:
        emu = self.server.emu
        try:
            upstream = socket.create_connection((emu.host, emu.port), timeout=5)
        except OSError:
            return
        upstream.settimeout(None)
        self.connection.settimeout(None)
        pending = self.rfile.peek(65536)
        upstream.sendall(self.rfile.read(len(pending)))
        pump = threading.Thread(target=_pump, args=(upstream, self.connection), daemon=True)
        pump.start()
        _pump(self.connection, upstream)
        pump.join(5)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"error": {"code": 413, "message": "Request too large."}})
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, self.headers, body)
        try:
            status, payload = self.server.router.serve(req)
        except Exception:  # a bug: answer INTERNAL like the gRPC side, keep serving
            log.exception("REST %s %s failed", self.command, self.path)
            status, payload = transcode.error_json(
                status_pb2.Status(code=13, message="emulator error serving the REST request")
            )
        self._answer(status, payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def do_CONNECT(self) -> None:
        self._answer(
            403,
            {
                "error": {
                    "code": 403,
                    "message": "The thothctl emulator does not tunnel HTTPS: only plain-http "
                    "requests to the emulated APIs are served, nothing reaches Google.",
                    "status": "PERMISSION_DENIED",
                }
            },
        )
        self.close_connection = True

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, indent=2).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("REST " + format, *args)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emu: Emulator):
        if ":" in address[0]:  # an IPv6 literal such as ::1
            self.address_family = socket.AF_INET6
        self.emu = emu
        self.router = Router(emu)
        super().__init__(address, _Handler)


class RestServer:
    """The HTTP listener of one emulator: ``start(host, port)`` returns the bound port."""

    def __init__(self, emu: Emulator):
        self.emu = emu
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        self._server = _Server((host, port), self.emu)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": None},  # no wake-ups while idle: stop() pokes it
            name="emulator-rest",
            daemon=True,
        )
        self._thread.start()
        return self._server.server_address[1]

    def requests(self) -> dict[str, int]:
        """How many requests each RPC answered over REST (the control op ``rest_requests``)."""
        if self._server is None:
            return {}
        with self._server.router._count_lock:
            return dict(self._server.router.served)

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            stopping = threading.Thread(target=server.shutdown, daemon=True)
            stopping.start()
            while stopping.is_alive():  # wake the accept loop so it sees the request to stop
                try:
                    socket.create_connection(server.server_address[:2], timeout=1).close()
                except OSError:
                    pass
                stopping.join(0.05)
            server.server_close()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
