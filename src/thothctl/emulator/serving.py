"""How the emulator serves: its gRPC server (a thread for every open stream, so streams never
starve unary calls), listening on every address a host name stands for, and the activity the
daemon's idle timeout reads."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc

# A stream (TailLogEntries: `thothctl logs -f`) holds a server thread while it is open; unary
# calls get UNARY_WORKERS threads of their own on top, so open streams never starve them.
MAX_STREAMS = 500
UNARY_WORKERS = 32
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
WILDCARDS = ("", "0.0.0.0", "::", "[::]")


class TooManyStreams(Exception):
    """More than MAX_STREAMS streams are open."""


class Activity:
    """The calls in flight and when the last one ended (``idle_for``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.streams = 0
        self._last = time.monotonic()

    @contextlib.contextmanager
    def call(self, stream: bool = False) -> Iterator[None]:
        with self._lock:
            if stream and self.streams >= MAX_STREAMS:
                raise TooManyStreams(f"{MAX_STREAMS} streams are already open")
            self.in_flight += 1
            self.streams += stream
            self._last = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1
                self.streams -= stream
                self._last = time.monotonic()

    def touch(self) -> None:
        """Count now as activity (the daemon does when it starts serving)."""
        with self._lock:
            self._last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last call ended; 0 while one is in flight."""
        with self._lock:
            return 0.0 if self.in_flight else time.monotonic() - self._last


def _serializer(cls: Any) -> Callable[[Any], bytes]:
    if hasattr(cls, "serialize"):
        return lambda msg: (
            msg.SerializeToString() if hasattr(msg, "SerializeToString") else cls.serialize(msg)
        )
    return lambda msg: msg.SerializeToString()


def _deserializer(cls: Any) -> Callable[[bytes], Any]:
    return cls.deserialize if hasattr(cls, "deserialize") else cls.FromString


_KINDS = {
    None: (grpc.unary_unary_rpc_method_handler, "unary"),
    "unary_stream": (grpc.unary_stream_rpc_method_handler, "streaming"),
    "stream_stream": (grpc.stream_stream_rpc_method_handler, "streaming"),
}


def service_handlers(services: Iterable[Any], dispatcher: Any) -> list[grpc.GenericRpcHandler]:
    """One generic gRPC handler per emulated service, each RPC wrapped by the dispatcher."""
    handlers = []
    for svc in services:
        table = {}
        for spec in svc.rpcs():
            make, kind = _KINDS[spec.stream]
            table[spec.name] = make(
                getattr(dispatcher, kind)(svc, spec),
                request_deserializer=_deserializer(spec.request),
                response_serializer=_serializer(spec.response),
            )
        handlers.append(grpc.method_handlers_generic_handler(svc.service_name, table))
    return handlers


def new_server() -> grpc.Server:
    return grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=MAX_STREAMS + UNARY_WORKERS, thread_name_prefix="emulator"
        ),
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ],
    )


def addresses(host: str) -> list[str]:
    """The addresses ``host`` stands for (a name such as ``localhost`` may mean 127.0.0.1 and
    ::1); the emulator listens on all of them or refuses to start."""
    bare = host.strip("[]")
    if host in WILDCARDS:
        return [host or "0.0.0.0"]
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_address(bare))]
    try:
        infos = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from None
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in found:
            found.append(sockaddr[0])
    return found


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _check_free(address: str, port: int) -> None:
    """Refuse a port another process listens on, before gRPC would bind what it can of it."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(f"{_hostport(address, port)} is already in use") from None
            raise OSError(f"cannot listen on {_hostport(address, port)}: {exc.strerror}") from None


def listen(server: grpc.Server, host: str, port: int) -> int:
    """Bind ``server`` to every address of ``host`` on one port. Returns the port."""
    wanted = addresses(host)
    for address in wanted:
        _check_free(address, port)
    bound = port
    for address in wanted:
        try:
            got = server.add_insecure_port(_hostport(address, bound))
        except RuntimeError:
            got = 0
        if not got:
            raise OSError(f"cannot listen on {_hostport(address, bound)}")
        bound = got
    return bound


def client_address(host: str, port: int) -> str:
    """Where a local client reaches an emulator listening on ``host``."""
    if host in WILDCARDS:
        return f"127.0.0.1:{port}"
    return _hostport(host.strip("[]"), port) if ":" in host.strip("[]") else f"{host}:{port}"


# What a JSON endpoint answers: (status, payload, extra headers).
JsonAnswer = tuple[int, Any, dict[str, str]]


class JsonHTTPServer(ThreadingHTTPServer):
    """A loopback HTTP server that answers JSON (the sync stub, GitLab, the OAuth token
    endpoint): ``answer(handler, body)`` decides, this class does the HTTP."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], answer: Callable[[Any, bytes], JsonAnswer]
    ) -> None:
        super().__init__(address, _JsonHandler)
        self.answer = answer


class _JsonHandler(BaseHTTPRequestHandler):
    server: JsonHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, headers = self.server.answer(self, body)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def serve_http(httpd: Any, name: str) -> threading.Thread:
    """Serve a stdlib HTTP server in a daemon thread that sleeps while idle (no polling: an
    idle emulator uses no CPU); stop it with :func:`stop_http`."""
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": None}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_http(httpd: Any) -> None:
    """Shut down a server :func:`serve_http` serves: wake its accept loop so it sees the stop."""
    stopping = threading.Thread(target=httpd.shutdown, daemon=True)
    stopping.start()
    while stopping.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(httpd.server_address[:2], timeout=1).close()
        stopping.join(0.05)
    httpd.server_close()


def stream_error(exc: Any) -> Any:
    """The RESOURCE_EXHAUSTED answer to one stream too many."""
    from thothctl.emulator.base import EmulatorError

    return EmulatorError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, f"{exc}; close one (a `logs -f`) and retry."
    )
