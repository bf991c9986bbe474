"""Secret Manager CRUD, the Thoth way: list configured vs existing secrets, read values safely,
add versions without ever creating a duplicate, change version states, move aliases.

Rules kept here (docs/architecture.md, "Secrets hygiene"):

- A value is bytes in memory only. It is never put in an exception message, a result object or a
  log line; results carry version numbers, states and CRC32C checksums, never payloads.
- Every AddSecretVersion carries ``data_crc32c``; every access verifies the checksum it gets back.
- AddSecretVersion is never retried blindly: after a transient error the newest version is read
  back and, if it is newer than before and holds the same bytes, the first try took effect.
- Two writers adding the same value at once are settled after the fact: the lowest version wins.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from thothctl import iampolicy, retry, suggest
from thothctl.config import Config, SecretSpec
from thothctl.errors import NotFoundError, OperationError, code_of
from thothctl.secrets.values import SecretValue, crc32c

PAGE_SIZE = 25000  # the largest page ListSecrets / ListSecretVersions allow
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
STATES = ("ENABLED", "DISABLED", "DESTROYED")


# --- results ------------------------------------------------------------------------------------


def _fields(obj: Any, keys: str) -> dict[str, Any]:
    """JSON of ``obj``, in the order of ``keys`` (space-separated): ``key`` is attribute key,
    ``key=attr`` is attribute attr under the name key."""
    out = {}
    for spec in keys.split():
        key, _, attr = spec.partition("=")
        out[key] = getattr(obj, attr or key)
    return out


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
        number = number_of(v.name)
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
        return _fields(
            self, "version=number state create_time destroy_time scheduled_destroy_time aliases"
        )


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
    bindings: dict[str, list[str]] | None = None  # unconditional: role -> members
    conditional_bindings: list[iampolicy.Binding] | None = None  # each with its condition

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

    @property
    def binding_rows(self) -> list[tuple[str, list[str]]]:
        """(role, members) for display: the unconditional bindings, then each conditional one
        as "ROLE if 'TITLE' (EXPRESSION)"."""
        rows = sorted((self.bindings or {}).items())
        return rows + [
            (f"{b.role} if {b.condition}", list(b.members)) for b in self.conditional_bindings or []
        ]

    def to_json(self) -> dict[str, Any]:
        latest = self.latest
        return _fields(
            self,
            "name configured exists env description required format resource create_time labels "
            "replication aliases versions=counts",
        ) | {
            "latest": None
            if latest is None
            else _fields(latest, "version=number state create_time"),
            "accessors": self.accessors,
            "bindings": self.bindings,
            "conditional_bindings": None
            if self.conditional_bindings is None
            else [b.to_json() for b in self.conditional_bindings],
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
        return _fields(self, "secret version added crc32c recovered_lost_response=recovered note")


# --- names and small helpers -------------------------------------------------------------------


def secret_path(clients: Any, name: str) -> str:
    return f"projects/{clients.project}/secrets/{name}"


def version_path(clients: Any, name: str, version: str | int) -> str:
    return f"{secret_path(clients, name)}/versions/{version}"


def number_of(resource_name: str) -> int:
    """The version number at the end of ``projects/P/secrets/S/versions/N``."""
    return int(resource_name.rsplit("/", 1)[-1])


def not_found(name: str, clients: Any = None) -> NotFoundError:
    """Secret ``name`` does not exist: the closest existing names (read with ``clients``, on this
    error path only), else how to create it."""
    guess = suggest.did_you_mean(name, _existing_names(clients)) if clients is not None else None
    return NotFoundError(
        f"secret {name} does not exist in {getattr(clients, 'project', None) or 'this project'}",
        hint=guess or f"create it with `thothctl secrets create {name}`",
    )


def _existing_names(clients: Any) -> list[str]:
    """The project's secret ids, for a suggestion (none when they cannot be read)."""
    try:
        found = clients.secrets.list_secrets(
            request={"parent": f"projects/{clients.project}", "page_size": PAGE_SIZE}
        )
        return [s.name.rsplit("/", 1)[-1] for s in found]
    except Exception:  # only a suggestion: never hide the error being reported
        return []


