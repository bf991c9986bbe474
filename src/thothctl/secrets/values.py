"""Where a secret value comes from, and the checks it passes before any call.

A value is read from exactly one source: the hidden prompt, stdin (``-``), a file
(``--from-file PATH``) or, when prompting is off, the env var the config names. Values never come
from the command line. Every value is checked before anything is sent: not empty, at most 64 KiB,
UTF-8 text without a NUL byte (a value must be usable as an environment variable: `exec` and Cloud
Run put it in one, so `set` refuses what `exec` could never pass on), valid JSON for
``format = "json"`` secrets. stdin loses exactly one trailing newline (the ``echo token |``
footgun); a file is taken as it is, and a pipe or device (``--from-file /dev/stdin``) is read only
up to the limit. An env var that is set but empty is refused, never taken as "not set".

A value is bytes in memory only: it never appears in an exception message, a result or a ``repr``
(docs/architecture.md, "Secrets hygiene").
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from thothctl import validate
from thothctl.config import Config, SecretSpec
from thothctl.errors import UsageError

MAX_PAYLOAD = validate.MAX_SECRET_BYTES
STDIN = "-"
utf8 = validate.utf8  # (text, -1) or (None, first bad byte), never a UnicodeDecodeError


@dataclass
class SecretValue:
    """A value ready to upload. ``source`` says where it came from (never the value itself)."""

    data: bytes
    source: str
    stripped_newline: bool = False

    def __repr__(self) -> str:  # never show the bytes, even in a traceback
        return f"SecretValue(<{len(self.data)} bytes redacted>, source={self.source!r})"

    @property
    def crc32c(self) -> int:
        return crc32c(self.data)


def crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


def default_spec(name: str) -> SecretSpec:
    """The spec of a secret that is not in the config: text, env var derived from the name."""
    return SecretSpec(
        name=name,
        env=name.upper().replace("-", "_"),
        description=name,
        required=False,
        default=None,
        format="text",
    )


def spec_for(config: Config, name: str) -> SecretSpec:
    return config.secrets.get(name) or default_spec(name)


def _refused(spec: SecretSpec, source: str, why: str, hint: str) -> UsageError:
    return UsageError(f"the value for {spec.name} from {source} is refused: {why}", hint=hint)


def check_value(spec: SecretSpec, data: bytes, source: str) -> None:
    """Refuse an empty, oversized, non-UTF-8, NUL-holding or (for JSON secrets) invalid value
    (UsageError, exit 2): the rules of :func:`thothctl.validate.check_secret_bytes`, the same
    for every source and for the config's defaults. A NUL byte is refused because the value
    could never reach an environment variable (`exec`, Cloud Run)."""
    why = None
    try:
        validate.check_secret_bytes(data, spec.format)
    except ValueError as exc:
        why = str(exc)
    if why is None and spec.format == "url":
        why = validate.url_problem(data.decode("utf-8"))
    if why is None:
        return
    if "64 KiB" in why:
        hint = "store large files elsewhere (e.g. Cloud Storage) and keep a reference here"
    elif "JSON" in why:
        hint = "check the file, e.g. with `python -m json.tool FILE`; nothing was changed"
    elif "UTF-8" in why:
        hint = "check the file's encoding; nothing was changed"
    else:
        hint = "nothing was changed"
    raise _refused(spec, source, why, hint)


def _read_stream(stream: IO[Any], limit: int) -> bytes:
    """At most ``limit`` bytes of the stream (a larger value is refused without reading it
    all)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        return buffer.read(limit)
    data = stream.read(limit)
    return data if isinstance(data, bytes) else data.encode()


def value_from_stdin(spec: SecretSpec, data: bytes | IO[Any]) -> SecretValue:
    """The value piped on stdin (bytes already read, or the stream itself), less exactly one
    trailing newline (the `echo token |` footgun)."""
    if not isinstance(data, bytes):
        data = _read_stream(data, MAX_PAYLOAD + 3)
        if len(data) > MAX_PAYLOAD + 2:  # still too large without a trailing CRLF
            raise _refused(
                spec,
                "stdin",
                f"it is more than {MAX_PAYLOAD} bytes, over the limit of {MAX_PAYLOAD} (64 KiB)",
                "store large files elsewhere (e.g. Cloud Storage); nothing was changed",
            )
    stripped = False
    if data.endswith(b"\r\n"):
        data, stripped = data[:-2], True
    elif data.endswith(b"\n"):
        data, stripped = data[:-1], True
    check_value(spec, data, "stdin")
    return SecretValue(data, "stdin", stripped)


