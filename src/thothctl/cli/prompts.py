"""Asking for a secret's value at the terminal, the one way `init`, `secrets set` and `secrets
rotate` share: the prompt that suits the value (``secrets.prompt_kind``), the secret named the same
way everywhere (``secrets.prompt_label``), every answer checked at once, and a mistake asked again
instead of throwing away what was already typed."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from thothctl.errors import UsageError
from thothctl.lazy import lazy

secrets = lazy("thothctl.secrets")

TRIES = 3
PASTE_HELP = "Paste the JSON key file, or type its path (what you type is hidden)."


def ask_value(
    out: Any,
    spec: Any,
    *,
    label: str,
    on_empty: Callable[[], Any] | None = None,
) -> Any:
    """A checked ``SecretValue`` for ``spec``; an empty answer returns ``on_empty()`` (the
    default, or None to skip) when given, and is refused otherwise. A value that fails its checks
    is reported and asked for again, up to three times."""
    kind = secrets.prompt_kind(spec)
    if kind == secrets.PASTE:
        out.info(PASTE_HELP)
    for _ in range(TRIES):
        text = _read(out, kind, label, empty_ok=on_empty is not None)
        if not text and on_empty is not None:
            return on_empty()
        try:
            return _checked(out, spec, kind, text)
        except UsageError as exc:
            out.warn(f"{exc.message}; try again")
    raise UsageError(
        f"no usable value for {spec.name} after {TRIES} tries",
        hint="nothing was changed; run the command again",
    )


def _read(out: Any, kind: str, label: str, *, empty_ok: bool) -> str:
    if kind == secrets.VISIBLE:
        return out.prompt_text(label)
    if kind == secrets.PASTE:
        return out.prompt_lines(label, complete=secrets.json_answer_complete)
    return out.prompt_secret(label, empty_ok=empty_ok)


def _checked(out: Any, spec: Any, kind: str, text: str) -> Any:
    """The value of an answer: the text itself, or for a pasted value that is not JSON, the file
    at that path."""
    if kind == secrets.PASTE and text.strip() and not text.lstrip().startswith(("{", "[")):
        value = secrets.value_from_file(spec, os.path.expanduser(text.strip()))
        out.info(f"Read {len(value.data)} bytes of JSON from {value.source}.")
        return value
    value = secrets.value_from_prompt(spec, text)
    if kind == secrets.PASTE:
        out.info(f"Read {len(value.data)} bytes of JSON.")
    return value


def read_value(app_ctx: Any, spec: Any, source: str | None) -> Any:
    """The value for `secrets set` / `rotate`: from ``source`` (``-``: stdin, or a path), else
    asked for at the terminal, else (prompting off) the env var the config names. The secret
    must exist before it is asked for or looked up, so a typo costs no typing."""
    if source is None:
        secrets.require(app_ctx.clients, spec.name)
    if source is None and app_ctx.can_prompt:
        default = (lambda: secrets.value_from_prompt(spec, spec.default)) if spec.default else None
        label = secrets.prompt_label(spec, enter=spec.default)
        return ask_value(app_ctx.out, spec, label=label, on_empty=default)
    return secrets.read_value(spec, source, stdin=sys.stdin, environ=app_ctx.environ)
