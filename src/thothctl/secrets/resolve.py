"""Which value each secret's env var gets, for `thothctl exec` and for
:func:`thothctl.runtime.get_secret` (the one resolution both use).

For one secret: the env var if it is already set (no Google call at all, so local development
works without credentials; set but empty is refused, exit 2, since it would hide the stored
value); else the newest ENABLED version from Secret Manager (CRC32C-verified;
when the newest version is disabled or destroyed, the newest enabled one); else the config
default; else, for a required secret, :class:`SecretNotFound`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from thothctl.config import Config, SecretSpec
from thothctl.errors import NotFoundError, OperationError, UsageError
from thothctl.secrets.store import access, latest_enabled

ENVIRONMENT = "environment"
DEFAULT = "default"
MISSING = "missing"


class SecretNotFound(NotFoundError):
    """No env var, no enabled version and no default for a required secret."""


@dataclass
class Resolved:
    name: str
    env: str
    source: str  # "environment" | "version N" | "default" | "missing"
    value: str | None = None

    def __repr__(self) -> str:  # never show the value
        return f"Resolved({self.name!r}, env={self.env!r}, source={self.source!r})"


def fetch(
    clients: Any, spec: SecretSpec, version: str = "latest", env: str | None = None
) -> tuple[int, str] | None:
    """(version number, text) of the secret from Secret Manager, or None when it has no such
    version (or, for ``latest``, no enabled version). The text must be UTF-8."""
    try:
        if version != "latest":
            number, data = access(clients, spec.name, version)
        else:
            try:
                number, data = access(clients, spec.name, "latest")
            except OperationError:  # newest version disabled/destroyed: the newest enabled one
                found = latest_enabled(clients, spec.name)
                if found is None:
                    return None
                number, data = found
    except NotFoundError:
        return None
    text = None
    # A UnicodeDecodeError holds the whole value: dropped here, never the context of an error.
    with contextlib.suppress(UnicodeDecodeError):
        text = data.decode("utf-8")
    if text is None:
        raise OperationError(
            f"secret {spec.name} version {number} is not UTF-8 text: it cannot be put in "
            f"${env or spec.env}"
        )
    return number, text


def fallback(spec: SecretSpec, env: str | None = None, required: bool | None = None) -> Resolved:
    """No value in the environment or Secret Manager: the config default, else "missing" for an
    optional secret, else :class:`SecretNotFound`."""
    env = env or spec.env
    if spec.default is not None:
        return Resolved(spec.name, env, DEFAULT, spec.default)
    if spec.required if required is None else required:
        raise SecretNotFound(
            f"secret {spec.name} has no enabled version and ${env} is not set",
            hint=f"add one with `thothctl secrets set {spec.name}` or export {env}",
        )
    return Resolved(spec.name, env, MISSING, None)


def from_environment(
    spec: SecretSpec, environ: Mapping[str, str], env: str | None = None
) -> Resolved | None:
    """The secret's env var when it is set (None when it is not). Set but empty is refused
    (UsageError): it would silently hide the stored secret."""
    env = env or spec.env
    value = environ.get(env)
    if value is None:
        return None
    if not value:
        raise UsageError(
            f"${env} is set but empty: it would hide the stored secret {spec.name}",
            hint=f"unset {env} to use Secret Manager's value, or give it a value",
        )
    return Resolved(spec.name, env, ENVIRONMENT, value)


def resolve_one(clients: Any, spec: SecretSpec, environ: Mapping[str, str]) -> Resolved:
    """The value for one secret's env var (see the module docstring for the order)."""
    local = from_environment(spec, environ)
    if local is not None:
        return local
    found = fetch(clients, spec)
    if found is None:
        return fallback(spec)
    number, text = found
    if "\x00" in text:
        raise OperationError(
            f"secret {spec.name} version {number} contains a NUL byte: not usable in ${spec.env}"
        )
    return Resolved(spec.name, spec.env, f"version {number}", text)


def resolve_env(
    clients_factory: Callable[[], Any],
    config: Config,
    environ: Mapping[str, str],
    only: Iterable[str] = (),
) -> list[Resolved]:
    """Resolve the configured secrets (or ``only`` those; an unknown name is a usage error before
    any call) into env values. Google is contacted only when some env var is not set already."""
    names = list(only) or list(config.secrets)
    specs = [config.secret(n) for n in names]
    local = [from_environment(s, environ) for s in specs]  # an empty one is refused here
    if all(r is not None for r in local):
        return local
    clients = clients_factory()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda s: resolve_one(clients, s, environ), specs))


def exec_environment(resolved: Iterable[Resolved], base: Mapping[str, str]) -> dict[str, str]:
    """The environment a command runs in: ``base`` plus every resolved value."""
    env = dict(base)
    env.update({r.env: r.value for r in resolved if r.value is not None})
    return env
