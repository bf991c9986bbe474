"""What Cloud Run accepts as a service (used by :mod:`thothctl.emulator.run` on create and update)."""

from __future__ import annotations

from google.cloud.run_v2 import types

from thothctl.emulator import base

RESERVED_PREFIXES = (
    "run.googleapis.com",
    "cloud.googleapis.com",
    "serving.knative.dev",
    "autoscaling.knative.dev",
)


def validate(svc: types.Service) -> None:
    """A service as Cloud Run accepts it: containers with images, unique env names, secret
    references with a secret, no reserved label/annotation keys, traffic adding up to 100."""
    if not svc.template.containers:
        raise base.invalid("service.template.containers: at least one container is required.")
    for field in ("labels", "annotations"):
        for key in getattr(svc, field):
            if key.split("/", 1)[0].endswith(RESERVED_PREFIXES) and "/" in key:
                raise base.invalid(
                    f"service.{field}: the key {key!r} uses a reserved namespace "
                    f"({', '.join(RESERVED_PREFIXES)})."
                )
    for container in svc.template.containers:
        if not container.image:
            raise base.invalid(f"service.template.containers[{container.name}].image is required.")
        names = set()
        for env in container.env:
            if not env.name:
                raise base.invalid("service.template.containers.env.name is required.")
            if env.name in names:
                raise base.invalid(f"Environment variable {env.name!r} is set more than once.")
            names.add(env.name)
            ref = env.value_source.secret_key_ref if "value_source" in env else None
            if ref is not None and not ref.secret:
                raise base.invalid(
                    f"Environment variable {env.name!r}: secret_key_ref.secret is required."
                )
    total = sum(t.percent for t in svc.traffic)
    if svc.traffic and total != 100:
        raise base.invalid(f"service.traffic: percentages must add up to 100, got {total}.")