@contextlib.contextmanager
def existing(name: str, clients: Any = None) -> Iterator[None]:
    """Calls on secret ``name`` inside: NOT_FOUND becomes "does not exist" (with the closest
    names when ``clients`` is given)."""
    try:
        yield
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise not_found(name, clients) from None
        raise


def _code_and_message(exc: BaseException) -> tuple[str, str]:
    return code_of(exc), getattr(exc, "message", "") or str(exc)


def _replication(secret: Any) -> str:
    if "user_managed" in secret.replication:
        return "user-managed: " + ", ".join(
            r.location for r in secret.replication.user_managed.replicas
        )
    return "automatic"


def list_versions(clients: Any, name: str, state: str | None = None) -> list[Any]:
    request: dict[str, Any] = {"parent": secret_path(clients, name), "page_size": PAGE_SIZE}
    if state:
        request["filter"] = f"state:{state}"
    return list(clients.secrets.list_secret_versions(request=request))


def get_policy(clients: Any, name: str) -> Any:
    return clients.secrets.get_iam_policy(request=iampolicy.get_request(secret_path(clients, name)))


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
        st.versions = [VersionInfo.from_pb(v, st.aliases) for v in list_versions(clients, name)]
        policy = get_policy(clients, name)
        st.bindings = iampolicy.all_bindings(policy)
        st.conditional_bindings = iampolicy.conditional_bindings(policy)
    return st


# --- reading ------------------------------------------------------------------------------------


