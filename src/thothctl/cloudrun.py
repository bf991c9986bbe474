"""The configured Cloud Run service, read-only: its URL, identity and secret env vars.

thothctl never deploys the service. When it is missing, :func:`get_service` raises a
:class:`NotFoundError` that says what to deploy, instead of guessing a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thothctl.errors import NotFoundError, grpc_code_name


@dataclass(frozen=True)
class SecretRef:
    env: str
    secret: str
    version: str

    def to_json(self) -> dict[str, Any]:
        return {"env": self.env, "secret": self.secret, "version": self.version}


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
        if grpc_code_name(exc) == "NOT_FOUND":
            raise missing_service_error(clients, config) from None
        raise


def info_from(svc: Any) -> ServiceInfo:
    parts = svc.name.split("/")
    refs = []
    for container in svc.template.containers:
        for env in container.env:
            if "value_source" in env and env.value_source.secret_key_ref.secret:
                ref = env.value_source.secret_key_ref
                refs.append(SecretRef(env.name, ref.secret, ref.version or "latest"))
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
