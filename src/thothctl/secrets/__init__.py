"""Secret Manager, the Thoth way, in five rooms:

- :mod:`~thothctl.secrets.values`: where a value comes from (prompt, stdin, file, env var) and
  the checks it passes before any call;
- :mod:`~thothctl.secrets.store`: secrets and versions (list, describe, access, create, add a
  version without ever a duplicate, enable/disable/destroy, delete, aliases);
- :mod:`~thothctl.secrets.iam`: grant and revoke one role on one secret;
- :mod:`~thothctl.secrets.rotate`: add, verify, update the Cloud Run service, retire old versions;
- :mod:`~thothctl.secrets.resolve`: which value each env var gets, for ``exec`` and
  :mod:`thothctl.runtime`.

The names other modules use are re-exported here (``secrets.add_version``, ``secrets.SecretValue``),
except the function ``rotate``: ``thothctl.secrets.rotate`` is the module (call
``thothctl.secrets.rotate.rotate``).
"""

from __future__ import annotations

from thothctl.secrets.iam import GrantResult, check_permissions, grant, revoke
from thothctl.secrets.resolve import (
    Resolved,
    SecretNotFound,
    exec_environment,
    resolve_env,
    resolve_one,
)
from thothctl.secrets.rotate import Note, NoteKind, RotateResult
from thothctl.secrets.store import (
    ACCESSOR_ROLE,
    PAGE_SIZE,
    STATES,
    AddResult,
    SecretStatus,
    VersionInfo,
    access,
    add_version,
    create,
    delete,
    describe,
    latest_enabled,
    list_secrets,
    require,
    secret_path,
    set_state,
    versions,
)
from thothctl.secrets.values import (
    HIDDEN,
    MAX_PAYLOAD,
    PASTE,
    VISIBLE,
    SecretValue,
    check_source,
    check_value,
    crc32c,
    default_spec,
    json_answer_complete,
    payload_json,
    prompt_kind,
    prompt_label,
    read_value,
    spec_for,
    value_from_env,
    value_from_file,
    value_from_prompt,
    value_from_stdin,
)

__all__ = [
    "ACCESSOR_ROLE",
    "HIDDEN",
    "MAX_PAYLOAD",
    "PAGE_SIZE",
    "PASTE",
    "STATES",
    "VISIBLE",
    "AddResult",
    "GrantResult",
    "Note",
    "NoteKind",
    "Resolved",
    "RotateResult",
    "SecretNotFound",
    "SecretStatus",
    "SecretValue",
    "VersionInfo",
    "access",
    "add_version",
    "check_permissions",
    "check_source",
    "check_value",
    "crc32c",
    "create",
    "default_spec",
    "delete",
    "describe",
    "exec_environment",
    "grant",
    "json_answer_complete",
    "latest_enabled",
    "list_secrets",
    "payload_json",
    "prompt_kind",
    "prompt_label",
    "read_value",
    "require",
    "resolve_env",
    "resolve_one",
    "revoke",
    "secret_path",
    "set_state",
    "spec_for",
    "value_from_env",
    "value_from_file",
    "value_from_prompt",
    "value_from_stdin",
    "versions",
]
