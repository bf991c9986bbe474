"""The configured Cloud Run service: its URL, identity and secret env vars, and the one change
thothctl makes to it, pointing its secret env vars at a rotated secret's new version.

thothctl never deploys the service. When it is missing, :func:`get_service` raises a
:class:`NotFoundError` that says what to deploy, instead of guessing a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from thothctl import retry
from thothctl.errors import NotFoundError, OperationError, code_of


@dataclass(frozen=True)
class SecretRef:
    env: str
    secret: str
    version: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ServiceInfo:
    name: str  # projects/P/locations/L/services/S
    service: str
    region: str
    uri: str
    service_account: str
    generation: int
    latest_ready_revision: str
    invoker_iam_disabled: bool
    secret_env: list[SecretRef] = field(default_factory=list)
    raw: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "region": self.region,
            "uri": self.uri,
            "service_account": self.service_account,
            "generation": self.generation,
            "latest_ready_revision": self.latest_ready_revision.rsplit("/", 1)[-1],
            "invoker_iam_disabled": self.invoker_iam_disabled,
            "secret_env": [s.to_json() for s in self.secret_env],
        }


def service_name(clients: Any, config: Any) -> str:
    return f"projects/{clients.project}/locations/{config.region}/services/{config.service}"


def missing_service_error(clients: Any, config: Any) -> NotFoundError:
    return NotFoundError(
        f"Cloud Run service {config.service!r} not found in {config.region} "
        f"(project {clients.project})",
        hint=f"deploy the Thoth MCP server first, e.g. `gcloud run deploy {config.service} "
        f"--region {config.region} --image IMAGE --no-allow-unauthenticated`, or set "
        "`service`/`region` in thothctl.toml; thothctl does not deploy it",
    )


def get_raw(clients: Any, config: Any) -> Any:
    """The live ``google.cloud.run_v2.Service``; NotFoundError (with what to deploy) if missing."""
    try:
        return clients.run.get_service(request={"name": service_name(clients, config)})
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise missing_service_error(clients, config) from None
        raise


def _secret_env(svc: Any) -> Iterator[tuple[Any, Any]]:
    """(env var, secret_key_ref) of every container env var whose value is a secret."""
    for container in svc.template.containers:
        for env in container.env:
            if "value_source" in env and env.value_source.secret_key_ref.secret:
                yield env, env.value_source.secret_key_ref


def info_from(svc: Any) -> ServiceInfo:
    parts = svc.name.split("/")
    refs = [
        SecretRef(env.name, ref.secret, ref.version or "latest") for env, ref in _secret_env(svc)
    ]
    return ServiceInfo(
        name=svc.name,
        service=parts[-1],
        region=parts[3] if len(parts) > 3 else "",
        uri=svc.uri,
        service_account=svc.template.service_account,
        generation=int(svc.generation),
        latest_ready_revision=svc.latest_ready_revision,
        invoker_iam_disabled=bool(svc.invoker_iam_disabled),
        secret_env=refs,
        raw=svc,
    )


def get_service(clients: Any, config: Any) -> ServiceInfo:
    """Read the configured Cloud Run service."""
    svc = get_raw(clients, config)
    info = info_from(svc)
    if not info.uri:
        raise NotFoundError(
            f"Cloud Run service {config.service!r} has no URL yet",
            hint="wait for its first revision to become ready (`gcloud run services describe`)",
        )
    return info


# --- pointing the service at a secret's new version -------------------------------------------


@dataclass
class ServiceUpdate:
    """What :func:`point_at_version` did. ``pinned`` env vars now name the new version number;
    ``refreshed`` ones (on ``latest`` or an alias) got a new revision so that they re-read it."""

    service: str
    updated: bool = False
    pinned: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    revision: str | None = None
    note: str | None = None
    version: int | None = None  # the version the env vars now read

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _refers_to(ref_secret: str, name: str) -> bool:
    if ref_secret == name:
        return True
    parts = ref_secret.split("/")
    return len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets" and parts[3] == name


def secret_refs(svc: Any, name: str) -> list[tuple[Any, Any]]:
    """(env var, secret_key_ref) pairs of the service's containers that reference secret ``name``
    (by id or by full resource name)."""
    return [(env, ref) for env, ref in _secret_env(svc) if _refers_to(ref.secret, name)]


def pinned_versions(clients: Any, config: Any, name: str) -> set[int]:
    """Version numbers of the secret the service pins (best effort: empty if unknown)."""
    try:
        svc = get_raw(clients, config)
    except NotFoundError:
        return set()
    except Exception as exc:
        if code_of(exc) == "PERMISSION_DENIED":
            return set()
        raise
    return {int(ref.version) for _, ref in secret_refs(svc, name) if ref.version.isdigit()}


def rotation_annotation(name: str) -> str:
    return "thothctl.dev/" + f"rotated-{name}"[:63]


def _repoint(svc: Any, name: str, version: int) -> tuple[list[str], list[str]]:
    """Edit ``svc`` in memory: numeric refs to the secret are pinned to ``version``, refs to
    ``latest`` or an alias get the rotation annotation. Returns (pinned, refreshed) env vars."""
    pinned, refreshed = [], []
    for env, ref in secret_refs(svc, name):
        if not ref.version.isdigit():
            refreshed.append(env.name)
        elif int(ref.version) != version:
            ref.version = str(version)
            pinned.append(env.name)
    key = rotation_annotation(name)
    if refreshed and svc.template.annotations.get(key) != str(version):
        svc.template.annotations[key] = str(version)
    elif not pinned:
        refreshed = []  # nothing to change: every ref already reads this version
    return pinned, refreshed


def _update(clients: Any, svc: Any, result: ServiceUpdate, pinned: list, refreshed: list) -> None:
    svc.template.revision = ""  # a new, generated revision name
    updated = clients.wait(clients.run.update_service(request={"service": svc}))
    result.updated = True
    result.pinned = sorted({*result.pinned, *pinned})
    result.refreshed = sorted({*result.refreshed, *refreshed})
    result.revision = (updated.latest_created_revision or "").rsplit("/", 1)[-1] or None


def point_at_version(
    clients: Any,
    config: Any,
    name: str,
    version: int | Callable[[], int],
    attempts: int = 4,
) -> ServiceUpdate:
    """Point the service's env vars that reference secret ``name`` at ``version``: numeric refs
    are pinned to it, refs to ``latest`` or an alias get a new revision (an annotation naming the
    version), because Cloud Run resolves env-var secrets only when an instance starts. Idempotent;
    a concurrent deploy is re-read and the change re-applied.

    ``version`` may be a function telling the version to use as things are now (rotate: the
    newest enabled one). It is asked again once the update is written: when a concurrent rotation
    added a newer version meanwhile, the service is pointed at that one too, so a slow update
    never leaves the service behind."""
    wanted = version if callable(version) else lambda: version
    result = ServiceUpdate(service=service_name(clients, config))
    for last in retry.attempts(tries=attempts, maximum=2.0):
        target = wanted()
        svc = get_raw(clients, config)
        if not secret_refs(svc, name):
            result.note = f"the service does not reference secret {name}; nothing to update"
            return result
        pinned, refreshed = _repoint(svc, name, target)
        if pinned or refreshed:
            try:
                _update(clients, svc, result, pinned, refreshed)
            except Exception as exc:
                if retry.is_conflict(exc) and not last:
                    continue  # someone deployed in between: read again
                raise
        elif not result.updated:
            result.note = f"the service already uses version {target}"
            result.revision = svc.latest_ready_revision.rsplit("/", 1)[-1] or None
        result.version = target
        if not callable(version) or wanted() == target:
            return result
    raise OperationError(f"the Cloud Run service {config.service} kept changing under us")
