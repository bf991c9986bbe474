"""google.iam.v1 policy semantics shared by every emulated resource that has an IAM policy
(Secret Manager secrets, Cloud Run services): docs/emulator.md, "IAM policies".

- GetIamPolicy accepts requested_policy_version 0, 1 or 3; a policy with conditional bindings
  read below version 3 shows them as ``ROLE_withcond_HASH`` without their conditions.
- SetIamPolicy: conditional bindings need version 3; a version-1 write with an etag over a
  policy that has conditions is refused (without an etag it overwrites, conditions lost).
- :func:`get_policy_rpc` and :func:`set_policy_rpc` declare both RPCs for a service that
  provides ``policy_of(resource)`` (the stored policy; NOT_FOUND for a missing resource) and
  ``keep_policy(resource, policy)``.
- SetIamPolicy: a stale etag answers ABORTED with the Cloud Resource Manager message; an omitted
  etag overwrites; the update mask defaults to ``bindings, etag``; each binding needs at least one
  principal; at most 1,500 principals; every successful write changes the etag.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection
from typing import Any

from google.iam.v1 import iam_policy_pb2, policy_pb2

from thothctl.emulator import base
from thothctl.emulator.base import rpc

# Matched whole (fullmatch: "$" would let a final newline through); no control characters.
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
MEMBER_RE = re.compile(
    r"allUsers|allAuthenticatedUsers"
    rf"|(?:user|serviceAccount|group):{_EMAIL_PART}@{_EMAIL_PART}"
    rf"|domain:[A-Za-z0-9.-]+|principal(?:Set)?://{_VISIBLE}+|deleted:{_VISIBLE}+"
)
ROLE_RE = re.compile(
    r"roles/[A-Za-z0-9_.]+|(?:projects|organizations)/[^/\s\x00-\x1f]+/roles/[A-Za-z0-9_.]+"
)
CUSTOM_ROLE_RE = re.compile(r"(?:projects|organizations)/[^/\s\x00-\x1f]+/roles/[A-Za-z0-9_.]+")
MAX_PRINCIPALS = 1500
VALID_VERSIONS = (0, 1, 3)


def new_policy() -> policy_pb2.Policy:
    return policy_pb2.Policy(version=1, etag=base.new_policy_etag())


def copy(policy: policy_pb2.Policy) -> policy_pb2.Policy:
    out = policy_pb2.Policy()
    out.CopyFrom(policy)
    return out


def _has_conditions(policy: policy_pb2.Policy) -> bool:
    return any(b.HasField("condition") for b in policy.bindings)


def as_version(policy: policy_pb2.Policy, requested: int) -> policy_pb2.Policy:
    """The policy as a GetIamPolicy of ``requested_policy_version`` returns it: version 3 only
    when it has conditions; below 3, each conditional binding's role becomes
    ``ROLE_withcond_HASH`` and its condition is hidden (Google's "withcond" form)."""
    out = copy(policy)
    if not _has_conditions(out):
        out.version = 1
        return out
    if requested >= 3:
        out.version = 3
        return out
    out.version = 1
    for b in out.bindings:
        if b.HasField("condition"):
            digest = hashlib.sha1(b.condition.SerializeToString()).hexdigest()[:20]
            b.role = f"{b.role}_withcond_{digest}"
            b.ClearField("condition")
    return out


def check_requested_version(request) -> None:
    requested = request.options.requested_policy_version
    if requested not in VALID_VERSIONS:
        raise base.invalid(
            f"Invalid requested_policy_version {requested}: valid versions are 0, 1 and 3."
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def check_bindings(
    policy: policy_pb2.Policy, supported_roles: Collection[str] | None = None
) -> None:
    total = 0
    for binding in policy.bindings:
        if not ROLE_RE.fullmatch(binding.role):
            raise base.invalid(
                f"Role {binding.role!r} is not a valid role name (e.g. 'roles/run.invoker')."
            )
        if (
            supported_roles is not None
            and binding.role not in supported_roles
            and not CUSTOM_ROLE_RE.fullmatch(binding.role)
        ):
            raise base.invalid(f"Role {binding.role} is not supported for this resource.")
        if not binding.members:
            raise base.invalid(
                f"Binding for role {binding.role} must contain at least one principal."
            )
        for member in binding.members:
            if not MEMBER_RE.fullmatch(member):
                raise base.invalid(
                    f"Invalid principal {member!r} in the binding for {binding.role}: use user:, "
                    "serviceAccount:, group:, domain:, allUsers or allAuthenticatedUsers."
                )
        total += len(binding.members)
    if total > MAX_PRINCIPALS:
        raise base.invalid(f"A policy can have at most {MAX_PRINCIPALS:,} principals.")


def apply_set(
    current: policy_pb2.Policy,
    request,
    *,
    supported_roles: Collection[str] | None = None,
) -> policy_pb2.Policy:
    """The policy a SetIamPolicy request produces from ``current`` (validated; new etag)."""
    incoming = request.policy
    if incoming.version not in VALID_VERSIONS:
        raise base.invalid(
            f"Invalid policy version {incoming.version}: valid versions are 0, 1 and 3."
        )
    if incoming.etag and incoming.etag != current.etag:
        raise base.aborted(
            "There were concurrent policy changes. Please retry the whole read-modify-write with "
            f"exponential backoff. The request's ETag '{_b64(incoming.etag)}' did not match the "
            f"current policy's ETag '{_b64(current.etag)}'."
        )
    if _has_conditions(incoming) and incoming.version != 3:
        raise base.invalid(
            "A policy with conditional role bindings must be written as version 3 "
            f"(the request's policy has version {incoming.version})."
        )
    if incoming.etag and incoming.version != 3 and _has_conditions(current):
        raise base.invalid(
            "The policy has conditional role bindings: read it with requested_policy_version 3 "
            "and write it back as version 3."
        )
    paths = (
        list(request.update_mask.paths) if request.HasField("update_mask") else ["bindings", "etag"]
    )
    new = copy(current)
    for path in paths:
        if path == "bindings":
            check_bindings(incoming, supported_roles)
            del new.bindings[:]
            new.bindings.extend(incoming.bindings)
        elif path in ("audit_configs", "auditConfigs"):
            del new.audit_configs[:]
            new.audit_configs.extend(incoming.audit_configs)
        elif path not in ("etag", "version"):
            raise base.invalid(f"Invalid update_mask path {path!r} for a policy.")
    new.version = 3 if _has_conditions(new) else 1
    new.etag = base.new_policy_etag()
    return new


def get_policy_rpc(permission: str) -> Any:
    """The GetIamPolicy handler of a service with ``policy_of(resource)``."""

    @rpc(
        "GetIamPolicy", iam_policy_pb2.GetIamPolicyRequest, policy_pb2.Policy, permission=permission
    )
    def get_iam_policy(self, request, context):
        check_requested_version(request)
        return as_version(
            self.policy_of(request.resource), request.options.requested_policy_version
        )

    return get_iam_policy


def set_policy_rpc(permission: str, supported_roles: Collection[str] | None = None) -> Any:
    """The SetIamPolicy handler of a service with ``policy_of`` and ``keep_policy``."""

    @rpc(
        "SetIamPolicy",
        iam_policy_pb2.SetIamPolicyRequest,
        policy_pb2.Policy,
        mutating=True,
        permission=permission,
    )
    def set_iam_policy(self, request, context):
        current = self.policy_of(request.resource)
        policy = apply_set(current, request, supported_roles=supported_roles)
        self.keep_policy(request.resource, policy)
        return as_version(policy, request.policy.version)

    return set_iam_policy