def value_from_file(spec: SecretSpec, path: str) -> SecretValue:
    """The file's bytes as they are. At most 64 KiB + 1 is read, so a pipe or a device
    (``/dev/stdin``, ``<(...)``) is never read to its end and is reported as "more than"."""
    if not path.strip():
        raise UsageError("--from-file is empty: give a path, or '-' for stdin")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PAYLOAD + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", hint="check --from-file") from None
    if len(data) > MAX_PAYLOAD:
        raise _refused(
            spec,
            path,
            f"it is more than {MAX_PAYLOAD} bytes, over the limit of {MAX_PAYLOAD} (64 KiB)",
            "store large files elsewhere (e.g. Cloud Storage); nothing was changed",
        )
    check_value(spec, data, path)
    return SecretValue(data, path)


def value_from_env(spec: SecretSpec, environ: Mapping[str, str]) -> SecretValue:
    raw = environ.get(spec.env)
    if raw is None:
        raise UsageError(
            f"no value for {spec.name}: ${spec.env} is not set and prompting is off",
            hint=f"set {spec.env}, pipe the value with --from-file -, or pass --from-file PATH",
        )
    data = raw.encode("utf-8", errors="surrogateescape")
    check_value(spec, data, f"${spec.env}")
    return SecretValue(data, f"${spec.env}")


def value_from_prompt(spec: SecretSpec, text: str) -> SecretValue:
    data = text.encode("utf-8", errors="surrogateescape")
    check_value(spec, data, "the prompt")
    return SecretValue(data, "prompt")


def payload_json(data: bytes) -> dict[str, str]:
    """A value for JSON output: ``{"value": text}``, or ``{"value_base64": ...}`` when the bytes
    are not UTF-8."""
    try:
        return {"value": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"value_base64": base64.b64encode(data).decode()}


def prompt_label(spec: SecretSpec, *, enter: str | None = None) -> str:
    """What a prompt for ``spec`` shows, the same for init, set and rotate: the description and
    the secret's name, and what Enter does (``enter``: the default, or "skip")."""
    label = spec.name if spec.description == spec.name else f"{spec.description} ({spec.name})"
    return label + (f" [Enter: {enter}]" if enter else "")


HIDDEN, VISIBLE, PASTE = "hidden", "visible", "paste"


def prompt_kind(spec: SecretSpec) -> str:
    """How the value of ``spec`` is asked for: a URL is not secret (typed visibly, once); a JSON
    value is pasted (read until complete) or read from a path typed instead; any other value is
    typed hidden, twice."""
    return {"url": VISIBLE, "json": PASTE}.get(spec.format, HIDDEN)


def json_answer_complete(text: str) -> bool:
    """Whether a pasted answer is whole: a path or an empty answer is one line; a JSON document
    is whole when its brackets close (strings and escapes skipped), so a multi-line key file
    pasted at the prompt arrives in one answer."""
    body = text.lstrip()
    if not body.startswith(("{", "[")):
        return True
    depth, in_string, escaped = 0, False, False
    for ch in body:
        if escaped:
            escaped = False
        elif in_string:
            escaped = ch == "\\"
            in_string = ch != '"'
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return True
    return False


def check_source(source: str | None, from_file: str | None) -> str | None:
    """The value source from the optional positional SOURCE and ``--from-file``: a path, ``-``
    for stdin, or None (prompt, else env var). The positional may only be '-': values never go in
    argv, and the argument is never echoed (it may be the secret someone tried to pass)."""
    if source is None:
        return from_file
    if source != STDIN:
        raise UsageError(
            "the only positional value source is '-' (stdin): a secret value is never taken from "
            "the command line",
            hint="pipe it in with '-', read it with --from-file PATH, or run the command at a "
            "terminal to be asked for it",
        )
    if from_file is not None and from_file != STDIN:
        raise UsageError("give either '-' or --from-file, not both")
    return STDIN


def read_value(
    spec: SecretSpec,
    source: str | None,
    *,
    stdin: IO[Any],
    environ: Mapping[str, str],
    prompt: Callable[[str], str] | None = None,
) -> SecretValue:
    """Read and check the value for ``spec`` from its one source: ``-`` reads ``stdin``, a path
    reads that file; otherwise ``prompt`` (the hidden, typed-twice prompt; None when prompting is
    off: the env var the config names is used). An empty answer at the prompt takes the default."""
    if source == STDIN:
        return value_from_stdin(spec, stdin)
    if source is not None:
        return value_from_file(spec, source)
    if prompt is not None:
        text = prompt(prompt_label(spec, enter=spec.default))
        if not text and spec.default:
            text = spec.default
        return value_from_prompt(spec, text)
    return value_from_env(spec, environ)
