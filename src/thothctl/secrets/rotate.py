"""Rotate a secret: add the new value, verify it, point the Cloud Run service at it, move the
configured aliases, and retire the old versions. Every step is idempotent, so a rotation that
failed half-way is finished by running it again.

Order matters: the new version is read back and verified before anything old is touched, and a
version the Cloud Run service still pins is never disabled or destroyed (it is reported as
protected instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from thothctl import cloudrun
from thothctl.config import Config, SecretSpec
from thothctl.errors import OperationError, UsageError
from thothctl.secrets.iam import check_permissions
from thothctl.secrets.store import (
    AddResult,
    VersionInfo,
    access,
    add_version,
    list_versions,
    move_aliases,
    set_state,
)
from thothctl.secrets.values import SecretValue, crc32c, spec_for


class NoteKind(StrEnum):
    UNCHANGED = "unchanged"  # no version was added: the newest enabled one holds the value
    PROTECTED = "protected"  # old versions left enabled because the service pins them
    BILLED = "billed"  # disabled versions are still billed


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str

    @property
    def warning(self) -> bool:
        """Whether the user should act on it (a pinned version left enabled)."""
        return self.kind is NoteKind.PROTECTED


@dataclass
class RotateResult:
    secret: str
    add: AddResult
    verified: bool = False
    previous: int | None = None
    kept: list[int] = field(default_factory=list)
    disabled: list[int] = field(default_factory=list)
    destroyed: list[int] = field(default_factory=list)
    protected: list[int] = field(default_factory=list)  # pinned by the service: left enabled
    aliases: dict[str, int | None] = field(default_factory=dict)
    service: cloudrun.ServiceUpdate | None = None
    notes: list[Note] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "version": self.add.version,
            "added": self.add.added,
            "recovered_lost_response": self.add.recovered,
            "verified": self.verified,
            "previous": self.previous,
            "kept": self.kept,
            "disabled": self.disabled,
            "destroyed": self.destroyed,
            "protected": self.protected,
            "aliases": self.aliases,
            "service": self.service.to_json() if self.service else None,
            "notes": [n.text for n in self.notes],
        }


def _permissions(spec: SecretSpec, destroy_old: bool) -> list[str]:
    needed = [
        "secretmanager.versions.add",
        "secretmanager.versions.destroy" if destroy_old else "secretmanager.versions.disable",
    ]
    if spec.aliases:
        needed.append("secretmanager.secrets.update")
    return needed


def _verify(clients: Any, name: str, value: SecretValue, version: int) -> None:
    """Read the version back: it must be the value just written (bytes and CRC32C)."""
    number, data = access(clients, name, str(version))
    if number != version or crc32c(data) != value.crc32c or data != value.data:
        raise OperationError(
            f"version {version} of {name} does not read back as the value just written",
            hint="nothing was disabled; inspect it with `thothctl secrets versions " + name + "`",
        )


def _retire(
    clients: Any, config: Config, spec: SecretSpec, result: RotateResult, keep: int, destroy: bool
) -> None:
    """Move the aliases to the newest enabled versions, then disable (or destroy) the versions
    older than the new one beyond the ``keep`` newest enabled, except those the service pins."""
    name, new = spec.name, result.add.version
    all_versions = sorted(
        (VersionInfo.from_pb(v) for v in list_versions(clients, name)),
        key=lambda v: v.number,
        reverse=True,
    )
    enabled = [v.number for v in all_versions if v.state == "ENABLED"]
    older_enabled = [n for n in enabled if n != new]
    result.previous = older_enabled[0] if older_enabled else None
    result.aliases = move_aliases(clients, name, spec.aliases, [new, *older_enabled])

    keep_set = {new, *older_enabled[: keep - 1]}
    result.kept = sorted(keep_set, reverse=True)
    candidates = [
        v.number
        for v in all_versions
        if v.number < new and v.number not in keep_set and v.state != "DESTROYED"
    ]
    if not destroy:
        candidates = [n for n in candidates if n in enabled]
    pinned = cloudrun.pinned_versions(clients, config, name) if candidates else set()
    for number in candidates:
        if number in pinned:
            result.protected.append(number)
            continue
        set_state(clients, name, str(number), "destroy" if destroy else "disable")
        (result.destroyed if destroy else result.disabled).append(number)
    if result.protected:
        result.notes.append(
            Note(
                NoteKind.PROTECTED,
                f"left version(s) {', '.join(map(str, result.protected))} enabled: the Cloud Run "
                "service pins them (rerun with --update-service to move it)",
            )
        )
    billed = sum(1 for v in all_versions if v.state == "DISABLED") + len(result.disabled)
    if billed:
        result.notes.append(
            Note(
                NoteKind.BILLED,
                f"{billed} disabled version(s) are still billed as active versions; "
                "destroy them with --destroy-old or `thothctl secrets destroy` when no longer needed",
            )
        )


def rotate(
    clients: Any,
    config: Config,
    name: str,
    value: SecretValue,
    *,
    keep: int = 2,
    destroy_old: bool = False,
    update_run_service: bool = False,
) -> RotateResult:
    """Add (unless the newest enabled version already holds the value), verify by reading back,
    optionally update the Cloud Run service, move the configured aliases, then disable (or with
    ``destroy_old`` destroy) the versions beyond the newest ``keep`` enabled ones. Re-runnable."""
    spec = spec_for(config, name)
    if keep < 1:
        raise UsageError(f"--keep {keep} is out of range: keep at least 1 version (the new one)")
    check_permissions(clients, name, _permissions(spec, destroy_old))
    added = add_version(clients, name, value, skip_if_same=True)
    result = RotateResult(secret=name, add=added)
    if not added.added:
        result.notes.append(Note(NoteKind.UNCHANGED, f"no new version added: {added.note}"))
    _verify(clients, name, value, added.version)
    result.verified = True
    if update_run_service:
        result.service = cloudrun.point_at_version(clients, config, name, added.version)
    _retire(clients, config, spec, result, keep, destroy_old)
    return result
