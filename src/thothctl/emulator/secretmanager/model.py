"""Secret Manager's rules and state: one method per operation, no wire types beyond the
resources themselves (docs/emulator.md, "Secret Manager").

State: one record per secret in the table ``secretmanager.secrets`` (key:
``PROJECT_ID/LOCATION/ID``, LOCATION empty for global secrets) holding the Secret, its versions
(with the payload bytes and their CRC32C), the IAM policy and the next version number.

Documented behaviour followed: secret id rules, replication required for global secrets and refused
for regional ones, label rules, ALREADY_EXISTS / NOT_FOUND messages naming the project NUMBER,
newest-first listing, update masks, quoted etags, sequential version ids never reused, the 64 KiB
payload limit, ``data_crc32c`` verification, ``latest`` meaning the newest version whatever its
state, version aliases, the DISABLED / DESTROYED / "not found or has no versions" errors, the
version state machine (DESTROYED is terminal, no-op Enable/Disable still change the etag), delayed
destruction with ``version_destroy_ttl``, and expiration (an expired secret is deleted). Where the
emulator had to choose, docs/emulator.md says what and why.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import google_crc32c
from google.cloud.secretmanager_v1 import types
from google.iam.v1 import policy_pb2

from thothctl.emulator import base
from thothctl.emulator.secretmanager.filter import compile_filter, secret_field, version_field

TABLE = "secretmanager.secrets"
MAX_PAYLOAD = 65536
MAX_ALIASES = 50
MAX_TOPICS = 10

SECRET_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")  # always fullmatch: $ allows a final \n
ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
TOPIC_RE = re.compile(r"projects/[^/\x00-\x1f\x7f]+/topics/[^/\x00-\x1f\x7f]+")
LOCATION_RE = re.compile(r"[a-z]+-[a-z]+[0-9]+")
SUPPORTED_ROLES = {
    "roles/owner",
    "roles/editor",
    "roles/viewer",
    "roles/secretmanager.admin",
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.secretVersionAdder",
    "roles/secretmanager.secretVersionManager",
    "roles/secretmanager.viewer",
}
PERMISSIONS = {
    "secretmanager.secrets.get",
    "secretmanager.secrets.update",
    "secretmanager.secrets.delete",
    "secretmanager.secrets.getIamPolicy",
    "secretmanager.secrets.setIamPolicy",
    "secretmanager.versions.add",
    "secretmanager.versions.get",
    "secretmanager.versions.list",
    "secretmanager.versions.access",
    "secretmanager.versions.enable",
    "secretmanager.versions.disable",
    "secretmanager.versions.destroy",
}
UPDATABLE = {
    "labels",
    "annotations",
    "topics",
    "rotation",
    "expire_time",
    "ttl",
    "version_aliases",
    "version_destroy_ttl",
    "customer_managed_encryption",
}
State = types.SecretVersion.State


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


def _label_ok(key: str, value: str) -> bool:
    def low(c: str) -> bool:
        return c.isalpha() and c == c.lower() and not c.isupper()

    if not key or len(key) > 63 or len(key.encode()) > 128 or not low(key[0]):
        return False
    if len(value) > 63 or len(value.encode()) > 128:
        return False
    rest_ok = all(low(c) or c.isdigit() or c in "_-" for c in key[1:])
    return rest_ok and all(low(c) or c.isdigit() or c in "_-" for c in value)


def _etag_mismatch(what: str) -> base.EmulatorError:
    return base.failed_precondition(
        f"The etag provided in the request does not match the etag of {what}."
    )


class SecretManagerModel:
    def __init__(self, emulator: Any):
        self.emu = emulator
        self.store = emulator.store

    # --- names ---------------------------------------------------------------------------
    def parent(self, parent: str) -> tuple[dict[str, Any], str]:
        parts = parent.split("/")
        if len(parts) == 2 and parts[0] == "projects" and parts[1]:
            return self.emu.resolve_project(parts[1]), ""
        if (
            len(parts) == 4
            and parts[0] == "projects"
            and parts[2] == "locations"
            and LOCATION_RE.fullmatch(parts[3])
        ):
            return self.emu.resolve_project(parts[1]), parts[3]
        raise base.invalid(f"Invalid resource field value in the request: parent {parent!r}.")

    def split_secret(self, name: str) -> tuple[dict[str, Any], str, str]:
        parts = name.split("/")
        if len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets":
            project, loc, sid = self.emu.resolve_project(parts[1]), "", parts[3]
        elif (
            len(parts) == 6
            and parts[0] == "projects"
            and parts[2] == "locations"
            and parts[4] == "secrets"
        ):
            project, loc, sid = self.emu.resolve_project(parts[1]), parts[3], parts[5]
        else:
            raise base.invalid(f"Invalid resource field value in the request: name {name!r}.")
        if not SECRET_ID_RE.fullmatch(sid):
            raise base.invalid(f"Invalid resource field value in the request: secret id {sid!r}.")
        return project, loc, sid

    @staticmethod
    def _public(project: dict[str, Any], loc: str, sid: str) -> str:
        where = f"projects/{project['number']}" + (f"/locations/{loc}" if loc else "")
        return f"{where}/secrets/{sid}"

    @staticmethod
    def _key(project: dict[str, Any], loc: str, sid: str) -> str:
        return f"{project['id']}/{loc}/{sid}"

    def record(self, name: str, *, versions_msg: bool = False) -> tuple[dict[str, Any], str]:
        project, loc, sid = self.split_secret(name)
        public = self._public(project, loc, sid)
        table = self.store.table(TABLE)
        rec = table.get(self._key(project, loc, sid))
        if rec is not None and self._expired(rec):
            del table[self._key(project, loc, sid)]
            self.store.touch()
            rec = None
        if rec is None:
            suffix = " not found or has no versions." if versions_msg else " not found."
            raise base.not_found(f"Secret [{public}]{suffix}")
        return rec, public

    @staticmethod
    def _expired(rec: dict[str, Any]) -> bool:
        secret = rec["secret"]
        return "expire_time" in secret and secret.expire_time <= base.now()

    def _split_version(self, name: str) -> tuple[str, str]:
        head, sep, version = name.rpartition("/versions/")
        if not sep or not version or "/" in version:
            raise base.invalid(f"Invalid resource field value in the request: name {name!r}.")
        return head, version

    def resolve(
        self, name: str, *, access: bool = False
    ) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(secret record, public secret name, version record) for number | latest | alias."""
        secret_name, token = self._split_version(name)
        rec, public = self.record(secret_name, versions_msg=access and token == "latest")
        versions = rec["versions"]
        if token == "latest":
            if not versions:
                raise base.not_found(f"Secret [{public}] not found or has no versions.")
            number = str(max(int(n) for n in versions))
        elif token.isascii() and token.isdigit() and int(token) > 0:
            number = str(int(token))
        elif ALIAS_RE.fullmatch(token):
            aliases = dict(rec["secret"].version_aliases)
            if token not in aliases:
                raise base.not_found(f"Secret Version [{public}/versions/{token}] not found.")
            number = str(aliases[token])
        else:
            raise base.invalid(f"Invalid resource field value in the request: version {token!r}.")
        ver = versions.get(number)
        if ver is None:
            raise base.not_found(f"Secret Version [{public}/versions/{number}] not found.")
        self._finish_scheduled_destroy(ver)
        return rec, public, ver

    def _finish_scheduled_destroy(self, ver: dict[str, Any]) -> None:
        v = ver["version"]
        if (
            "scheduled_destroy_time" in v
            and v.state != State.DESTROYED
            and v.scheduled_destroy_time <= base.now()
        ):
            self._destroy_now(ver)

    def _destroy_now(self, ver: dict[str, Any]) -> None:
        v = ver["version"]
        v.state = State.DESTROYED
        v.destroy_time = base.now()
        v.scheduled_destroy_time = None
        v.etag = base.new_etag()
        ver["data"] = None
        ver["crc"] = None
        self.store.touch()

    def version_out(self, ver: dict[str, Any]) -> types.SecretVersion:
        self._finish_scheduled_destroy(ver)
        return types.SecretVersion.deserialize(types.SecretVersion.serialize(ver["version"]))

    def secret_out(self, rec: dict[str, Any]) -> types.Secret:
        return types.Secret.deserialize(types.Secret.serialize(rec["secret"]))

    # --- validation ------------------------------------------------------------------------
    def _check_labels(self, labels: dict[str, str]) -> None:
        if len(labels) > 64:
            raise base.invalid("A secret can have at most 64 labels.")
        for k, v in labels.items():
            if not _label_ok(k, v):
                raise base.invalid(
                    f"Invalid label {k}={v!r}: keys must start with a lowercase letter and use "
                    "lowercase letters, digits, '_' or '-' (1-63 characters); values 0-63 of "
                    "the same."
                )

    def _check_annotations(self, annotations: dict[str, str]) -> None:
        total = 0
        for k, v in annotations.items():
            total += len(k.encode()) + len(v.encode())
            if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?", k):
                raise base.invalid(f"Invalid annotation key {k!r}.")
        if total >= 16 * 1024:
            raise base.invalid("The total size of annotations must be less than 16KiB.")

    def _check_topics(self, secret: types.Secret) -> None:
        if len(secret.topics) > MAX_TOPICS:
            raise base.invalid(f"A secret can have at most {MAX_TOPICS} topics.")
        for topic in secret.topics:
            if not TOPIC_RE.fullmatch(topic.name):
                raise base.invalid(
                    f"Invalid topic name {topic.name!r}: expected projects/*/topics/*."
                )

    def _check_rotation(self, secret: types.Secret) -> None:
        if "rotation" not in secret:
            return
        rot = secret.rotation
        if not secret.topics:
            raise base.invalid("Secret.topics must be set to configure rotation.")
        period = rot.rotation_period.total_seconds() if "rotation_period" in rot else None
        if period is not None and "next_rotation_time" not in rot:
            raise base.invalid("next_rotation_time must be set if rotation_period is set.")
        if "next_rotation_time" in rot:
            ahead = (rot.next_rotation_time - base.now()).total_seconds()
            if ahead < 300 or ahead > 3153600000:
                raise base.invalid(
                    "next_rotation_time must be at least 5 minutes and at most 100 years "
                    "in the future."
                )
        if period is not None and not 3600 <= period <= 3153600000:
            raise base.invalid("rotation_period must be between 1 hour and 100 years.")
        # rotation_period is input only: never echoed.
        secret.rotation = (
            types.Rotation(next_rotation_time=rot.next_rotation_time)
            if "next_rotation_time" in rot
            else types.Rotation()
        )

    def _apply_expiration(self, secret: types.Secret) -> None:
        if "ttl" in secret:
            expire = base.now() + dt.timedelta(seconds=secret.ttl.total_seconds())
            secret.ttl = None
            secret.expire_time = expire
        if "expire_time" in secret:
            ahead = (secret.expire_time - base.now()).total_seconds()
            if ahead < 60 or ahead > 100 * 365.25 * 86400:
                raise base.invalid(
                    "The expiration must be at least 60 seconds and at most 100 years away."
                )

    def _check_aliases(self, aliases: dict[str, int], rec: dict[str, Any] | None) -> None:
        if len(aliases) > MAX_ALIASES:
            raise base.invalid(f"A secret can have at most {MAX_ALIASES} version aliases.")
        for alias, number in aliases.items():
            if not ALIAS_RE.fullmatch(alias) or alias in ("latest", "NEW"):
                raise base.invalid(
                    f"Invalid version alias {alias!r}: start with a letter, then up to 62 letters, "
                    "digits, '-' or '_'; 'latest' and 'NEW' are reserved."
                )
            ver = (rec or {}).get("versions", {}).get(str(number))
            if ver is None or ver["version"].state == State.DESTROYED:
                raise base.invalid(
                    f"Version alias {alias!r} points to version {number}, which does not exist "
                    "or is destroyed."
                )

    def _check_replication(self, secret: types.Secret, loc: str) -> None:
        has_replication = "replication" in secret and (
            "automatic" in secret.replication or "user_managed" in secret.replication
        )
        if loc:
            if has_replication:
                raise base.invalid("Secret.replication should not be provided.")
        elif not has_replication:
            raise base.invalid("Secret.replication must be provided.")
        elif "user_managed" in secret.replication:
            replicas = secret.replication.user_managed.replicas
            if not replicas:
                raise base.invalid("Secret.replication.user_managed.replicas cannot be empty.")
            for replica in replicas:
                if not LOCATION_RE.fullmatch(replica.location):
                    raise base.invalid(f"Invalid replica location {replica.location!r}.")

    # --- secrets ---------------------------------------------------------------------------
    def create_secret(self, parent: str, sid: str, secret: types.Secret | None) -> types.Secret:
        project, loc = self.parent(parent)
        if not SECRET_ID_RE.fullmatch(sid):
            raise base.invalid(
                f"Invalid secret_id {sid!r}: a secret ID is 1-255 characters of letters, numerals, "
                "'-' and '_'."
            )
        if secret is None and not loc:
            raise base.invalid("Secret must be provided.")
        # A regional secret needs nothing but its id (Google's regional quickstart sends none).
        secret = types.Secret.deserialize(
            types.Secret.serialize(secret if secret is not None else types.Secret())
        )
        # Tags are input-only: bound at creation, never stored on or returned with the secret.
        secret.tags = {}
        self._check_replication(secret, loc)
        self._check_labels(dict(secret.labels))
        self._check_annotations(dict(secret.annotations))
        self._check_topics(secret)
        self._check_rotation(secret)
        self._apply_expiration(secret)
        if secret.version_aliases:
            raise base.invalid(
                "Version aliases can only point to existing versions; set them with UpdateSecret."
            )
        public = self._public(project, loc, sid)
        table = self.store.table(TABLE)
        key = self._key(project, loc, sid)
        existing = table.get(key)
        if existing is not None and self._expired(existing):
            del table[key]
            existing = None
        if existing is not None:
            raise base.already_exists(f"Secret [{public}] already exists.")
        secret.name = public
        secret.create_time = base.now()
        secret.etag = base.new_etag()
        table[key] = {
            "secret": secret,
            "versions": {},
            "next_version": 1,
            "seq": self.store.next_id("secretmanager.seq"),
            "policy": policy_pb2.Policy(version=1, etag=base.new_policy_etag()),
        }
        return self.secret_out(table[key])

    def get_secret(self, name: str) -> types.Secret:
        rec, _ = self.record(name)
        return self.secret_out(rec)

    def list_secrets(self, parent: str, filter_text: str) -> tuple[list[types.Secret], int]:
        """Newest first, and the total size (0 when filtered, as the real service answers)."""
        project, loc = self.parent(parent)
        prefix = f"{project['id']}/{loc}/"
        table = self.store.table(TABLE)
        recs = []
        for key, rec in list(table.items()):
            if key.startswith(prefix) and key.count("/") == 2:
                if self._expired(rec):
                    del table[key]
                    self.store.touch()
                    continue
                recs.append(rec)
        recs.sort(key=lambda r: r["seq"], reverse=True)
        return _filtered([self.secret_out(r) for r in recs], filter_text, secret_field)

    def update_secret(self, incoming: types.Secret | None, paths: list[str]) -> types.Secret:
        if incoming is None or not incoming.name:
            raise base.invalid("Secret.name must be provided.")
        if not paths:
            raise base.invalid("update_mask must be provided and not empty.")
        rec, public = self.record(incoming.name)
        stored = rec["secret"]
        if incoming.etag and incoming.etag != stored.etag:
            raise _etag_mismatch(f"Secret [{public}]")
        updated = types.Secret.deserialize(types.Secret.serialize(stored))
        for path in paths:
            self._update_path(updated, incoming, path, rec)
        if "rotation" in paths:
            self._check_rotation(updated)
        self._apply_expiration(updated)
        updated.etag = base.new_etag()
        rec["secret"] = updated
        return self.secret_out(rec)

    def _update_path(
        self, updated: types.Secret, incoming: types.Secret, path: str, rec: dict[str, Any]
    ) -> None:
        if path == "replication":
            raise base.invalid("Secret.replication is immutable and cannot be updated.")
        if path not in UPDATABLE:
            raise base.invalid(f"Invalid update_mask path {path!r}.")
        if path == "labels":
            self._check_labels(dict(incoming.labels))
            updated.labels = dict(incoming.labels)
        elif path == "annotations":
            self._check_annotations(dict(incoming.annotations))
            updated.annotations = dict(incoming.annotations)
        elif path == "topics":
            updated.topics = list(incoming.topics)
            self._check_topics(updated)
        elif path in ("expire_time", "ttl"):
            updated.expire_time = None
            if "ttl" in incoming:
                updated.ttl = incoming.ttl
            elif "expire_time" in incoming:
                updated.expire_time = incoming.expire_time
        elif path == "version_aliases":
            aliases = dict(incoming.version_aliases)
            self._check_aliases(aliases, rec)
            updated.version_aliases = aliases
        elif path in ("rotation", "version_destroy_ttl"):
            setattr(updated, path, getattr(incoming, path) if path in incoming else None)
        elif path == "customer_managed_encryption":
            updated.customer_managed_encryption = incoming.customer_managed_encryption

    def delete_secret(self, name: str, etag: str) -> None:
        rec, public = self.record(name)
        if etag and etag != rec["secret"].etag:
            raise _etag_mismatch(f"Secret [{public}]")
        project, loc, sid = self.split_secret(name)
        del self.store.table(TABLE)[self._key(project, loc, sid)]

    # --- versions --------------------------------------------------------------------------
    def add_version(self, parent: str, payload: types.SecretPayload | None) -> types.SecretVersion:
        rec, public = self.record(parent)
        if payload is None:
            raise base.invalid("Field [payload] is required.")
        data = bytes(payload.data)
        if not data:
            raise base.invalid("Secret Payload cannot be empty.")
        if len(data) > MAX_PAYLOAD:
            raise base.invalid(
                f"Secret Payload cannot be larger than {MAX_PAYLOAD} bytes (got {len(data)})."
            )
        actual = crc32c(data)
        given = "data_crc32c" in payload
        if given and payload.data_crc32c != actual:
            raise base.invalid(
                "Checksum mismatch: the data_crc32c of the payload does not match the data "
                "received. "
                "Retry the request."
            )
        number = rec["next_version"]
        rec["next_version"] = number + 1
        version = types.SecretVersion(
            name=f"{public}/versions/{number}",
            create_time=base.now(),
            state=State.ENABLED,
            etag=base.new_etag(),
            client_specified_payload_checksum=given,
            replication_status=types.ReplicationStatus(
                automatic=types.ReplicationStatus.AutomaticStatus()
            ),
        )
        rec["versions"][str(number)] = {"version": version, "data": data, "crc": actual}
        return self.version_out(rec["versions"][str(number)])

    def get_version(self, name: str) -> types.SecretVersion:
        _, _, ver = self.resolve(name)
        return self.version_out(ver)

    def access_version(self, name: str) -> tuple[types.SecretVersion, bytes, int]:
        """The version (an ENABLED one) with its payload and the payload's CRC32C."""
        _, _, ver = self.resolve(name, access=True)
        v = ver["version"]
        if v.state != State.ENABLED:
            raise base.failed_precondition(f"Secret Version [{v.name}] is in {v.state.name} state.")
        return v, ver["data"], ver["crc"]

    def list_versions(self, parent: str, filter_text: str) -> tuple[list[types.SecretVersion], int]:
        rec, _ = self.record(parent)
        versions = [
            self.version_out(rec["versions"][n])
            for n in sorted(rec["versions"], key=int, reverse=True)
        ]
        return _filtered(versions, filter_text, version_field)

    def transition(self, name: str, etag: str, target: str) -> types.SecretVersion:
        """ENABLE, DISABLE or DESTROY a version (``latest`` and aliases resolve like Get)."""
        rec, _, ver = self.resolve(name)
        v = ver["version"]
        if etag and etag != v.etag:
            raise _etag_mismatch(f"Secret Version [{v.name}]")
        if v.state == State.DESTROYED:
            raise base.failed_precondition(
                f"Secret Version [{v.name}] is in DESTROYED state and cannot be {target.lower()}d."
                if target != "DESTROY"
                else f"Secret Version [{v.name}] is already in DESTROYED state."
            )
        if target == "ENABLE":
            v.state = State.ENABLED
            v.scheduled_destroy_time = None
        elif target == "DISABLE":
            v.state = State.DISABLED
        else:
            secret = rec["secret"]
            destroy_ttl = secret.version_destroy_ttl if "version_destroy_ttl" in secret else None
            if destroy_ttl and destroy_ttl.total_seconds() > 0:
                v.state = State.DISABLED
                v.scheduled_destroy_time = base.now() + destroy_ttl
            else:
                self._destroy_now(ver)
        v.etag = base.new_etag()
        return self.version_out(ver)

    # --- IAM -------------------------------------------------------------------------------
    def policy_of(self, resource: str) -> policy_pb2.Policy:
        rec, _ = self.record(resource)
        return rec["policy"]

    def keep_policy(self, resource: str, policy: policy_pb2.Policy) -> None:
        rec, _ = self.record(resource)
        rec["policy"] = policy

    def granted(self, resource: str, permissions: list[str]) -> list[str]:
        """The permissions the (anonymous) caller holds on a secret; none for a missing one."""
        for perm in permissions:
            if "*" in perm:
                raise base.invalid(f"Permissions with wildcards are not allowed: {perm!r}.")
        try:
            self.record(resource)
        except base.EmulatorError as err:
            if err.code.name == "NOT_FOUND":
                return []
            raise
        return [p for p in permissions if p in PERMISSIONS and not self.emu.permission_denied(p)]

    def summary(self) -> dict[str, Any]:
        return {
            key: {
                "versions": {n: v["version"].state.name for n, v in rec["versions"].items()},
                "aliases": dict(rec["secret"].version_aliases),
            }
            for key, rec in self.store.table(TABLE).items()
        }


def _filtered(items: list[Any], filter_text: str, getter: Any) -> tuple[list[Any], int]:
    if not filter_text.strip():
        return items, len(items)
    match = compile_filter(filter_text, getter)
    return [item for item in items if match(item)], 0
