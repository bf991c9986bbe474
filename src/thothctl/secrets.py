"""Secret Manager, the Thoth way: list configured vs existing secrets, read values safely, add
versions without ever creating a duplicate, rotate with verification, grant least privilege.

Rules kept here (DESIGN.md, "Secrets hygiene"):

- A value is bytes in memory only. It is never put in an exception message, a result object or a
  log line; results carry version numbers, states and CRC32C checksums, never payloads.
- Every AddSecretVersion carries ``data_crc32c``; every access verifies the checksum it gets back.
- AddSecretVersion is never retried blindly: after a transient error the newest version is read
  back and, if it is newer than before and holds the same bytes, the first try took effect.
- Values are checked before any call: not empty, at most 64 KiB, UTF-8 for text secrets, valid
  JSON for ``format = "json"`` secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from thothctl import iampolicy, retry
from thothctl.config import Config, SecretSpec
from thothctl.errors import NotFoundError, OperationError, UsageError, code_of

MAX_PAYLOAD = 65536
PAGE_SIZE = 25000  # the largest page ListSecrets / ListSecretVersions allow
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
STATES = ("ENABLED", "DISABLED", "DESTROYED")


# --- value input ------------------------------------------------------------------------------


@dataclass
class SecretValue:
    """A value ready to upload. ``source`` says where it came from (never the value itself)."""

    data: bytes
    source: str
    stripped_newline: bool = False

    def __repr__(self) -> str:  # never show the bytes, even in a traceback
        return f"SecretValue(<{len(self.data)} bytes redacted>, source={self.source!r})"

    @property
    def crc32c(self) -> int:
        return crc32c(self.data)


def crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


def default_spec(name: str) -> SecretSpec:
    """The spec of a secret that is not in the config: text, env var derived from the name."""
    return SecretSpec(
        name=name,
        env=name.upper().replace("-", "_"),
        description=name,
        required=False,
        default=None,
        format="text",
    )


def spec_for(config: Config, name: str) -> SecretSpec:
    return config.secrets.get(name) or default_spec(name)


def check_value(spec: SecretSpec, data: bytes, source: str) -> None:
    """Refuse empty, oversized, non-UTF-8 text and invalid JSON values (UsageError, exit 2)."""
    if not data:
        raise UsageError(
            f"the value for {spec.name} from {source} is empty: Secret Manager refuses empty values",
            hint="nothing was changed",
        )
    if len(data) > MAX_PAYLOAD:
        raise UsageError(
            f"the value for {spec.name} from {source} is {len(data)} bytes: the limit is "
            f"{MAX_PAYLOAD} bytes (64 KiB)",
            hint="store large files elsewhere (e.g. Cloud Storage) and keep a reference here",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the value for {spec.name} from {source} is not valid UTF-8 (byte {exc.start}): "
            f"{spec.name} holds {spec.format}",
            hint="check the file's encoding; nothing was changed",
        ) from None
    if spec.format == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            # Position only: the message of a JSON error could quote part of the value.
            line, col = getattr(exc, "lineno", "?"), getattr(exc, "colno", "?")
            raise UsageError(
                f"the value for {spec.name} from {source} is not valid JSON "
                f"(line {line}, column {col}): {spec.name} holds JSON",
                hint="check the file, e.g. with `python -m json.tool FILE`; nothing was changed",
            ) from None


def value_from_stdin(spec: SecretSpec, data: bytes) -> SecretValue:
    """stdin loses exactly one trailing newline (the `echo token |` footgun)."""
    stripped = False
    if data.endswith(b"\r\n"):
        data, stripped = data[:-2], True
    elif data.endswith(b"\n"):
        data, stripped = data[:-1], True
    check_value(spec, data, "stdin")
    return SecretValue(data, "stdin", stripped)


def value_from_file(spec: SecretSpec, path: str) -> SecretValue:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PAYLOAD + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", hint="check --from-file") from None
    if len(data) > MAX_PAYLOAD:
        size = os.path.getsize(path)
        raise UsageError(
            f"the value for {spec.name} from {path} is {size} bytes: the limit is {MAX_PAYLOAD} "
            "bytes (64 KiB)",
            hint="nothing was changed",
        )
    check_value(spec, data, path)
    return SecretValue(data, path)


def value_from_env(spec: SecretSpec, environ: Mapping[str, str]) -> SecretValue:
    raw = environ.get(spec.env)
    if raw is None:
        raise UsageError(
            f"no value for {spec.name}: ${spec.env} is not set and prompting is off",
            hint=f"set {spec.env}, pipe the value with --from-file -, or pass --from-file PATH",
        )
    data = raw.encode("utf-8", errors="surrogateescape")
    check_value(spec, data, f"${spec.env}")
    return SecretValue(data, f"${spec.env}")


def value_from_prompt(spec: SecretSpec, text: str) -> SecretValue:
    data = text.encode("utf-8", errors="surrogateescape")
    check_value(spec, data, "the prompt")
    return SecretValue(data, "prompt")


# --- results ------------------------------------------------------------------------------------


def _time(ts: Any) -> dt.datetime | None:
    if ts is None:
        return None
    if isinstance(ts, dt.datetime):
        return ts if ts.year > 1970 else None
    return None


@dataclass
class VersionInfo:
    number: int
    state: str
    create_time: dt.datetime | None
    destroy_time: dt.datetime | None = None
    scheduled_destroy_time: dt.datetime | None = None
    aliases: list[str] = field(default_factory=list)
    etag: str = ""

    @classmethod
    def from_pb(cls, v: Any, aliases: Mapping[str, int] | None = None) -> VersionInfo:
        number = int(v.name.rsplit("/", 1)[-1])
        return cls(
            number=number,
            state=v.state.name,
            create_time=_time(v.create_time),
            destroy_time=_time(v.destroy_time) if "destroy_time" in v else None,
            scheduled_destroy_time=_time(v.scheduled_destroy_time)
            if "scheduled_destroy_time" in v
            else None,
            aliases=sorted(a for a, n in (aliases or {}).items() if n == number),
            etag=v.etag,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "state": self.state,
            "create_time": self.create_time,
            "destroy_time": self.destroy_time,
            "scheduled_destroy_time": self.scheduled_destroy_time,
            "aliases": self.aliases,
        }


@dataclass
class SecretStatus:
    name: str
    configured: bool
    exists: bool
    env: str | None = None
    description: str | None = None
    required: bool = False
    format: str = "text"
    resource: str | None = None
    create_time: dt.datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    replication: str | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[VersionInfo] | None = None
    bindings: dict[str, list[str]] | None = None

    @property
    def counts(self) -> dict[str, int] | None:
        if self.versions is None:
            return None
        return {s.lower(): sum(1 for v in self.versions if v.state == s) for s in STATES}

    @property
    def latest(self) -> VersionInfo | None:
        return max(self.versions, key=lambda v: v.number) if self.versions else None

    @property
    def accessors(self) -> list[str] | None:
        if self.bindings is None:
            return None
        out: list[str] = []
        for role in (ACCESSOR_ROLE, "roles/secretmanager.admin", "roles/owner"):
            out.extend(m for m in self.bindings.get(role, []) if m not in out)
        return out

    def to_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "name": self.name,
            "configured": self.configured,
            "exists": self.exists,
            "env": self.env,
            "description": self.description,
            "required": self.required,
            "format": self.format,
            "resource": self.resource,
            "create_time": self.create_time,
            "labels": self.labels,
            "replication": self.replication,
            "aliases": self.aliases,
            "versions": self.counts,
            "latest": None
            if latest is None
            else {
                "version": latest.number,
                "state": latest.state,
                "create_time": latest.create_time,
            },
            "accessors": self.accessors,
            "bindings": self.bindings,
        }


@dataclass
class AddResult:
    secret: str
    version: int
    added: bool
    crc32c: int
    recovered: bool = False  # the first try took effect although its response was lost
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "version": self.version,
            "added": self.added,
            "crc32c": self.crc32c,
            "recovered_lost_response": self.recovered,
            "note": self.note,
        }


@dataclass
class ServiceUpdate:
    service: str
    updated: bool = False
    pinned: list[str] = field(default_factory=list)  # env vars now pinned to the new version
    refreshed: list[str] = field(default_factory=list)  # env vars on latest/alias: new revision
    revision: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "updated": self.updated,
            "pinned": self.pinned,
            "refreshed": self.refreshed,
            "revision": self.revision,
            "note": self.note,
        }


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
    service: ServiceUpdate | None = None
    notes: list[str] = field(default_factory=list)

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
            "notes": self.notes,
        }


@dataclass
class GrantResult:
    secret: str
    member: str
    role: str
    changed: bool
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "member": self.member,
            "role": self.role,
            "changed": self.changed,
            "attempts": self.attempts,
        }


# --- names and small helpers -------------------------------------------------------------------


def secret_path(clients: Any, name: str) -> str:
    return f"projects/{clients.project}/secrets/{name}"


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        f"secret {name} does not exist in this project",
        hint=f"create it with `thothctl secrets create {name}`",
    )


def _replication(secret: Any) -> str:
    if "user_managed" in secret.replication:
        return "user-managed: " + ", ".join(
            r.location for r in secret.replication.user_managed.replicas
        )
    return "automatic"


def _list_versions(clients: Any, name: str, state: str | None = None) -> list[Any]:
    request: dict[str, Any] = {"parent": secret_path(clients, name), "page_size": PAGE_SIZE}
    if state:
        request["filter"] = f"state:{state}"
    return list(clients.secrets.list_secret_versions(request=request))


def _bindings(policy: Any) -> dict[str, list[str]]:
    return iampolicy.all_bindings(policy)


def _get_policy(clients: Any, name: str) -> Any:
    return clients.secrets.get_iam_policy(
        request={"resource": secret_path(clients, name), "options": {"requested_policy_version": 3}}
    )


def _status_from(
    clients: Any, name: str, spec: SecretSpec | None, secret: Any, details: bool
) -> SecretStatus:
    st = SecretStatus(
        name=name,
        configured=spec is not None,
        exists=secret is not None,
        env=spec.env if spec else None,
        description=spec.description if spec else None,
        required=spec.required if spec else False,
        format=spec.format if spec else "text",
    )
    if secret is None:
        return st
    st.resource = secret.name
    st.create_time = _time(secret.create_time)
    st.labels = dict(secret.labels)
    st.replication = _replication(secret)
    st.aliases = dict(secret.version_aliases)
    if details:
        st.versions = [VersionInfo.from_pb(v, st.aliases) for v in _list_versions(clients, name)]
        st.bindings = _bindings(_get_policy(clients, name))
    return st


# --- reading ------------------------------------------------------------------------------------


def list_secrets(clients: Any, config: Config) -> list[SecretStatus]:
    """Configured and existing secrets side by side. Never fetches a value.

    One ListSecrets call (largest page), then for each configured secret that exists one
    ListSecretVersions and one GetIamPolicy, in parallel."""
    existing = {
        s.name.rsplit("/", 1)[-1]: s
        for s in clients.secrets.list_secrets(
            request={"parent": f"projects/{clients.project}", "page_size": PAGE_SIZE}
        )
    }
    names = list(config.secrets) + sorted(n for n in existing if n not in config.secrets)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [
            pool.submit(
                _status_from,
                clients,
                n,
                config.secrets.get(n),
                existing.get(n),
                n in config.secrets,
            )
            for n in names
        ]
        return [f.result() for f in futures]


def describe(clients: Any, config: Config, name: str) -> SecretStatus:
    try:
        secret = clients.secrets.get_secret(request={"name": secret_path(clients, name)})
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            if name in config.secrets:
                return _status_from(clients, name, config.secrets[name], None, False)
            raise _not_found(name) from None
        raise
    return _status_from(clients, name, config.secrets.get(name), secret, True)


def versions(clients: Any, name: str, state: str | None = None) -> list[VersionInfo]:
    try:
        secret = clients.secrets.get_secret(request={"name": secret_path(clients, name)})
        found = _list_versions(clients, name, state)
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise _not_found(name) from None
        raise
    aliases = dict(secret.version_aliases)
    return [VersionInfo.from_pb(v, aliases) for v in found]


def _verified_payload(response: Any, what: str) -> bytes:
    data = bytes(response.payload.data)
    expected = response.payload.data_crc32c if "data_crc32c" in response.payload else None
    if expected is not None and crc32c(data) != expected:
        raise OperationError(
            f"the value of {what} failed its CRC32C check (corrupted in transit)",
            hint="try again; if it persists, the stored version is damaged",
        )
    return data


def access(clients: Any, name: str, version: str = "latest") -> tuple[int, bytes]:
    """(version number, value) of one version, CRC32C-verified."""
    try:
        response = clients.secrets.access_secret_version(
            request={"name": f"{secret_path(clients, name)}/versions/{version}"}
        )
    except Exception as exc:
        code, msg = code_of(exc), getattr(exc, "message", "") or str(exc)
        if code == "NOT_FOUND":
            if "no versions" in msg:
                raise NotFoundError(
                    f"secret {name} does not exist or has no versions",
                    hint=f"add one with `thothctl secrets set {name}`",
                ) from None
            raise NotFoundError(f"version {version} of secret {name} does not exist") from None
        if code == "FAILED_PRECONDITION":
            state = "destroyed" if "DESTROYED" in msg else "disabled"
            number = (
                msg.split("/versions/", 1)[-1].split("]", 1)[0] if "/versions/" in msg else version
            )
            hint = (
                f"`thothctl secrets enable {name} {number}`, or read another version with --version"
                if state == "disabled"
                else "read another version with --version (a destroyed version is gone for good)"
            )
            raise OperationError(
                f"version {number} of secret {name} is {state}", hint=hint
            ) from None
        raise
    number = int(response.name.rsplit("/", 1)[-1])
    return number, _verified_payload(response, f"{name} version {number}")


def latest_enabled(clients: Any, name: str) -> tuple[int, bytes] | None:
    """The newest ENABLED version and its value, or None when there is none."""
    enabled = _list_versions(clients, name, "ENABLED")
    if not enabled:
        return None
    newest = max(int(v.name.rsplit("/", 1)[-1]) for v in enabled)
    return access(clients, name, str(newest))


# --- writing ------------------------------------------------------------------------------------


def create(
    clients: Any, name: str, labels: Mapping[str, str] | None = None, locations: Iterable[str] = ()
) -> tuple[bool, SecretStatus]:
    """Create the secret (automatic replication unless locations are given).

    Returns (created, status). An existing secret is read back and left alone; if its labels
    differ from the requested ones the caller is told through the status."""
    locations = list(locations)
    replication: dict[str, Any] = (
        {"user_managed": {"replicas": [{"location": loc} for loc in locations]}}
        if locations
        else {"automatic": {}}
    )
    request = {
        "parent": f"projects/{clients.project}",
        "secret_id": name,
        "secret": {"replication": replication, "labels": dict(labels or {})},
    }
    created = True
    for attempt, last in enumerate(clients.creation_attempts(), 1):
        try:
            secret = clients.secrets.create_secret(request=request)
            break
        except Exception as exc:
            if code_of(exc) == "ALREADY_EXISTS":
                # Either it existed before, or our earlier try took effect: read it back.
                secret = clients.secrets.get_secret(request={"name": secret_path(clients, name)})
                created = attempt > 1 and dict(secret.labels) == dict(labels or {})
                break
            if not _transient(exc) or last:
                raise
    return created, _status_from(clients, name, None, secret, False)


def _transient(exc: BaseException) -> bool:
    return retry.is_transient(exc)


def _newest_number(clients: Any, name: str) -> int:
    found = _list_versions(clients, name)
    return max((int(v.name.rsplit("/", 1)[-1]) for v in found), default=0)


def _settle_race(
    clients: Any, name: str, value: SecretValue, before: int, result: AddResult
) -> AddResult:
    """Two writers (two people, a CI job and a person) adding the same value at once both pass
    the "already holds this value" check. Secret Manager has no conditional add, so the race is
    settled after the fact: of the identical versions added since ``before``, the lowest number
    wins and the others are destroyed by the writer that added them."""
    rivals = [
        int(v.name.rsplit("/", 1)[-1])
        for v in _list_versions(clients, name, "ENABLED")
        if before < int(v.name.rsplit("/", 1)[-1]) < result.version
    ]
    for number in sorted(rivals):
        try:
            _, data = access(clients, name, str(number))
        except (NotFoundError, OperationError):
            continue
        if data == value.data:
            clients.secrets.destroy_secret_version(
                request={"name": f"{secret_path(clients, name)}/versions/{result.version}"}
            )
            return AddResult(
                name,
                number,
                False,
                result.crc32c,
                note=f"another writer added this value as version {number} at the same time; "
                f"the duplicate version {result.version} was destroyed",
            )
    return result


def add_version(
    clients: Any, name: str, value: SecretValue, *, skip_if_same: bool = True
) -> AddResult:
    """Add a version with ``data_crc32c``; never a duplicate.

    With ``skip_if_same`` nothing is added when the newest ENABLED version already holds these
    bytes. After a transient error the newest version is read back: if it is newer than before and
    holds the same bytes, the first try took effect (its response was lost) and is not repeated.
    """
    crc = value.crc32c
    try:
        before = _newest_number(clients, name)
        if skip_if_same:
            current = latest_enabled(clients, name)
            if current is not None and current[1] == value.data:
                return AddResult(
                    name,
                    current[0],
                    False,
                    crc,
                    note=f"version {current[0]} already holds this value",
                )
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise _not_found(name) from None
        raise
    request = {
        "parent": secret_path(clients, name),
        "payload": {"data": value.data, "data_crc32c": crc},
    }
    for last in clients.creation_attempts():
        try:
            version = clients.secrets.add_secret_version(request=request)
            added = int(version.name.rsplit("/", 1)[-1])
            return _settle_race(clients, name, value, before, AddResult(name, added, True, crc))
        except Exception as exc:
            if code_of(exc) == "NOT_FOUND":
                raise _not_found(name) from None
            if not _transient(exc) or last:
                raise
        # Did the failed try take effect? Read the newest version back before trying again.
        try:
            number, data = access(clients, name, "latest")
        except (NotFoundError, OperationError):
            number, data = 0, b""
        if number > before and crc32c(data) == crc and data == value.data:
            return _settle_race(
                clients, name, value, before, AddResult(name, number, True, crc, recovered=True)
            )
    raise AssertionError("unreachable")


def set_state(clients: Any, name: str, version: str, action: str) -> VersionInfo:
    """Enable, disable or destroy one version (action: enable | disable | destroy)."""
    method = {
        "enable": clients.secrets.enable_secret_version,
        "disable": clients.secrets.disable_secret_version,
        "destroy": clients.secrets.destroy_secret_version,
    }[action]
    try:
        v = method(request={"name": f"{secret_path(clients, name)}/versions/{version}"})
    except Exception as exc:
        code, msg = code_of(exc), getattr(exc, "message", "") or str(exc)
        if code == "NOT_FOUND":
            if "Secret [" in msg and "Version" not in msg:
                raise _not_found(name) from None
            raise NotFoundError(f"version {version} of secret {name} does not exist") from None
        if code == "FAILED_PRECONDITION" and "DESTROYED" in msg:
            raise OperationError(
                f"version {version} of secret {name} is destroyed: it cannot be {action}d",
                hint="destroyed versions are gone for good; add a new one with `thothctl secrets set`",
            ) from None
        raise
    return VersionInfo.from_pb(v)


def delete(clients: Any, name: str) -> None:
    try:
        clients.secrets.delete_secret(request={"name": secret_path(clients, name)})
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise _not_found(name) from None
        raise


def _modify_policy(
    clients: Any, name: str, mutate: Callable[[Any], bool]
) -> iampolicy.PolicyChange:
    resource = secret_path(clients, name)
    try:
        return iampolicy.modify(
            lambda: _get_policy(clients, name),
            lambda p: clients.secrets.set_iam_policy(request={"resource": resource, "policy": p}),
            mutate,
            resource=f"secret {name}",
        )
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise _not_found(name) from None
        raise


def check_permissions(clients: Any, name: str, permissions: list[str]) -> None:
    """Before a change made of several writes (rotate): TestIamPermissions on the secret, so a
    missing permission stops it before the first write instead of half-way. An empty answer
    (the secret does not exist, or the caller may not even test) is left to the calls that
    follow, which report it precisely."""
    from thothctl.errors import PermissionDeniedError, role_for_permission

    resource = secret_path(clients, name)
    try:
        response = clients.secrets.test_iam_permissions(
            request={"resource": resource, "permissions": permissions}
        )
    except Exception as exc:
        if code_of(exc) in ("NOT_FOUND", "PERMISSION_DENIED", "UNIMPLEMENTED"):
            return
        raise
    granted = set(response.permissions)
    missing = [p for p in permissions if p not in granted]
    if granted and missing:
        role = role_for_permission(missing[0]) or "roles/secretmanager.admin"
        raise PermissionDeniedError(
            f"permission {', '.join(missing)} denied on {resource}; nothing was changed",
            hint=f"grant the caller {role} (it includes {missing[0]}) on the secret or project",
        )


def grant(clients: Any, name: str, member: str, role: str = ACCESSOR_ROLE) -> GrantResult:
    change = _modify_policy(clients, name, lambda p: iampolicy.add_member(p, role, member))
    return GrantResult(name, member, role, change.changed, change.attempts)


def revoke(clients: Any, name: str, member: str, role: str = ACCESSOR_ROLE) -> GrantResult:
    change = _modify_policy(clients, name, lambda p: iampolicy.remove_member(p, role, member))
    return GrantResult(name, member, role, change.changed, change.attempts)


# --- rotation -----------------------------------------------------------------------------------


def service_path(clients: Any, config: Config) -> str:
    return f"projects/{clients.project}/locations/{config.region}/services/{config.service}"


def _refers_to(ref_secret: str, name: str) -> bool:
    if ref_secret == name:
        return True
    parts = ref_secret.split("/")
    return len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets" and parts[3] == name


def _secret_refs(service: Any, name: str) -> list[tuple[Any, Any]]:
    """(env var, secret_key_ref) pairs of the service's containers that reference the secret."""
    refs = []
    for container in service.template.containers:
        for env in container.env:
            if "value_source" in env and "secret_key_ref" in env.value_source:
                ref = env.value_source.secret_key_ref
                if _refers_to(ref.secret, name):
                    refs.append((env, ref))
    return refs


