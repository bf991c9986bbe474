"""Building blocks for emulated services: errors with real status codes, the @rpc declaration,
resource-name helpers and pagination. Each service subclasses :class:`EmulatedService`
(docs/emulator.md, "Adding an emulated RPC").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from thothctl.emulator.server import Emulator


class EmulatorError(Exception):
    """Raised by handlers; the dispatcher answers with this status (and ErrorInfo details)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str | None = None,
        domain: str = "googleapis.com",
        metadata: dict[str, str] | None = None,
        details: list[Any] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = metadata or {}
        self.details = details or []  # extra protobuf messages packed into the status details


def invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.ABORTED, message)


def permission_denied(message: str, **kw: Any) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.PERMISSION_DENIED, message, **kw)


@dataclass
class RpcSpec:
    name: str
    request: Any
    response: Any
    mutating: bool = False
    permission: str | None = None
    stream: str | None = None  # None (unary) | "unary_stream" | "stream_stream"
    check_api: bool = True
    func: Callable[..., Any] | None = None


def rpc(
    name: str,
    request: Any,
    response: Any,
    *,
    mutating: bool = False,
    permission: str | None = None,
    stream: str | None = None,
    check_api: bool = True,
):
    """Declare a handler method: ``def handler(self, request, context) -> response``."""

    def deco(fn):
        fn._rpc = RpcSpec(name, request, response, mutating, permission, stream, check_api)
        return fn

    return deco


class EmulatedService:
    """One gRPC service. ``service_name`` is the full proto service name; ``api`` is the
    Service Usage name that must be enabled in the project for calls to succeed (None: always)."""

    service_name: str = ""
    api: str | None = None
    api_title: str = ""
    # The message classes the service keeps in the store: the state file names them by their
    # proto full name, and loading finds the class here (docs/emulator.md, "State file").
    stored_types: tuple[type, ...] = ()

    def __init__(self, emulator: Emulator):
        self.emu = emulator
        self.store = emulator.store

    def rpcs(self) -> list[RpcSpec]:
        specs = []
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            spec = getattr(fn, "_rpc", None)
            if spec is not None:
                specs.append(RpcSpec(**{**spec.__dict__, "func": getattr(self, attr)}))
        return specs

    def seed(self, project: dict[str, Any]) -> None:
        """Create the resources a real deployment has (called for each seeded project)."""

    def on_start(self) -> None:
        """Called once the server is listening (start background workers here)."""

    def on_stop(self) -> None:
        """Called when the server stops."""

    def on_reset(self) -> None:
        """Called after the state was reset (by default: stop and start the workers again)."""
        self.on_stop()
        self.on_start()

    def control_ops(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """Extra operations for the control plane (``thothctl emulator`` commands, tests)."""
        return {}


# --- helpers ---------------------------------------------------------------------------------

PROJECT_IN_NAME = re.compile(r"(?:^|/)projects/([^/]+)")
# No resource name or id Google issues holds a control character (C0, DEL or C1); Google answers
# INVALID_ARGUMENT, so a name with a trailing newline never reaches a lookup.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAME_FIELDS = ("name", "parent", "resource", "resource_names", "log_name")


def string_fields(message: Any, depth: int = 0) -> Iterable[tuple[str, str, int]]:
    """(field, value, depth) of every string in a request, at the top level and one singular
    message down (``job.name`` has depth 1): where resource names and ids live."""
    pb = message if not hasattr(type(message), "pb") else type(message).pb(message)
    try:
        fields = pb.ListFields()
    except AttributeError:
        return
    for fd, value in fields:
        if fd.type == fd.TYPE_STRING:
            for val in value if fd.is_repeated else [value]:
                yield fd.name, val, depth
        elif fd.type == fd.TYPE_MESSAGE and depth < 1 and not fd.is_repeated:
            yield from string_fields(value, depth + 1)


def refuse_control_characters(request: Any) -> None:
    """INVALID_ARGUMENT for a request whose resource name or id holds a control character."""
    for field, value, _depth in string_fields(request):
        if (field in NAME_FIELDS or field.endswith("_id")) and CONTROL_CHARACTER.search(value):
            raise invalid(
                f"Invalid resource field value in the request: {field} {value!r} contains a "
                "control character."
            )


def project_number_for(project_id: str) -> str:
    digest = hashlib.sha256(project_id.encode()).hexdigest()
    return str(100000000000 + int(digest[:12], 16) % 899999999999)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(when: dt.datetime | None = None):
    from google.protobuf import timestamp_pb2

    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when or now())
    return ts


def new_etag() -> str:
    """An etag the way Secret Manager shows them: a quoted hex string."""
    return '"' + uuid.uuid4().hex[:14] + '"'


def new_policy_etag() -> bytes:
    return uuid.uuid4().bytes[:8]


def paginate(items: Sequence[Any], request: Any, *, default: int, maximum: int):
    """Offset pagination with opaque tokens over a List request's ``page_size`` and
    ``page_token``. Returns (page, next_token)."""
    page_size, page_token = request.page_size, request.page_token
    if page_size < 0:
        raise invalid("page_size must not be negative")
    size = default if page_size == 0 else min(page_size, maximum)
    start = 0
    if page_token:
        try:
            kind, _, offset = base64.urlsafe_b64decode(page_token.encode()).decode().partition(":")
        except ValueError:  # not base64, not UTF-8
            kind, offset = "", ""
        if kind != "o" or not (offset.isascii() and offset.isdigit()):  # a forged "o:-2" too
            raise invalid("Invalid page token.")
        start = int(offset)
    page = list(items[start : start + size])
    nxt = start + size
    token = base64.urlsafe_b64encode(f"o:{nxt}".encode()).decode() if nxt < len(items) else ""
    return page, token


def apply_update(
    src: Any, dst: Any, paths: Sequence[str], fields: Sequence[str], bad_path: Callable[[str], str]
) -> None:
    """Apply an Update request's resource ``src`` to ``dst`` (raw protobuf messages).

    With mask ``paths`` (dotted allowed), merge those, a sub-message path replacing the whole
    sub-message; a path outside ``fields`` (the user-settable fields) is INVALID_ARGUMENT with
    ``bad_path(path)``. Without paths, replace every field in ``fields``."""
    if paths:
        from google.protobuf import field_mask_pb2

        for path in paths:
            if path.split(".", 1)[0] not in fields:
                raise invalid(bad_path(path))
        field_mask_pb2.FieldMask(paths=list(paths)).MergeMessage(
            src, dst, replace_message_field=True, replace_repeated_field=True
        )
        return
    for field in fields:
        fd = dst.DESCRIPTOR.fields_by_name[field]
        dst.ClearField(field)
        if fd.is_repeated:
            if fd.message_type and fd.message_type.GetOptions().map_entry:
                getattr(dst, field).update(getattr(src, field))
            else:
                getattr(dst, field).extend(getattr(src, field))
        elif fd.message_type:
            if src.HasField(field):
                getattr(dst, field).CopyFrom(getattr(src, field))
        else:
            setattr(dst, field, getattr(src, field))
