"""google.cloud.secretmanager.v1.SecretManagerService (API-NOTES §1).

State: one record per secret in the table ``secretmanager.secrets`` (key:
``PROJECT_ID/LOCATION/ID``, LOCATION empty for global secrets) holding the Secret, its versions
(with the payload bytes and their CRC32C), the IAM policy and the next version number. Everything
is persisted by the store.

Documented behaviour followed: secret id rules, replication required for global secrets and refused
for regional ones, label rules, ALREADY_EXISTS / NOT_FOUND messages naming the project NUMBER,
newest-first listing with ``total_size`` (0 when filtered), update masks, quoted etags (a mismatch
answers FAILED_PRECONDITION on secrets and versions, ABORTED on IAM policies), sequential version
ids never reused, the 64 KiB payload limit, ``data_crc32c`` verification, ``latest`` meaning the
newest version whatever its state, version aliases on Get/Access, the DISABLED / DESTROYED /
"not found or has no versions" errors, the version state machine (DESTROYED is terminal, no-op
Enable/Disable still change the etag), delayed destruction with ``version_destroy_ttl``,
expiration (``ttl`` / ``expire_time``; an expired secret is deleted), and TestIamPermissions
returning an empty set for a missing secret.

Emulator choices where API-NOTES says "inferred":
- Invalid ids, labels, aliases, masks, a wrong ``data_crc32c`` and a payload over 65,536 bytes all
  answer INVALID_ARGUMENT; an empty payload answers INVALID_ARGUMENT "Secret Payload cannot be
  empty." (as seen from the real service).
- ``page_size`` 0 means 100 per page (the real default is undocumented); the cap is 25,000.
- Disable/Enable/Destroy accept ``latest`` and aliases too (resolved like Get); Enable/Disable of a
  DESTROYED version and Destroy of a DESTROYED one answer FAILED_PRECONDITION.
- An alias must point to an existing, not destroyed version; aliases keep pointing to a version
  that is destroyed later (accessing through them then answers the DESTROYED error).
- Masking ``replication`` in UpdateSecret answers INVALID_ARGUMENT (it is immutable); an unknown
  mask path too.
- IAM: policy versions other than 0, 1, 3 and members of unknown kinds answer INVALID_ARGUMENT;
  roles other than Secret Manager's predefined roles, the basic roles and custom roles answer
  INVALID_ARGUMENT "Role X is not supported for this resource."; a stale etag answers ABORTED with
  the Cloud Resource Manager message. TestIamPermissions grants every requested
  ``secretmanager.*`` permission the emulator does not deny (the caller is anonymous).
- ListSecrets / ListSecretVersions filters: terms ``field:value`` (substring, ``*`` = present),
  ``field=value``, ``!=``, ``<``, ``>``, ``<=``, ``>=`` on ``name``, ``labels.KEY``, ``state``,
  ``create_time``, ``replication.automatic`` and ``replication.user_managed...``; terms are
  combined with AND (or whitespace) and OR (OR binds tighter, as in AIP-160); ``NOT``/``-``
  negates one term. Anything else answers INVALID_ARGUMENT.
- Every AccessSecretVersion writes a data-access audit entry (no payload) to Cloud Logging.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import google_crc32c
from google.cloud.secretmanager_v1 import types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import empty_pb2

from thothctl.emulator import base, iam_policy
from thothctl.emulator.base import EmulatedService, rpc

TABLE = "secretmanager.secrets"
API = "secretmanager.googleapis.com"
SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
MAX_PAYLOAD = 65536
DEFAULT_PAGE = 100
MAX_PAGE = 25000
MAX_ALIASES = 50
MAX_TOPICS = 10

SECRET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
TOPIC_RE = re.compile(r"^projects/[^/]+/topics/[^/]+$")
LOCATION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
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


class SecretManagerService(EmulatedService):
    service_name = SERVICE
    api = API
    api_title = "Secret Manager API"

    # --- names ---------------------------------------------------------------------------
    def _parent(self, parent: str) -> tuple[dict[str, Any], str]:
        parts = parent.split("/")
        if len(parts) == 2 and parts[0] == "projects" and parts[1]:
            return self.emu.resolve_project(parts[1]), ""
        if (
            len(parts) == 4
            and parts[0] == "projects"
            and parts[2] == "locations"
            and LOCATION_RE.match(parts[3])
        ):
            return self.emu.resolve_project(parts[1]), parts[3]
        raise base.invalid(f"Invalid resource field value in the request: parent {parent!r}.")

    def _split_secret(self, name: str) -> tuple[dict[str, Any], str, str]:
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
        if not SECRET_ID_RE.match(sid):
            raise base.invalid(f"Invalid resource field value in the request: secret id {sid!r}.")
        return project, loc, sid

    @staticmethod
    def _public(project: dict[str, Any], loc: str, sid: str) -> str:
        where = f"projects/{project['number']}" + (f"/locations/{loc}" if loc else "")
        return f"{where}/secrets/{sid}"

    @staticmethod
    def _key(project: dict[str, Any], loc: str, sid: str) -> str:
        return f"{project['id']}/{loc}/{sid}"

    def _record(self, name: str, *, versions_msg: bool = False) -> tuple[dict[str, Any], str]:
        project, loc, sid = self._split_secret(name)
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

    def _resolve(
        self, name: str, *, access: bool = False
    ) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(secret record, public secret name, version record) for number | latest | alias."""
        secret_name, token = self._split_version(name)
        rec, public = self._record(secret_name, versions_msg=access and token == "latest")
        versions = rec["versions"]
        if token == "latest":
            if not versions:
                raise base.not_found(f"Secret [{public}] not found or has no versions.")
            number = str(max(int(n) for n in versions))
        elif token.isdigit() and int(token) > 0:
            number = str(int(token))
        elif ALIAS_RE.match(token):
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

    def _version_out(self, ver: dict[str, Any]) -> types.SecretVersion:
        self._finish_scheduled_destroy(ver)
        return types.SecretVersion.deserialize(types.SecretVersion.serialize(ver["version"]))

    def _secret_out(self, rec: dict[str, Any]) -> types.Secret:
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
            if not re.match(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$", k):
                raise base.invalid(f"Invalid annotation key {k!r}.")
        if total >= 16 * 1024:
            raise base.invalid("The total size of annotations must be less than 16KiB.")

    def _check_topics(self, secret: types.Secret) -> None:
        if len(secret.topics) > MAX_TOPICS:
            raise base.invalid(f"A secret can have at most {MAX_TOPICS} topics.")
        for topic in secret.topics:
            if not TOPIC_RE.match(topic.name):
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
            if not ALIAS_RE.match(alias) or alias in ("latest", "NEW"):
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

    # --- secrets ---------------------------------------------------------------------------
    @rpc(
        "CreateSecret",
        types.CreateSecretRequest,
        types.Secret,
        mutating=True,
        permission="secretmanager.secrets.create",
    )
    def create_secret(self, request, context):
        project, loc = self._parent(request.parent)
        sid = request.secret_id
        if not SECRET_ID_RE.match(sid):
            raise base.invalid(
                f"Invalid secret_id {sid!r}: a secret ID is 1-255 characters of letters, numerals, "
                "'-' and '_'."
            )
        if "secret" not in request:
            raise base.invalid("Secret must be provided.")
        secret = types.Secret.deserialize(types.Secret.serialize(request.secret))
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
                if not LOCATION_RE.match(replica.location):
                    raise base.invalid(f"Invalid replica location {replica.location!r}.")
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
        return self._secret_out(table[key])

    @rpc("GetSecret", types.GetSecretRequest, types.Secret, permission="secretmanager.secrets.get")
    def get_secret(self, request, context):
        rec, _ = self._record(request.name)
        return self._secret_out(rec)

    @rpc(
        "ListSecrets",
        types.ListSecretsRequest,
        types.ListSecretsResponse,
        permission="secretmanager.secrets.list",
    )
    def list_secrets(self, request, context):
        project, loc = self._parent(request.parent)
        prefix = f"{project['id']}/{loc}/"
        recs = []
        for key, rec in list(self.store.table(TABLE).items()):
            if key.startswith(prefix) and key.count("/") == 2:
                if self._expired(rec):
                    del self.store.table(TABLE)[key]
                    self.store.touch()
                    continue
                recs.append(rec)
        recs.sort(key=lambda r: r["seq"], reverse=True)
        secrets = [self._secret_out(r) for r in recs]
        if request.filter.strip():
            match = compile_filter(request.filter, _secret_field)
            secrets = [s for s in secrets if match(s)]
            total = 0
        else:
            total = len(secrets)
        page, token = base.paginate(
            secrets, request.page_size, request.page_token, default=DEFAULT_PAGE, maximum=MAX_PAGE
        )
        return types.ListSecretsResponse(secrets=page, next_page_token=token, total_size=total)

    @rpc(
        "UpdateSecret",
        types.UpdateSecretRequest,
        types.Secret,
        mutating=True,
        permission="secretmanager.secrets.update",
    )
    def update_secret(self, request, context):
        if "secret" not in request or not request.secret.name:
            raise base.invalid("Secret.name must be provided.")
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        if not paths:
            raise base.invalid("update_mask must be provided and not empty.")
        rec, public = self._record(request.secret.name)
        stored = rec["secret"]
        incoming = request.secret
        if incoming.etag and incoming.etag != stored.etag:
            raise base.failed_precondition(
                f"The etag provided in the request does not match the etag of Secret [{public}]."
            )
        updated = types.Secret.deserialize(types.Secret.serialize(stored))
        for path in paths:
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
            elif path == "rotation":
                updated.rotation = incoming.rotation if "rotation" in incoming else None
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
            elif path == "version_destroy_ttl":
                updated.version_destroy_ttl = (
                    incoming.version_destroy_ttl if "version_destroy_ttl" in incoming else None
                )
            elif path == "customer_managed_encryption":
                updated.customer_managed_encryption = incoming.customer_managed_encryption
        if "rotation" in paths:
            self._check_rotation(updated)
        self._apply_expiration(updated)
        updated.etag = base.new_etag()
        rec["secret"] = updated
        return self._secret_out(rec)

    @rpc(
        "DeleteSecret",
        types.DeleteSecretRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="secretmanager.secrets.delete",
    )
    def delete_secret(self, request, context):
        rec, public = self._record(request.name)
        if request.etag and request.etag != rec["secret"].etag:
            raise base.failed_precondition(
                f"The etag provided in the request does not match the etag of Secret [{public}]."
            )
        project, loc, sid = self._split_secret(request.name)
        del self.store.table(TABLE)[self._key(project, loc, sid)]
        return empty_pb2.Empty()

    # --- versions --------------------------------------------------------------------------
    @rpc(
        "AddSecretVersion",
        types.AddSecretVersionRequest,
        types.SecretVersion,
        mutating=True,
        permission="secretmanager.versions.add",
    )
    def add_secret_version(self, request, context):
        rec, public = self._record(request.parent)
        if "payload" not in request:
            raise base.invalid("Field [payload] is required.")
        data = bytes(request.payload.data)
        if not data:
            raise base.invalid("Secret Payload cannot be empty.")
        if len(data) > MAX_PAYLOAD:
            raise base.invalid(
                f"Secret Payload cannot be larger than {MAX_PAYLOAD} bytes (got {len(data)})."
            )
        actual = crc32c(data)
        given = "data_crc32c" in request.payload
        if given and request.payload.data_crc32c != actual:
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
        return self._version_out(rec["versions"][str(number)])

    @rpc(
        "GetSecretVersion",
        types.GetSecretVersionRequest,
        types.SecretVersion,
        permission="secretmanager.versions.get",
    )
    def get_secret_version(self, request, context):
        _, _, ver = self._resolve(request.name)
        return self._version_out(ver)

    @rpc(
        "AccessSecretVersion",
        types.AccessSecretVersionRequest,
        types.AccessSecretVersionResponse,
        permission="secretmanager.versions.access",
    )
    def access_secret_version(self, request, context):
        _, _, ver = self._resolve(request.name, access=True)
        v = ver["version"]
        if v.state != State.ENABLED:
            raise base.failed_precondition(f"Secret Version [{v.name}] is in {v.state.name} state.")
        self._audit(v.name, request.name)
        return types.AccessSecretVersionResponse(
            name=v.name, payload=types.SecretPayload(data=ver["data"], data_crc32c=ver["crc"])
        )

    def _audit(self, version_name: str, requested: str) -> None:
        from google.cloud.audit import audit_log_pb2

        project_number = version_name.split("/")[1]
        project = self.emu.resolve_project(project_number)
        method = f"{SERVICE}.AccessSecretVersion"
        entry = audit_log_pb2.AuditLog(
            service_name=API,
            method_name=method,
            resource_name=version_name,
        )
        entry.authentication_info.principal_email = "anonymous@thothctl.emulator"
        entry.authorization_info.add(
            resource=requested, permission="secretmanager.versions.access", granted=True
        )
        self.emu.write_log(
            project_id=project["id"],
            log_id="cloudaudit.googleapis.com/data_access",
            resource_type="audited_resource",
            resource_labels={"service": API, "method": method, "project_id": project["id"]},
            severity="INFO",
            proto_payload=entry,
        )

    @rpc(
        "ListSecretVersions",
        types.ListSecretVersionsRequest,
        types.ListSecretVersionsResponse,
        permission="secretmanager.versions.list",
    )
    def list_secret_versions(self, request, context):
        rec, _ = self._record(request.parent)
        versions = [
            self._version_out(rec["versions"][n])
            for n in sorted(rec["versions"], key=int, reverse=True)
        ]
        if request.filter.strip():
            match = compile_filter(request.filter, _version_field)
            versions = [v for v in versions if match(v)]
            total = 0
        else:
            total = len(versions)
        page, token = base.paginate(
            versions, request.page_size, request.page_token, default=DEFAULT_PAGE, maximum=MAX_PAGE
        )
        return types.ListSecretVersionsResponse(
            versions=page, next_page_token=token, total_size=total
        )

    def _transition(self, request, target: str) -> types.SecretVersion:
        rec, _, ver = self._resolve(request.name)
        v = ver["version"]
        if request.etag and request.etag != v.etag:
            raise base.failed_precondition(
                "The etag provided in the request does not match the etag of Secret Version "
                f"[{v.name}]."
            )
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
            destroy_ttl = (
                rec["secret"].version_destroy_ttl
                if "version_destroy_ttl" in rec["secret"]
                else None
            )
            if destroy_ttl and destroy_ttl.total_seconds() > 0:
                v.state = State.DISABLED
                v.scheduled_destroy_time = base.now() + destroy_ttl
            else:
                self._destroy_now(ver)
        v.etag = base.new_etag()
        return self._version_out(ver)

    @rpc(
        "DisableSecretVersion",
        types.DisableSecretVersionRequest,
        types.SecretVersion,
        mutating=True,
        permission="secretmanager.versions.disable",
    )
    def disable_secret_version(self, request, context):
        return self._transition(request, "DISABLE")

    @rpc(
        "EnableSecretVersion",
        types.EnableSecretVersionRequest,
        types.SecretVersion,
        mutating=True,
        permission="secretmanager.versions.enable",
    )
    def enable_secret_version(self, request, context):
        return self._transition(request, "ENABLE")

    @rpc(
        "DestroySecretVersion",
        types.DestroySecretVersionRequest,
        types.SecretVersion,
        mutating=True,
        permission="secretmanager.versions.destroy",
    )
    def destroy_secret_version(self, request, context):
        return self._transition(request, "DESTROY")

    # --- IAM -------------------------------------------------------------------------------
    @rpc(
        "GetIamPolicy",
        iam_policy_pb2.GetIamPolicyRequest,
        policy_pb2.Policy,
        permission="secretmanager.secrets.getIamPolicy",
    )
    def get_iam_policy(self, request, context):
        iam_policy.check_requested_version(request)
        rec, _ = self._record(request.resource)
        return iam_policy.copy(rec["policy"])

    @rpc(
        "SetIamPolicy",
        iam_policy_pb2.SetIamPolicyRequest,
        policy_pb2.Policy,
        mutating=True,
        permission="secretmanager.secrets.setIamPolicy",
    )
    def set_iam_policy(self, request, context):
        rec, _ = self._record(request.resource)
        rec["policy"] = iam_policy.apply_set(
            rec["policy"], request, supported_roles=SUPPORTED_ROLES
        )
        return iam_policy.copy(rec["policy"])

    @rpc(
        "TestIamPermissions",
        iam_policy_pb2.TestIamPermissionsRequest,
        iam_policy_pb2.TestIamPermissionsResponse,
    )
    def test_iam_permissions(self, request, context):
        for perm in request.permissions:
            if "*" in perm:
                raise base.invalid(f"Permissions with wildcards are not allowed: {perm!r}.")
        try:
            self._record(request.resource)
        except base.EmulatorError as err:
            if err.code.name == "NOT_FOUND":
                return iam_policy_pb2.TestIamPermissionsResponse()
            raise
        granted = [
            p for p in request.permissions if p in PERMISSIONS and not self.emu.permission_denied(p)
        ]
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    # --- control ops -----------------------------------------------------------------------
    def control_ops(self):
        def summary(args):
            out = {}
            for key, rec in self.store.table(TABLE).items():
                out[key] = {
                    "versions": {n: v["version"].state.name for n, v in rec["versions"].items()},
                    "aliases": dict(rec["secret"].version_aliases),
                }
            return out

        return {"secrets_summary": summary}


# --- filters -----------------------------------------------------------------------------------

_TERM_RE = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>:|=|!=|<=|>=|<|>)\s*(?P<value>.+)$"
)


