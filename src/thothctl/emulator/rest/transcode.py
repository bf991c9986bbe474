"""HTTP/JSON <-> protobuf, the way Google's REST front ends transcode (google/api/http.proto).

- The path variables bind request fields (dotted paths allowed), percent-decoded.
- ``body: "*"`` fills the whole request from the JSON body; ``body: "field"`` fills that field;
  every field not bound by the path or the body may come as a query parameter
  (``pageSize=10``, ``options.requestedPolicyVersion=3``, ``updateMask=a,b``; camelCase or
  snake_case; a repeated field by repeating the parameter).
- System parameters (``alt``, ``$alt``, ``prettyPrint``, ``fields``, ``key``, ...) are accepted
  and ignored, except ``enum-encoding=int`` in ``$alt``, which answers enums as numbers (as the
  generated REST clients ask).
- Responses are the message's proto3 JSON (camelCase); errors are Google's JSON error
  ``{"error": {"code", "message", "status", "details"}}`` with the HTTP status of the gRPC code.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.rpc import status_pb2

from thothctl.emulator.base import EmulatorError, invalid

SYSTEM_PARAMS = frozenset(
    {
        "alt",
        "$alt",
        "prettyPrint",
        "$prettyPrint",
        "fields",
        "$fields",
        "key",
        "access_token",
        "quotaUser",
        "$.xgafv",
        "callback",
        "upload_protocol",
        "uploadType",
        "oauth_token",
        "userIp",
    }
)
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}
_WELL_KNOWN_FROM_STRING = (
    "google.protobuf.FieldMask",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
)


def pb_class(message_type: Any) -> Any:
    """The protobuf class of a proto-plus or protobuf message type."""
    return message_type.pb() if hasattr(message_type, "pb") else message_type


def as_pb(message: Any) -> Any:
    return type(message).pb(message) if hasattr(type(message), "pb") else message


def _bad_payload(problem: str) -> EmulatorError:
    return invalid(f"Invalid JSON payload received. {problem}")


def _field(desc: Any, part: str) -> FieldDescriptor | None:
    return desc.fields_by_camelcase_name.get(part) or desc.fields_by_name.get(part)


def _scalar(fd: FieldDescriptor, text: str) -> Any:
    try:
        if fd.type == fd.TYPE_BOOL:
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if fd.type == fd.TYPE_ENUM:
            value = fd.enum_type.values_by_name.get(text)
            return value.number if value is not None else int(text)
        if fd.cpp_type in (
            fd.CPPTYPE_INT32,
            fd.CPPTYPE_INT64,
            fd.CPPTYPE_UINT32,
            fd.CPPTYPE_UINT64,
        ):
            return int(text)
        if fd.cpp_type in (fd.CPPTYPE_FLOAT, fd.CPPTYPE_DOUBLE):
            return float(text)
        if fd.type == fd.TYPE_BYTES:
            import base64

            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise _bad_payload(f"Invalid value at '{fd.json_name}' ({fd.type}), \"{text}\"") from None
    return text


def set_path(message: Any, path: str, values: list[str], *, source: str) -> None:
    """Set the field at a dotted ``path`` (camelCase or snake_case) from text values."""
    parts = path.split(".")
    target = message
    for i, part in enumerate(parts):
        fd = _field(target.DESCRIPTOR, part)
        if fd is None:
            raise _bad_payload(
                f"Unknown name \"{path}\": Cannot bind {source}. Field '{part}' could not be "
                f"found in request message."
            )
        last = i == len(parts) - 1
        if fd.type == fd.TYPE_MESSAGE and not last:
            if fd.is_repeated:
                raise _bad_payload(f'Cannot bind {source} "{path}": repeated message field.')
            target = getattr(target, fd.name)
            continue
        if not last:
            raise _bad_payload(f'Unknown name "{path}": Cannot bind {source}.')
        _assign(target, fd, values, path, source)


def _assign(target: Any, fd: FieldDescriptor, values: list[str], path: str, source: str) -> None:
    if fd.type == fd.TYPE_MESSAGE:
        full = fd.message_type.full_name
        if full not in _WELL_KNOWN_FROM_STRING and not full.startswith("google.protobuf."):
            raise _bad_payload(f'Cannot bind {source} "{path}" to a message field.')
        try:
            json_format.ParseDict(values[-1], getattr(target, fd.name))
        except json_format.ParseError as exc:
            raise _bad_payload(str(exc)) from None
        return
    converted = [_scalar(fd, v) for v in values]
    if fd.is_repeated:
        getattr(target, fd.name).extend(converted)
    else:
        setattr(target, fd.name, converted[-1])


def build_request(
    message_type: Any,
    body_field: str | None,
    path_vars: dict[str, str],
    query: dict[str, list[str]],
    body: bytes,
) -> Any:
    """The RPC request an HTTP request transcodes to (proto-plus or protobuf, as declared)."""
    msg = pb_class(message_type)()
    if body_field:
        try:
            data = json.loads(body.decode("utf-8") or "{}") if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad_payload(f"Unexpected token. {exc}") from None
        except RecursionError:  # a body nested deeper than any message: bad input, not a bug
            raise _bad_payload("The JSON payload is nested too deeply.") from None
        target = msg if body_field == "*" else getattr(msg, _body_field(msg, body_field))
        try:
            json_format.ParseDict(data, target)
        except json_format.ParseError as exc:
            raise _bad_payload(str(exc)) from None
    for path, value in path_vars.items():
        set_path(msg, path, [unquote(value)], source="path parameter")
    for key, values in query.items():
        if key in SYSTEM_PARAMS:
            continue
        set_path(msg, key, values, source="query parameter")
    return message_type.wrap(msg) if hasattr(message_type, "wrap") else msg


def _body_field(msg: Any, name: str) -> str:
    fd = _field(msg.DESCRIPTOR, name)
    if fd is None:  # pragma: no cover - the rules name real fields
        raise invalid(f"unknown body field {name}")
    return fd.name


def int_enums(query: dict[str, list[str]]) -> bool:
    return any("enum-encoding=int" in v for v in query.get("$alt", []))


def to_json(message: Any, *, int_enums: bool = False) -> dict[str, Any]:
    return json_format.MessageToDict(as_pb(message), use_integers_for_enums=int_enums)


def error_json(status: status_pb2.Status) -> tuple[int, dict[str, Any]]:
    """Google's JSON error for a gRPC status: (HTTP status, body)."""
    name = _CODE_NAMES.get(status.code, "UNKNOWN")
    details = []
    for detail in status.details:
        try:
            details.append(json_format.MessageToDict(detail))
        except (TypeError, KeyError, json_format.Error):
            details.append({"@type": detail.type_url})
    http = HTTP_STATUS.get(name, 500)
    error: dict[str, Any] = {"code": http, "message": status.message, "status": name}
    if details:
        error["details"] = details
    return http, {"error": error}


def error_status(err: EmulatorError) -> status_pb2.Status:
    return status_pb2.Status(code=err.code.value[0], message=err.message)