def pinned_versions(clients: Any, config: Config, name: str) -> set[int]:
    """Version numbers of the secret the Cloud Run service pins (best effort: empty if unknown)."""
    try:
        service = clients.run.get_service(request={"name": service_path(clients, config)})
    except Exception as exc:
        if code_of(exc) in ("NOT_FOUND", "PERMISSION_DENIED"):
            return set()
        raise
    return {int(ref.version) for _, ref in _secret_refs(service, name) if ref.version.isdigit()}


def rotation_annotation(name: str) -> str:
    return "thothctl.dev/" + f"rotated-{name}"[:63]


def update_service(
    clients: Any, config: Config, name: str, version: int, attempts: int = 4
) -> ServiceUpdate:
    """Point the Cloud Run service at the new version: numeric refs are pinned to it, refs to
    ``latest`` or an alias get a new revision (an annotation naming the version), because Cloud
    Run resolves env-var secrets only when an instance starts. Idempotent."""
    path = service_path(clients, config)
    result = ServiceUpdate(service=path)
    for last in retry.attempts(tries=attempts, maximum=2.0):
        try:
            service = clients.run.get_service(request={"name": path})
        except Exception as exc:
            if code_of(exc) == "NOT_FOUND":
                raise NotFoundError(
                    f"Cloud Run service {config.service} does not exist in {config.region}",
                    hint="check `service` and `region` in thothctl.toml, or drop --update-service",
                ) from None
            raise
        refs = _secret_refs(service, name)
        if not refs:
            result.note = f"the service does not reference secret {name}; nothing to update"
            return result
        pinned, refreshed = [], []
        for env, ref in refs:
            if ref.version.isdigit():
                if int(ref.version) != version:
                    ref.version = str(version)
                    pinned.append(env.name)
            else:
                refreshed.append(env.name)
        key = rotation_annotation(name)
        if refreshed and service.template.annotations.get(key) != str(version):
            service.template.annotations[key] = str(version)
        elif not pinned:
            result.note = f"the service already uses version {version}"
            result.revision = service.latest_ready_revision.rsplit("/", 1)[-1] or None
            return result
        service.template.revision = ""  # a new, generated revision name
        try:
            operation = clients.run.update_service(request={"service": service})
            updated = clients.wait(operation)
        except Exception as exc:
            if retry.is_conflict(exc) and not last:
                continue  # someone deployed in between: read again
            raise
        result.updated = True
        result.pinned, result.refreshed = pinned, refreshed
        result.revision = (updated.latest_created_revision or "").rsplit("/", 1)[-1] or None
        return result
    raise OperationError(f"the Cloud Run service {config.service} kept changing under us")