def _secret_field(secret: types.Secret, field: str) -> Any:
    if field == "name":
        return secret.name
    if field.startswith("labels."):
        return secret.labels.get(field[7:])
    if field == "labels":
        return " ".join(f"{k}={v}" for k, v in secret.labels.items()) or None
    if field == "create_time":
        return secret.create_time
    if field == "replication.automatic":
        return "automatic" if "automatic" in secret.replication else None
    if field.startswith("replication.user_managed"):
        if "user_managed" not in secret.replication:
            return None
        return " ".join(r.location for r in secret.replication.user_managed.replicas)
    if field == "topics" or field == "topics.name":
        return " ".join(t.name for t in secret.topics) or None
    raise base.invalid(f"Invalid filter: unknown field {field!r}.")


def _version_field(version: types.SecretVersion, field: str) -> Any:
    if field == "state":
        return version.state.name
    if field == "name":
        return version.name
    if field == "create_time":
        return version.create_time
    raise base.invalid(f"Invalid filter: unknown field {field!r}.")


def _parse_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise base.invalid(f"Invalid filter: {text!r} is not an RFC 3339 timestamp.") from None


def _term(text: str, getter) -> Any:
    negate = False
    if text.startswith("NOT "):
        negate, text = True, text[4:].strip()
    elif text.startswith("-"):
        negate, text = True, text[1:]
    m = _TERM_RE.match(text)
    if not m:
        raise base.invalid(
            f"Invalid filter term {text!r}: use FIELD:VALUE, FIELD=VALUE or a comparison."
        )
    field, op, value = m.group("field"), m.group("op"), m.group("value").strip().strip('"')

    def test(obj: Any) -> bool:
        actual = getter(obj, field)
        if op == ":":
            ok = (
                actual is not None
                if value == "*"
                else actual is not None and value.lower() in str(actual).lower()
            )
        elif isinstance(actual, dt.datetime) or field == "create_time":
            when = _parse_time(value)
            ok = {
                "=": actual == when,
                "!=": actual != when,
                "<": actual < when,
                ">": actual > when,
                "<=": actual <= when,
                ">=": actual >= when,
            }[op]
        elif op == "=":
            ok = actual is not None and str(actual) == value
        elif op == "!=":
            ok = actual is None or str(actual) != value
        else:
            ok = (
                actual is not None
                and {
                    "<": str(actual) < value,
                    ">": str(actual) > value,
                    "<=": str(actual) <= value,
                    ">=": str(actual) >= value,
                }[op]
            )
        return not ok if negate else ok

    _probe(getter, field)  # unknown fields fail even when nothing is listed
    return test


