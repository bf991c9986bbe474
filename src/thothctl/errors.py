"""The exceptions thothctl raises, their exit codes, and the ONE translation of Google errors.

Commands and library functions raise these; the CLI's top level (``thothctl.cli.app``) turns them
into one line on stderr and an exit code. Nothing here imports google.* at module level.
"""

from __future__ import annotations

import re
from typing import Any

# Exit codes (docs/architecture.md, "Errors and exit codes").
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DOCTOR = 3
EXIT_AUTH = 4  # no credentials, or credentials rejected
EXIT_INTERRUPTED = 130


class ThothError(Exception):
    """An expected failure: one line for the user, an optional hint, an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class Cancelled(ThothError):
    """The user answered "no" at a confirmation: nothing was changed."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str = "cancelled; nothing was changed", hint: str | None = None):
        super().__init__(message, hint)


class UsageError(ThothError):
    """Bad usage or input. Raised before any change is made."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A bad configuration file or value: names the file, the key and the rule."""

    def __init__(self, source: str, key: str, rule: str, hint: str | None = None):
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {rule}", hint)
        self.source = source
        self.key = key
        self.rule = rule


class AuthError(ThothError):
    """No usable credentials (none found, or rejected)."""

    exit_code = EXIT_AUTH


class PermissionDeniedError(ThothError):
    """The caller lacks a permission: names it, the resource and a role that grants it.

    Exit 1: an operation failed. Exit 4 is kept for missing or rejected credentials."""

    exit_code = EXIT_FAILED


class NotFoundError(ThothError):
    """A resource thothctl needs does not exist."""


class OperationError(ThothError):
    """A Google call or a long-running operation failed."""


# --- Google errors -------------------------------------------------------------------------

# Least-privileged predefined role granting each permission (prefix match, longest first).
_ROLE_FOR_PERMISSION: list[tuple[str, str]] = [
    ("secretmanager.versions.access", "roles/secretmanager.secretAccessor"),
    ("secretmanager.versions.add", "roles/secretmanager.secretVersionAdder"),
    ("secretmanager.versions.", "roles/secretmanager.secretVersionManager"),
    ("secretmanager.secrets.get", "roles/secretmanager.viewer"),
    ("secretmanager.secrets.list", "roles/secretmanager.viewer"),
    ("secretmanager.", "roles/secretmanager.admin"),
    ("cloudscheduler.jobs.get", "roles/cloudscheduler.viewer"),
    ("cloudscheduler.jobs.list", "roles/cloudscheduler.viewer"),
    ("cloudscheduler.jobs.run", "roles/cloudscheduler.jobRunner"),
    ("cloudscheduler.", "roles/cloudscheduler.admin"),
    ("run.services.get", "roles/run.viewer"),
    ("run.services.list", "roles/run.viewer"),
    ("run.routes.invoke", "roles/run.invoker"),
    ("run.", "roles/run.admin"),
    ("iam.serviceAccounts.actAs", "roles/iam.serviceAccountUser"),
    ("iam.serviceAccounts.get", "roles/iam.serviceAccountViewer"),
    ("iam.serviceAccounts.list", "roles/iam.serviceAccountViewer"),
    ("iam.serviceAccounts.", "roles/iam.serviceAccountAdmin"),
    ("serviceusage.services.get", "roles/serviceusage.serviceUsageViewer"),
    ("serviceusage.services.list", "roles/serviceusage.serviceUsageViewer"),
    ("serviceusage.", "roles/serviceusage.serviceUsageAdmin"),
    ("logging.logEntries.create", "roles/logging.logWriter"),
    ("logging.privateLogEntries.", "roles/logging.privateLogViewer"),
    ("logging.", "roles/logging.viewer"),
]


def role_for_permission(permission: str) -> str | None:
    for prefix, role in _ROLE_FOR_PERMISSION:
        if permission.startswith(prefix):
            return role
    return None


_PERMISSION_RE = re.compile(r"[Pp]ermission '?([a-zA-Z]+\.[a-zA-Z]+\.[a-zA-Z]+)'?")
_RESOURCE_RE = re.compile(r"(?:resource|on) '?((?:projects|//)[^' ]+)'?")
_API_DISABLED_RE = re.compile(
    r"(\S.*?) API has not been used in project (\S+) before or it is disabled"
)


