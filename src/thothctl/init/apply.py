"""The step functions of the init plan: each makes one resource so, and says what it did.

Every step is an *ensure*: it tolerates finding its work already done (by an interrupted earlier
run, or by another writer at the same moment), so running the plan again finishes it without
duplicates. :mod:`thothctl.init.plan` binds them to their arguments; :func:`thothctl.plan.execute`
runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from thothctl import apis, secrets, serviceaccounts
from thothctl.errors import NotFoundError


def enable_apis(clients: Any, missing: Sequence[str]) -> str:
    apis.enable_missing(clients, missing)
    return f"enabled {len(missing)} APIs"


def ensure_account(clients: Any, email: str) -> str:
    return "created" if serviceaccounts.ensure_account(clients, email).created else "exists"


def _granted(changed: bool) -> str:
    return "granted" if changed else "already granted"


def grant_invoker(clients: Any, service: str, email: str) -> str:
    return _granted(serviceaccounts.grant_invoker(clients, service, email).changed)


def create_secret(clients: Any, name: str) -> str:
    created, _ = secrets.create(clients, name)
    return "created" if created else "exists"


def add_first_version(clients: Any, name: str, value: secrets.SecretValue | None) -> str:
    if not isinstance(value, secrets.SecretValue):  # None, or a value still to be asked for
        raise NotFoundError(f"no value for {name}")
    result = secrets.add_version(clients, name, value)
    if result.added:
        return f"added version {result.version}"
    return f"version {result.version} already holds this value"


def grant_accessor(clients: Any, name: str, member: str) -> str:
    return _granted(secrets.grant(clients, name, member).changed)