def list_secrets(clients: Any, config: Config) -> list[SecretStatus]:
    """Configured and existing secrets side by side. Never fetches a value.

    One ListSecrets call (largest page), then for each configured secret that exists one
    ListSecretVersions and one GetIamPolicy, in parallel."""
    found = {
        s.name.rsplit("/", 1)[-1]: s
        for s in clients.secrets.list_secrets(
            request={"parent": f"projects/{clients.project}", "page_size": PAGE_SIZE}
        )
    }
    names = list(config.secrets) + sorted(n for n in found if n not in config.secrets)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [
            pool.submit(
                _status_from, clients, n, config.secrets.get(n), found.get(n), n in config.secrets
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
            raise not_found(name, clients) from None
        raise
    return _status_from(clients, name, config.secrets.get(name), secret, True)


def versions(clients: Any, name: str, state: str | None = None) -> list[VersionInfo]:
    with existing(name, clients):
        secret = clients.secrets.get_secret(request={"name": secret_path(clients, name)})
        found = list_versions(clients, name, state)
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


def _access_error(exc: BaseException, name: str, version: str) -> BaseException:
    """The ThothError for a failed AccessSecretVersion (or ``exc`` itself when unexpected)."""
    code, msg = _code_and_message(exc)
    if code == "NOT_FOUND":
        if "no versions" in msg:
            return NotFoundError(
                f"secret {name} has no version to read",
                hint=f"add one with `thothctl secrets set {name}`",
            )
        return NotFoundError(f"version {version} of secret {name} does not exist")
    if code == "FAILED_PRECONDITION":
        state = "destroyed" if "DESTROYED" in msg else "disabled"
        number = msg.split("/versions/", 1)[-1].split("]", 1)[0] if "/versions/" in msg else version
        hint = (
            f"`thothctl secrets enable {name} {number}`, or read another version with --version"
            if state == "disabled"
            else "read another version with --version (a destroyed version is gone for good)"
        )
        return OperationError(f"version {number} of secret {name} is {state}", hint=hint)
    return exc


def access(clients: Any, name: str, version: str = "latest") -> tuple[int, bytes]:
    """(version number, value) of one version, CRC32C-verified."""
    try:
        response = clients.secrets.access_secret_version(
            request={"name": version_path(clients, name, version)}
        )
    except Exception as exc:
        err = _access_error(exc, name, version)
        if err is exc:
            raise
        if isinstance(err, NotFoundError) and not _exists(clients, name):
            raise not_found(name, clients) from None
        raise err from None
    number = number_of(response.name)
    return number, _verified_payload(response, f"{name} version {number}")


def _exists(clients: Any, name: str) -> bool:
    try:
        clients.secrets.get_secret(request={"name": secret_path(clients, name)})
    except Exception as exc:
        return code_of(exc) != "NOT_FOUND"
    return True


def require(clients: Any, name: str) -> None:
    """Raise the "does not exist" error (with the closest names) unless secret ``name`` exists:
    checked before a value is asked for, so a typo costs no typing."""
    if not _exists(clients, name):
        raise not_found(name, clients)


def latest_enabled(clients: Any, name: str) -> tuple[int, bytes] | None:
    """The newest ENABLED version and its value, or None when there is none."""
    enabled = list_versions(clients, name, "ENABLED")
    if not enabled:
        return None
    newest = max(number_of(v.name) for v in enabled)
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
            if not retry.is_transient(exc) or last:
                raise
    return created, _status_from(clients, name, None, secret, False)


def _settle_race(
    clients: Any, name: str, value: SecretValue, before: int, result: AddResult
) -> AddResult:
    """Two writers (two people, a CI job and a person) adding the same value at once both pass
    the "already holds this value" check. Secret Manager has no conditional add, so the race is
    settled after the fact: of the identical versions added since ``before``, the lowest number
    wins and the others are destroyed by the writer that added them."""
    enabled = (number_of(v.name) for v in list_versions(clients, name, "ENABLED"))
    for number in sorted(n for n in enabled if before < n < result.version):
        try:
            _, data = access(clients, name, str(number))
        except (NotFoundError, OperationError):
            continue
        if data == value.data:
            clients.secrets.destroy_secret_version(
                request={"name": version_path(clients, name, result.version)}
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


def _took_effect(clients: Any, name: str, value: SecretValue, before: int) -> int | None:
    """After a failed add: the newest version, if it is newer than ``before`` and holds the value
    (the failed try took effect and only its response was lost)."""
    try:
        number, data = access(clients, name, "latest")
    except (NotFoundError, OperationError):
        return None
    if number > before and crc32c(data) == value.crc32c and data == value.data:
        return number
    return None


def add_version(
    clients: Any, name: str, value: SecretValue, *, skip_if_same: bool = True
) -> AddResult:
    """Add a version with ``data_crc32c``; never a duplicate.

    With ``skip_if_same`` nothing is added when the newest ENABLED version already holds these
    bytes. After a transient error the newest version is read back: if it is newer than before and
    holds the same bytes, the first try took effect (its response was lost) and is not repeated.
    """
    crc = value.crc32c
    with existing(name, clients):
        before = max((number_of(v.name) for v in list_versions(clients, name)), default=0)
        current = latest_enabled(clients, name) if skip_if_same else None
    if current is not None and current[1] == value.data:
        note = f"version {current[0]} already holds this value"
        return AddResult(name, current[0], False, crc, note=note)
    request = {
        "parent": secret_path(clients, name),
        "payload": {"data": value.data, "data_crc32c": crc},
    }
    for last in clients.creation_attempts():
        try:
            with existing(name, clients):
                added = number_of(clients.secrets.add_secret_version(request=request).name)
            return _settle_race(clients, name, value, before, AddResult(name, added, True, crc))
        except Exception as exc:
            if not retry.is_transient(exc) or last:
                raise
        # Did the failed try take effect? Read the newest version back before trying again.
        number = _took_effect(clients, name, value, before)
        if number is not None:
            result = AddResult(name, number, True, crc, recovered=True)
            return _settle_race(clients, name, value, before, result)
    raise AssertionError("unreachable")  # creation_attempts() always yields a last try


def set_state(
    clients: Any, name: str, version: str, action: str, etag: str | None = None
) -> VersionInfo:
    """Enable, disable or destroy one version (action: enable | disable | destroy). With ``etag``
    (from a listing) the change applies only if nobody changed the version since."""
    method = {
        "enable": clients.secrets.enable_secret_version,
        "disable": clients.secrets.disable_secret_version,
        "destroy": clients.secrets.destroy_secret_version,
    }[action]
    request = {"name": version_path(clients, name, version)} | ({"etag": etag} if etag else {})
    try:
        v = method(request=request)
    except Exception as exc:
        code, msg = _code_and_message(exc)
        if code == "NOT_FOUND":
            if "Secret [" in msg and "Version" not in msg:
                raise not_found(name, clients) from None
            raise NotFoundError(f"version {version} of secret {name} does not exist") from None
        if code == "FAILED_PRECONDITION" and "DESTROYED" in msg:
            raise OperationError(
                f"version {version} of secret {name} is already destroyed, and a destroyed version "
                f"cannot be {action.rstrip('e')}ed",
                hint=f"its data is gone for good; add a new version with `thothctl secrets set {name}`",
            ) from None
        raise
    return VersionInfo.from_pb(v)


def get_version(clients: Any, name: str, version: str | int) -> VersionInfo:
    with existing(name, clients):
        v = clients.secrets.get_secret_version(
            request={"name": version_path(clients, name, version)}
        )
    return VersionInfo.from_pb(v)


def delete(clients: Any, name: str) -> None:
    with existing(name, clients):
        clients.secrets.delete_secret(request={"name": secret_path(clients, name)})


def derive_aliases(aliases: Iterable[str], enabled: Iterable[int]) -> dict[str, int | None]:
    """The configured aliases over the enabled versions, newest first: the first alias on the
    newest, the second on the next older one...; an alias with no version left maps to None."""
    order = sorted(set(enabled), reverse=True)
    return {alias: order[i] if i < len(order) else None for i, alias in enumerate(aliases)}


def _aliases_lost_race(clients: Any, name: str, exc: BaseException, moved: Mapping) -> bool:
    """Whether a refused alias write lost a race: the etag changed, or a version it named was
    disabled or destroyed between the read and the write (INVALID_ARGUMENT)."""
    if retry.is_conflict(exc):
        return True
    if code_of(exc) != "INVALID_ARGUMENT":
        return False
    enabled = {number_of(v.name) for v in list_versions(clients, name, "ENABLED")}
    return any(n is not None and n not in enabled for n in moved.values())


def move_aliases(
    clients: Any, name: str, aliases: Iterable[str], *, exclude: Iterable[int] = (), tries: int = 6
) -> dict[str, int | None]:
    """Point the aliases at the ENABLED versions as they are at write time, newest first (see
    :func:`derive_aliases`), leaving out ``exclude`` (versions about to be retired); an alias with
    no version left is removed. The secret is read before its versions, and the UpdateSecret
    carries the secret's etag, so a concurrent alias write is never overwritten by a stale view:
    a lost race is re-read and retried, ``tries`` times, then reported."""
    aliases, exclude = tuple(aliases), set(exclude)
    if not aliases:
        return {}
    path = secret_path(clients, name)
    for last in retry.attempts(tries=tries, initial=0.05, maximum=1.0):
        secret = clients.secrets.get_secret(request={"name": path})
        enabled = [number_of(v.name) for v in list_versions(clients, name, "ENABLED")]
        moved = derive_aliases(aliases, [n for n in enabled if n not in exclude])
        live = dict(secret.version_aliases)
        wanted = {a: n for a, n in live.items() if a not in moved}
        wanted |= {a: n for a, n in moved.items() if n is not None}
        if wanted == live:
            return moved
        try:
            clients.secrets.update_secret(
                request={
                    "secret": {"name": path, "version_aliases": wanted, "etag": secret.etag},
                    "update_mask": {"paths": ["version_aliases"]},
                }
            )
            return moved
        except Exception as exc:
            if not _aliases_lost_race(clients, name, exc, moved):
                raise
            if last:
                raise OperationError(
                    f"the aliases of {name} kept changing under us ({tries} tries)",
                    hint="another rotation of this secret is running; check with "
                    "`thothctl doctor` once it is done",
                ) from None
    raise AssertionError("unreachable")  # attempts() always yields a last try