def _detail_metadata(exc: Any) -> dict[str, str]:
    """Merge the metadata of any google.rpc.ErrorInfo details carried by a Google error."""
    merged: dict[str, str] = {}
    for detail in getattr(exc, "details", None) or []:
        metadata = getattr(detail, "metadata", None)
        if metadata:
            try:
                merged.update(dict(metadata))
            except (TypeError, ValueError):
                pass
    return merged


def is_google_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("google.api_core") and hasattr(exc, "grpc_status_code")


def code_of(exc: BaseException) -> str:
    """The gRPC status code name a Google error carries (``"NOT_FOUND"``), or ``""``.

    The one place that reads a status code: over gRPC and REST alike, google-api-core exceptions
    carry ``grpc_status_code``."""
    return getattr(getattr(exc, "grpc_status_code", None), "name", None) or ""


def grpc_code_name(exc: BaseException) -> str:
    """Like :func:`code_of`, falling back to the exception's class name (for messages)."""
    return code_of(exc) or type(exc).__name__


def translate_google_error(exc: BaseException, action: str | None = None) -> ThothError:
    """Turn a google.api_core exception into a ThothError with a hint. Never leaks payloads:
    Google error messages name resources, never secret values."""
    code = grpc_code_name(exc)
    raw = getattr(exc, "message", None) or str(exc)
    message = " ".join(str(raw).split())
    prefix = f"{action}: " if action else ""
    meta = _detail_metadata(exc)

    disabled = _API_DISABLED_RE.search(message)
    if disabled or meta.get("reason") == "SERVICE_DISABLED":
        api = meta.get("service") or (disabled.group(1) if disabled else "an API")
        return OperationError(
            f"{prefix}{api} is not enabled in this project",
            hint="run `thothctl apis enable` (or `thothctl init --only apis`)",
        )
    if code == "PERMISSION_DENIED":
        permission = meta.get("permission")
        if not permission:
            m = _PERMISSION_RE.search(message)
            permission = m.group(1) if m else None
        resource = meta.get("resource")
        if not resource:
            m = _RESOURCE_RE.search(message)
            resource = m.group(1) if m else None
        what = f"permission {permission} denied" if permission else "permission denied"
        if resource:
            what += f" on {resource}"
        role = role_for_permission(permission) if permission else None
        hint = (
            f"grant the caller {role} (it includes {permission})"
            if role
            else "check the caller's IAM roles on the project (`gcloud projects get-iam-policy`)"
        )
        return PermissionDeniedError(f"{prefix}{what}", hint=hint)
    if code == "UNAUTHENTICATED":
        return AuthError(
            f"{prefix}the credentials were rejected ({message})",
            hint="run `gcloud auth application-default login` and try again",
        )
    if code == "NOT_FOUND":
        return NotFoundError(f"{prefix}{message}")
    if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"):
        return OperationError(
            f"{prefix}Google API unavailable after retries ({code}: {message})",
            hint="try again in a minute; the command is safe to re-run",
        )
    if code == "INVALID_ARGUMENT":
        return OperationError(f"{prefix}the API rejected the request: {message}")
    return OperationError(f"{prefix}{code}: {message}")


# --- the one translation of any exception --------------------------------------------------


def describe(exc: BaseException) -> tuple[int, str, str | None]:
    """Turn any expected exception into (exit code, one line, hint).

    ThothError subclasses carry their own; Google errors go through
    :func:`translate_google_error`; click/typer usage errors (duck-typed: this module does not
    import the CLI framework) are usage. Anything else is unexpected: it is re-raised by the caller
    so the traceback is not hidden.
    """
    if isinstance(exc, ThothError):
        return exc.exit_code, exc.message, exc.hint
    if is_google_error(exc):
        err = translate_google_error(exc)
        return err.exit_code, err.message, err.hint
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        ctx = getattr(exc, "ctx", None)
        path = getattr(ctx, "command_path", None) or "thothctl"
        code = getattr(exc, "exit_code", None) or EXIT_USAGE
        return code, exc.format_message(), f"see `{path} --help`"
    raise TypeError(f"not an expected error: {type(exc).__name__}")