def _move_aliases(
    clients: Any, name: str, aliases: tuple[str, ...], order: list[int]
) -> dict[str, int | None]:
    """Point the configured aliases at the newest enabled versions in order (current, previous...)."""
    if not aliases:
        return {}
    path = secret_path(clients, name)
    secret = clients.secrets.get_secret(request={"name": path})
    wanted = dict(secret.version_aliases)
    moved: dict[str, int | None] = {}
    for i, alias in enumerate(aliases):
        target = order[i] if i < len(order) else None
        moved[alias] = target
        if target is None:
            wanted.pop(alias, None)
        else:
            wanted[alias] = target
    if wanted != dict(secret.version_aliases):
        clients.secrets.update_secret(
            request={
                "secret": {"name": path, "version_aliases": wanted, "etag": secret.etag},
                "update_mask": {"paths": ["version_aliases"]},
            }
        )
    return moved


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
    needed = [
        "secretmanager.versions.add",
        "secretmanager.versions.destroy" if destroy_old else "secretmanager.versions.disable",
    ]
    if spec.aliases:
        needed.append("secretmanager.secrets.update")
    check_permissions(clients, name, needed)
    added = add_version(clients, name, value, skip_if_same=True)
    result = RotateResult(secret=name, add=added)
    if not added.added:
        result.notes.append(f"no new version added: {added.note}")

    # Read it back and verify.
    number, data = access(clients, name, str(added.version))
    if number != added.version or crc32c(data) != value.crc32c or data != value.data:
        raise OperationError(
            f"version {added.version} of {name} does not read back as the value just written",
            hint="nothing was disabled; inspect it with `thothctl secrets versions " + name + "`",
        )
    result.verified = True

    if update_run_service:
        result.service = update_service(clients, config, name, added.version)

    all_versions = sorted(
        (VersionInfo.from_pb(v) for v in _list_versions(clients, name)),
        key=lambda v: v.number,
        reverse=True,
    )
    enabled = [v.number for v in all_versions if v.state == "ENABLED"]
    older_enabled = [n for n in enabled if n != added.version]
    result.previous = older_enabled[0] if older_enabled else None
    result.aliases = _move_aliases(clients, name, spec.aliases, [added.version, *older_enabled])

    keep_set = {added.version, *older_enabled[: keep - 1]}
    result.kept = sorted(keep_set, reverse=True)
    candidates = [
        v.number
        for v in all_versions
        if v.number < added.version and v.number not in keep_set and v.state != "DESTROYED"
    ]
    if not destroy_old:
        candidates = [n for n in candidates if n in enabled]
    pinned = pinned_versions(clients, config, name) if candidates else set()
    for number in candidates:
        if number in pinned:
            result.protected.append(number)
            continue
        if destroy_old:
            set_state(clients, name, str(number), "destroy")
            result.destroyed.append(number)
        else:
            set_state(clients, name, str(number), "disable")
            result.disabled.append(number)
    if result.protected:
        result.notes.append(
            f"left version(s) {', '.join(map(str, result.protected))} enabled: the Cloud Run service "
            "pins them (rerun with --update-service to move it)"
        )
    disabled_total = sum(1 for v in all_versions if v.state == "DISABLED") + len(result.disabled)
    if disabled_total:
        result.notes.append(
            f"{disabled_total} disabled version(s) are still billed as active versions; "
            "destroy them with --destroy-old or `thothctl secrets destroy` when no longer needed"
        )
    return result


