"""Required Google APIs: read their state in one batch, enable the missing ones in one batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from thothctl import suggest
from thothctl.errors import OperationError, UsageError, code_of

BATCH_GET_MAX = 30
BATCH_ENABLE_MAX = 20
# Names a typo is compared with (with the configured ones): Thoth's APIs and common neighbours.
KNOWN_APIS = tuple(
    f"{name}.googleapis.com"
    for name in (
        *("secretmanager", "cloudscheduler", "run", "iam", "iamcredentials", "serviceusage"),
        *("logging", "monitoring", "pubsub", "storage", "compute", "cloudbuild"),
        *("artifactregistry", "cloudresourcemanager", "bigquery", "firestore", "aiplatform"),
        *("cloudfunctions", "container", "sqladmin", "dns"),
    )
)


@dataclass(frozen=True)
class ApiState:
    name: str
    title: str
    enabled: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "state": "ENABLED" if self.enabled else "DISABLED",
        }


@dataclass
class EnableResult:
    enabled: list[str] = field(default_factory=list)
    already_enabled: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.enabled) and not self.dry_run

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "already_enabled": self.already_enabled,
            "dry_run": self.dry_run,
        }


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def status(clients: Any, apis: Sequence[str]) -> list[ApiState]:
    """The state of each API, read with BatchGetServices (30 per call)."""
    parent = f"projects/{clients.project}"
    found: dict[str, ApiState] = {}
    for chunk in _chunks(list(apis), BATCH_GET_MAX):
        try:
            response = clients.serviceusage.batch_get_services(
                request={"parent": parent, "names": [f"{parent}/services/{a}" for a in chunk]}
            )
        except Exception as exc:
            raise _unknown_api(exc, chunk, apis) or exc from None
        for svc in response.services:
            service_id = svc.config.name or svc.name.rsplit("/", 1)[-1]
            found[service_id] = ApiState(
                name=service_id,
                title=svc.config.title or service_id,
                enabled=svc.state.name == "ENABLED",
            )
    return [found.get(a, ApiState(a, a, False)) for a in apis]


def _unknown_api(exc: BaseException, chunk: Sequence[str], asked: Sequence[str]) -> Any:
    """A name Service Usage does not know, as a usage error with the closest known names (None
    when the error is something else)."""
    bad = next((a for a in chunk if f"{a} not found" in str(exc)), None)
    if code_of(exc) != "NOT_FOUND" or bad is None:
        return None
    short = {a.removesuffix(".googleapis.com"): a for a in (*KNOWN_APIS, *asked) if a != bad}
    close = suggest.closest(bad.removesuffix(".googleapis.com"), list(short))
    return UsageError(
        f"unknown API {bad}: Service Usage has no such service, or you may not see it",
        hint=f"did you mean {' or '.join(short[c] for c in close)}?"
        if close
        else "check the name: gcloud services list --available",
    )


def enable(
    clients: Any,
    apis: Sequence[str],
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> EnableResult:
    """Enable the APIs that are not enabled yet: one read of their state (BatchGetServices), then
    the missing ones in batches of 20 (BatchEnableServices), waiting for the operations.

    With ``dry_run`` only the read is made. ``progress`` hears "Enabling …" before the change."""
    states = status(clients, apis)
    result = EnableResult(
        enabled=[s.name for s in states if not s.enabled],
        already_enabled=[s.name for s in states if s.enabled],
        dry_run=dry_run,
    )
    if dry_run or not result.enabled:
        return result
    if progress is not None:
        progress(f"Enabling {', '.join(result.enabled)}…")
    enable_missing(clients, result.enabled)
    return result


def enable_missing(clients: Any, missing: Sequence[str]) -> None:
    """Enable APIs known to be disabled, in batches of 20, waiting for each operation."""
    parent = f"projects/{clients.project}"
    for chunk in _chunks(list(missing), BATCH_ENABLE_MAX):
        try:
            operation = clients.serviceusage.batch_enable_services(
                request={"parent": parent, "service_ids": list(chunk)}
            )
            clients.wait(operation)
        except Exception as exc:
            if code_of(exc) == "PERMISSION_DENIED" and "enable service" in str(exc):
                raise OperationError(
                    f"cannot enable {', '.join(chunk)}: unknown API, or the caller may not enable it",
                    hint="check the names (`gcloud services list --available`) and that the caller "
                    "has roles/serviceusage.serviceUsageAdmin",
                ) from None
            raise