def _probe(getter, field: str) -> None:
    probe = types.Secret() if getter is _secret_field else types.SecretVersion()
    getter(probe, field)


def compile_filter(text: str, getter):
    """AND of OR-groups of terms (OR binds tighter, as in AIP-160)."""
    tokens = re.findall(r'"[^"]*"|\S+', text)
    groups: list[list[Any]] = [[]]
    pending_or = False
    buf: list[str] = []

    def flush():
        nonlocal pending_or
        if not buf:
            return
        term = _term(" ".join(buf), getter)
        if pending_or and groups[-1]:
            groups[-1].append(term)
        else:
            if groups[-1]:
                groups.append([])
            groups[-1].append(term)
        pending_or = False
        buf.clear()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "AND":
            flush()
        elif tok == "OR":
            flush()
            pending_or = True
        elif tok == "NOT":
            flush()
            buf.append("NOT")
        elif (
            buf
            and buf != ["NOT"]
            and not buf[-1].endswith((":", "=", "<", ">"))
            and tok[0] not in ":=<>!"
        ):
            flush()
            buf.append(tok)
        else:
            buf.append(tok)
        i += 1
    flush()
    if pending_or:
        raise base.invalid("Invalid filter: OR at the end.")
    groups = [g for g in groups if g]

    def match(obj: Any) -> bool:
        return all(any(t(obj) for t in group) for group in groups)

    return match


SERVICES = [SecretManagerService]
