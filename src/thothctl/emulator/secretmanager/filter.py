"""The ListSecrets / ListSecretVersions filter language, as the emulator reads it.

Terms ``field:value`` (case-insensitive substring; ``*`` = the field is present), ``field=value``,
``!=``, ``<``, ``>``, ``<=``, ``>=`` on ``name``, ``labels.KEY``, ``labels``, ``topics``,
``create_time`` (an RFC 3339 instant), ``replication.automatic`` and
``replication.user_managed...`` (secrets) or ``state``, ``name``, ``create_time`` (versions).
Terms are combined with AND (or whitespace) and OR (OR binds tighter, as in AIP-160); ``NOT`` or
``-`` negates one term. Anything else answers INVALID_ARGUMENT, even when nothing is listed
(docs/emulator.md, "Secret Manager").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from google.cloud.secretmanager_v1 import types

from thothctl.emulator import base

_TERM_RE = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>:|=|!=|<=|>=|<|>)\s*(?P<value>.+)$"
)


def secret_field(secret: types.Secret, field: str) -> Any:
    if field == "name":
        return secret.name
    if field.startswith("labels."):
        return secret.labels.get(field[7:])
    if field == "labels":
        return " ".join(f"{k}={v}" for k, v in secret.labels.items()) or None
    if field == "create_time":
        return secret.create_time
    if field == "replication.automatic":
        return "automatic" if "automatic" in secret.replication else None
    if field.startswith("replication.user_managed"):
        if "user_managed" not in secret.replication:
            return None
        return " ".join(r.location for r in secret.replication.user_managed.replicas)
    if field == "topics" or field == "topics.name":
        return " ".join(t.name for t in secret.topics) or None
    raise base.invalid(f"Invalid filter: unknown field {field!r}.")


def version_field(version: types.SecretVersion, field: str) -> Any:
    if field == "state":
        return version.state.name
    if field == "name":
        return version.name
    if field == "create_time":
        return version.create_time
    raise base.invalid(f"Invalid filter: unknown field {field!r}.")


def _parse_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise base.invalid(f"Invalid filter: {text!r} is not an RFC 3339 timestamp.") from None


def _term(text: str, getter) -> Any:
    negate = False
    if text.startswith("NOT "):
        negate, text = True, text[4:].strip()
    elif text.startswith("-"):
        negate, text = True, text[1:]
    m = _TERM_RE.match(text)
    if not m:
        raise base.invalid(
            f"Invalid filter term {text!r}: use FIELD:VALUE, FIELD=VALUE or a comparison."
        )
    field, op, value = m.group("field"), m.group("op"), m.group("value").strip().strip('"')

    def test(obj: Any) -> bool:
        actual = getter(obj, field)
        if op == ":":
            ok = (
                actual is not None
                if value == "*"
                else actual is not None and value.lower() in str(actual).lower()
            )
        elif isinstance(actual, dt.datetime) or field == "create_time":
            when = _parse_time(value)
            ok = {
                "=": actual == when,
                "!=": actual != when,
                "<": actual < when,
                ">": actual > when,
                "<=": actual <= when,
                ">=": actual >= when,
            }[op]
        elif op == "=":
            ok = actual is not None and str(actual) == value
        elif op == "!=":
            ok = actual is None or str(actual) != value
        else:
            ok = (
                actual is not None
                and {
                    "<": str(actual) < value,
                    ">": str(actual) > value,
                    "<=": str(actual) <= value,
                    ">=": str(actual) >= value,
                }[op]
            )
        return not ok if negate else ok

    _probe(getter, field)  # unknown fields fail even when nothing is listed
    return test


def _probe(getter, field: str) -> None:
    probe = types.Secret() if getter is secret_field else types.SecretVersion()
    getter(probe, field)


def compile_filter(text: str, getter):
    """AND of OR-groups of terms (OR binds tighter, as in AIP-160)."""
    tokens = re.findall(r'"[^"]*"|\S+', text)
    groups: list[list[Any]] = [[]]
    pending_or = False
    buf: list[str] = []

    def flush():
        nonlocal pending_or
        if not buf:
            return
        term = _term(" ".join(buf), getter)
        if pending_or and groups[-1]:
            groups[-1].append(term)
        else:
            if groups[-1]:
                groups.append([])
            groups[-1].append(term)
        pending_or = False
        buf.clear()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "AND":
            flush()
        elif tok == "OR":
            flush()
            pending_or = True
        elif tok == "NOT":
            flush()
            buf.append("NOT")
        elif (
            buf
            and buf != ["NOT"]
            and not buf[-1].endswith((":", "=", "<", ">"))
            and tok[0] not in ":=<>!"
        ):
            flush()
            buf.append(tok)
        else:
            buf.append(tok)
        i += 1
    flush()
    if pending_or:
        raise base.invalid("Invalid filter: OR at the end.")
    groups = [g for g in groups if g]

    def match(obj: Any) -> bool:
        return all(any(t(obj) for t in group) for group in groups)

    return match
