"""Rotate a secret: add the new value, verify it, point the Cloud Run service at it, move the
configured aliases, and retire the old versions. Every step is idempotent, so a rotation that
failed half-way is finished by running it again.

Order matters: the new version is read back and verified before anything old is touched, and a
version the Cloud Run service still pins is never disabled or destroyed (it is reported as
protected instead).

Two rotations may run at once (two people, CI and a person). Nothing is decided from a stale
view: the service's pin and the aliases are derived from the versions as they are when written
(the newest enabled version wins, so the last writer never moves them backwards), alias writes
carry the secret's etag and each retirement the version's etag, and a lost race is re-read and
retried or reported. Versions newer than this rotation's own belong to the other one: kept.
With ``--keep 1`` no older version stays enabled, so the second alias (``previous``) is removed
rather than left on a disabled version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from thothctl import cloudrun, retry
from thothctl.config import Config, SecretSpec
from thothctl.errors import OperationError, UsageError
from thothctl.secrets.iam import check_permissions
from thothctl.secrets.store import (
    AddResult,
    VersionInfo,
    access,
    add_version,
    get_version,
    list_versions,
    move_aliases,
    number_of,
    set_state,
)
from thothctl.secrets.values import SecretValue, crc32c, spec_for
from thothctl.words import join, noun, plural


class NoteKind(StrEnum):
    UNCHANGED = "unchanged"  # no version was added: the newest enabled one holds the value
    PROTECTED = "protected"  # old versions left enabled because the service pins them
    BILLED = "billed"  # disabled versions are still billed
    SUPERSEDED = "superseded"  # a concurrent rotation added a newer version: it wins
    CHANGED = "changed"  # someone re-enabled a version this rotation would retire: left alone


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str

    @property
    def warning(self) -> bool:
        """Whether the user should act on it (a pinned version left enabled)."""
        return self.kind in (NoteKind.PROTECTED, NoteKind.CHANGED)


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


def _retire_one(
    clients: Any, name: str, version: VersionInfo, action: str, result: RotateResult
) -> bool:
    """Disable (or destroy) one version, guarded by the etag it was listed with. Returns whether
    this rotation changed it; a version someone else changed meanwhile is left as they left it."""
    try:
        set_state(clients, name, str(version.number), action, etag=version.etag)
        return True
    except OperationError:  # destroyed meanwhile (another rotation's --destroy-old): retired
        return False
    except Exception as exc:
        if not retry.is_conflict(exc):
            raise
    now = get_version(clients, name, version.number)
    if now.state == "ENABLED":
        result.notes.append(
            Note(
                NoteKind.CHANGED,
                f"version {version.number} was changed by someone else during the rotation and "
                "is enabled: left as it is",
            )
        )
    return False


def _retire(
    clients: Any, config: Config, spec: SecretSpec, result: RotateResult, keep: int, destroy: bool
) -> None:
    """Disable (or destroy) the versions older than the new one beyond the ``keep`` newest
    enabled, except those the service pins, and move the aliases to the enabled versions, newest
    first. The aliases move first (leaving out what is about to be retired, so nothing that reads
    an alias ever sees a disabled version) and again after retiring when a concurrent change
    moved them back. Versions newer than this rotation's belong to a concurrent one: kept."""
    name, new = spec.name, result.add.version
    all_versions = sorted(
        (VersionInfo.from_pb(v) for v in list_versions(clients, name)),
        key=lambda v: v.number,
        reverse=True,
    )
    enabled = [v.number for v in all_versions if v.state == "ENABLED"]
    older = [n for n in enabled if n < new]
    result.previous = older[0] if older else None
    keep_set = {new, *older[: keep - 1], *(n for n in enabled if n > new)}
    result.kept = sorted(keep_set, reverse=True)
    candidates = [
        v
        for v in all_versions
        if v.number < new
        and v.number not in keep_set
        and (v.state == "ENABLED" or (destroy and v.state != "DESTROYED"))
    ]
    pinned = cloudrun.pinned_versions(clients, config, name) if candidates else set()
    result.protected = [v.number for v in candidates if v.number in pinned]
    retiring = [v for v in candidates if v.number not in pinned]
    result.aliases = move_aliases(clients, name, spec.aliases, exclude=[v.number for v in retiring])
    action = "destroy" if destroy else "disable"
    for version in retiring:
        if _retire_one(clients, name, version, action, result):
            (result.destroyed if destroy else result.disabled).append(version.number)
    if retiring:
        result.aliases = move_aliases(clients, name, spec.aliases)
    _notes(result, all_versions)


def _notes(result: RotateResult, all_versions: list[VersionInfo]) -> None:
    if result.protected:
        result.notes.append(
            Note(
                NoteKind.PROTECTED,
                f"left {noun(len(result.protected), 'version')} {join(result.protected)} enabled: "
                "the Cloud Run service pins them; rerun with --update-service to move it",
            )
        )
    newest = max(result.kept, default=result.add.version)
    if newest > result.add.version:
        result.notes.append(
            Note(
                NoteKind.SUPERSEDED,
                f"version {newest}, added by a concurrent rotation, is newer than this one's "
                f"({result.add.version}): the aliases and the service follow the newest",
            )
        )
    billed = sum(1 for v in all_versions if v.state == "DISABLED") + len(result.disabled)
    if billed:
        result.notes.append(
            Note(
                NoteKind.BILLED,
                f"{plural(billed, 'disabled version')} {noun(billed, 'is')} still billed as active; "
                "destroy them with --destroy-old or `thothctl secrets destroy` when no longer needed",
            )
        )


def _newest_enabled(clients: Any, name: str) -> int:
    """The version a service is pointed at: the newest enabled one as it is now."""
    numbers = [number_of(v.name) for v in list_versions(clients, name, "ENABLED")]
    if not numbers:
        raise OperationError(
            f"secret {name} has no enabled version to point the service at",
            hint=f"someone disabled it meanwhile; see `thothctl secrets versions {name}`",
        )
    return max(numbers)


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
        result.service = cloudrun.point_at_version(
            clients, config, name, lambda: _newest_enabled(clients, name)
        )
    _retire(clients, config, spec, result, keep, destroy_old)
    return result
