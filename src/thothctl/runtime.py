"""Secrets for the Thoth sync service's own code: ``get_secret("gitlab-token")``.

A small, documented API that replaces the service's hand-written Secret Manager wrapper::

    from thothctl.runtime import get_secret

    token = get_secret("gitlab-token")            # $GITLAB_TOKEN if set, else Secret Manager
    url = get_secret("gitlab-url")                # falls back to the config default
    creds = get_secret("google-application-credentials", required=False)  # None if absent

Resolution order for a name: the environment variable named in the config (``GITLAB_TOKEN`` for
``gitlab-token``; for an unconfigured name, the name upper-cased with '-' -> '_') wins, so local
development and tests need no Google account; else the latest ENABLED version from Secret Manager
(CRC32C-verified); else the config default; else :class:`SecretNotFound` (or ``None`` with
``required=False``). That order is :mod:`thothctl.secrets.resolve`, the one `thothctl exec` uses,
with the same errors. Values fetched from Google are cached in-process (per project, name,
version) for ``ttl`` seconds (default: for the life of the process); :func:`clear_cache` empties
it.

The project comes from the argument, else the usual thothctl resolution (``THOTHCTL_PROJECT``,
thothctl.toml, ``GOOGLE_CLOUD_PROJECT``, gcloud config, ADC). ``THOTHCTL_EMULATOR_HOST`` points
it at the local emulator. This module imports neither typer nor rich.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from thothctl.errors import ThothError
from thothctl.secrets import resolve
from thothctl.secrets.resolve import SecretNotFound

__all__ = ["SecretNotFound", "SecretResolver", "clear_cache", "get_secret"]


class SecretResolver:
    """Resolves secrets with env fallback and an in-process cache. Thread-safe."""

    def __init__(
        self,
        *,
        project: str | None = None,
        config_path: str | None = None,
        environ: Mapping[str, str] | None = None,
        ttl: float | None = None,
        clients: Any = None,
    ):
        self._environ = environ
        self._project = project
        self._config_path = config_path
        self.ttl = ttl
        self._clients = clients
        self._config = None
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._lock = threading.RLock()

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    @property
    def config(self):
        with self._lock:
            if self._config is None:
                from thothctl.config import emulator_host, load_config

                self._config = load_config(
                    config_path=self._config_path,
                    flags={"project": self._project},
                    environ=self.environ,
                    emulator=bool(emulator_host(self.environ)),  # "": refused, never real Google
                )
            return self._config

    def _spec(self, name: str):
        from thothctl.secrets.values import default_spec, spec_for

        try:
            return spec_for(self.config, name)
        except ThothError:  # no usable config: the env var derived from the name
            return default_spec(name)

    def clients(self):
        with self._lock:
            if self._clients is None:
                from thothctl.clients import Clients, ClientSettings, adc_project

                project = self.config.project or adc_project()
                if not project:
                    raise ThothError(
                        "no Google Cloud project to read secrets from",
                        hint="set THOTHCTL_PROJECT or GOOGLE_CLOUD_PROJECT, or the secret's env var",
                    )
                self._clients = Clients(
                    ClientSettings(
                        project=project,
                        region=self.config.region,
                        emulator_host=self.environ.get("THOTHCTL_EMULATOR_HOST") or None,
                        environ=self.environ,
                    )
                )
            return self._clients

    def get(
        self, name: str, *, version: str = "latest", required: bool = True, env: str | None = None
    ) -> str | None:
        spec = self._spec(name)
        var = env or spec.env
        local = resolve.from_environment(spec, self.environ, var)  # set but empty: refused
        if local is not None:
            return local.value
        clients = self.clients()
        key = (clients.project, name, version)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and (self.ttl is None or time.monotonic() - hit[0] < self.ttl):
                return hit[1]
        found = resolve.fetch(clients, spec, version, env=var)
        if found is None:
            return resolve.fallback(spec, var, required).value
        with self._lock:
            self._cache[key] = (time.monotonic(), found[1])
        return found[1]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        with self._lock:
            if self._clients is not None:
                self._clients.close()
                self._clients = None


_default: SecretResolver | None = None
_default_lock = threading.Lock()


def _resolver() -> SecretResolver:
    global _default
    with _default_lock:
        if _default is None:
            _default = SecretResolver()
        return _default


def get_secret(
    name: str, *, version: str = "latest", required: bool = True, env: str | None = None
) -> str | None:
    """The value of secret ``name`` as text (env var first, then Secret Manager, then default)."""
    return _resolver().get(name, version=version, required=required, env=env)


def clear_cache() -> None:
    """Forget cached values (and the shared clients), e.g. after a rotation."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