# --- exec / runtime ----------------------------------------------------------------------------


@dataclass
class Resolved:
    name: str
    env: str
    source: str  # "environment" | "version N" | "default" | "missing"
    value: str | None = None

    def __repr__(self) -> str:
        return f"Resolved({self.name!r}, env={self.env!r}, source={self.source!r})"


def resolve_one(clients: Any, spec: SecretSpec, environ: Mapping[str, str]) -> Resolved:
    """The value for one secret: the env var if set, else the newest enabled version, else the
    config default. Raises for a required secret that has no value anywhere."""
    if environ.get(spec.env) is not None:
        return Resolved(spec.name, spec.env, "environment", environ[spec.env])
    found = None
    try:
        number, data = access(clients, spec.name, "latest")
        found = (number, data)
    except OperationError:  # newest version disabled/destroyed: use the newest enabled one
        found = latest_enabled(clients, spec.name)
    except NotFoundError:
        found = None
    if found is not None:
        try:
            text = found[1].decode("utf-8")
        except UnicodeDecodeError:
            raise OperationError(
                f"secret {spec.name} version {found[0]} is not UTF-8 text: it cannot be put in ${spec.env}"
            ) from None
        if "\x00" in text:
            raise OperationError(
                f"secret {spec.name} version {found[0]} contains a NUL byte: not usable in ${spec.env}"
            )
        return Resolved(spec.name, spec.env, f"version {found[0]}", text)
    if spec.default is not None:
        return Resolved(spec.name, spec.env, "default", spec.default)
    if spec.required:
        raise NotFoundError(
            f"secret {spec.name} has no enabled version and ${spec.env} is not set",
            hint=f"add one with `thothctl secrets set {spec.name}` or export {spec.env}",
        )
    return Resolved(spec.name, spec.env, "missing", None)


def resolve_env(
    clients_factory: Callable[[], Any],
    config: Config,
    environ: Mapping[str, str],
    only: Iterable[str] = (),
) -> list[Resolved]:
    """Resolve the configured secrets (or ``only`` those) into env values. Google is contacted only
    when some env var is not set already, so local development works without credentials."""
    names = list(only) or list(config.secrets)
    specs = [config.secret(n) for n in names]
    if all(environ.get(s.env) is not None for s in specs):
        return [Resolved(s.name, s.env, "environment", environ[s.env]) for s in specs]
    clients = clients_factory()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda s: resolve_one(clients, s, environ), specs))
