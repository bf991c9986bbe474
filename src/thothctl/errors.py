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
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_HANGUP = 129  # the terminal went away (128 + SIGHUP)
EXIT_BROKEN_PIPE = 141  # stdout was closed early, e.g. `| head -1` (128 + SIGPIPE)
EXIT_TERMINATED = 143  # SIGTERM, from CI runners and `timeout` (128 + SIGTERM)


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
LOGIN_HINT = "run `gcloud auth application-default login` and try again"


def _details(exc: Any, full_name: str) -> list[Any]:
    """The ``google.rpc`` detail messages of one type (``"google.rpc.RetryInfo"``) a Google error
    carries (gRPC ``grpc-status-details-bin`` and REST ``error.details`` alike)."""
    found = []
    for detail in getattr(exc, "details", None) or []:
        descriptor = getattr(detail, "DESCRIPTOR", None)
        if getattr(descriptor, "full_name", None) == full_name:
            found.append(detail)
    return found


def error_info(exc: Any) -> tuple[str, dict[str, str]]:
    """(reason, metadata) of the ``google.rpc.ErrorInfo`` a Google error carries, or ("", {})."""
    for info in _details(exc, "google.rpc.ErrorInfo"):
        return info.reason, dict(info.metadata)
    return "", {}


def retry_delay(exc: Any) -> float | None:
    """Seconds the server asked the client to wait (``google.rpc.RetryInfo``), or None."""
    for info in _details(exc, "google.rpc.RetryInfo"):
        delay = info.retry_delay
        return delay.seconds + delay.nanos / 1e9
    return None


def policy_violations(exc: Any) -> list[tuple[str, str, str]]:
    """(type, subject, description) of each organization-policy violation (a
    ``google.rpc.PreconditionFailure`` whose type is a ``constraints/…`` name)."""
    return [
        (v.type, v.subject, v.description)
        for failure in _details(exc, "google.rpc.PreconditionFailure")
        for v in failure.violations
        if v.type.startswith("constraints/")
    ]


def is_google_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("google.api_core") and hasattr(exc, "grpc_status_code")


def is_retry_error(exc: BaseException) -> bool:
    """google-api-core's RetryError: the retry deadline passed; ``.cause`` is the last error."""
    return type(exc).__name__ == "RetryError" and type(exc).__module__.startswith("google.api_core")


def code_of(exc: BaseException) -> str:
    """The gRPC status code name a Google error carries (``"NOT_FOUND"``), or ``""``.

    The one place that reads a status code: over gRPC and REST alike, google-api-core exceptions
    carry ``grpc_status_code``."""
    return getattr(getattr(exc, "grpc_status_code", None), "name", None) or ""


def grpc_code_name(exc: BaseException) -> str:
    """Like :func:`code_of`, falling back to the exception's class name (for messages)."""
    return code_of(exc) or type(exc).__name__


def _one_line(exc: BaseException) -> str:
    raw = getattr(exc, "message", None) or str(exc)
    return " ".join(str(raw).split())


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


# --- endpoints that cannot be reached ---------------------------------------------------------

# (pattern in the error text, what it means). gRPC says "failed to connect to all addresses"
# before the cause; requests/urllib3 name the cause in the ConnectionError's text.
_UNREACHABLE = (
    ("Connection refused", "connection refused"),
    ("DNS resolution failed", "the name does not resolve"),
    ("Name or service not known", "the name does not resolve"),
    ("nodename nor servname", "the name does not resolve"),
    ("Temporary failure in name resolution", "the name does not resolve"),
    ("NameResolutionError", "the name does not resolve"),
    ("Network is unreachable", "the network is unreachable"),
    ("No route to host", "no route to host"),
    ("Failed parsing HTTP/2", "it does not speak gRPC (an HTTP/1 server answered)"),
    ("Unable to connect to proxy", "the proxy refused the connection"),
    ("ProxyError", "the proxy refused the connection"),
    ("SSLError", "the TLS handshake failed (a proxy intercepting TLS?)"),
    (
        "CERTIFICATE_VERIFY_FAILED",
        "the TLS certificate was not trusted (a proxy intercepting TLS?)",
    ),
    ("ConnectTimeout", "the connection timed out"),
)
_ENDPOINT_RES = (
    re.compile(r"ipv[46]:(\[[^\]]+\]:\d+|[^\s,;:]+:\d+)"),
    re.compile(r"DNS resolution failed for ([^\s:]+(?::\d+)?)"),
    re.compile(r"host='([^']+)', port=(\d+)"),
)
_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def _connect_failure(exc: BaseException) -> bool:
    """Whether the error says no connection could be made (as opposed to a failed call)."""
    if code_of(exc) == "UNAVAILABLE":
        return "failed to connect to all addresses" in _one_line(exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    module = type(exc).__module__
    return "ConnectionError" in names and module.startswith(("requests", "urllib3"))


def unreachable_reason(exc: BaseException) -> str | None:
    """Why the endpoint could not be reached ("connection refused", ...), or None when the error
    is not a failure to connect. Such an error is not transient: retrying cannot fix an address,
    a proxy or a stopped emulator."""
    if not _connect_failure(exc):
        return None
    text = _one_line(exc) + " " + " ".join(c.__name__ for c in type(exc).__mro__)
    for pattern, why in _UNREACHABLE:
        if pattern in text:
            return why
    return None


def endpoint_in(exc: BaseException) -> str:
    """The host:port an error names, or ``""``."""
    text = _one_line(exc)
    for pattern in _ENDPOINT_RES:
        m = pattern.search(text)
        if m:
            return ":".join(g for g in m.groups() if g)
    return ""


class EndpointUnreachable(OperationError):
    """No connection could be made to a Google endpoint or to the emulator. Exit 1, at once."""

    def __init__(
        self, endpoint: str, why: str, *, emulated: bool | None = None, transport: str = "grpc"
    ):
        if emulated is None:
            emulated = endpoint.startswith(_LOOPBACK)
        where = f" at {endpoint}" if endpoint else ""
        what = "the emulator" if emulated else "the Google API endpoint"
        if emulated:
            hint = (
                "is the emulator running? start one with `thothctl emulator serve` and export "
                "THOTHCTL_EMULATOR_HOST, or use --emulator for an embedded one"
            )
        elif transport == "rest":
            hint = (
                "check the network, a proxy (HTTPS_PROXY, NO_PROXY) and any "
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_* variable"
            )
        else:
            hint = (
                "check the network or a proxy (HTTPS_PROXY, NO_PROXY); where gRPC is blocked, "
                "try --transport rest"
            )
        super().__init__(f"cannot reach {what}{where}: {why}", hint=hint)
        self.endpoint = endpoint
        self.why = why


class RetriesExhausted(OperationError):
    """A call kept failing with transient errors until the retry deadline (or the server asked
    to wait longer than the time left). Carries the last error and how long it tried."""

    def __init__(
        self,
        last: BaseException | None,
        seconds: float | None,
        tries: int | None = None,
        service: str | None = None,
    ):
        tried = [f"retried for {_seconds(seconds)}"] if seconds is not None else []
        if tries:
            tried.append(f"{tries} tries" if tries > 1 else "1 try")
        delay = retry_delay(last) if last is not None else None
        if delay:
            tried.insert(0, f"Google asks to wait {_seconds(delay)}")
        rerun = "the command is safe to re-run; THOTHCTL_RETRY_DEADLINE sets how long to retry"
        quota = last is not None and code_of(last) == "RESOURCE_EXHAUSTED"
        if quota:
            base = translate_google_error(last)
            line, hint = base.message, f"{base.hint}; {rerun}"
        else:
            last_text = f"{grpc_code_name(last)}: {_one_line(last)}" if last else "no answer"
            line = f"{service or 'the Google API'} kept failing: {last_text}"
            hint = f"the service may be down or overloaded; {rerun}"
        super().__init__(f"{line} ({', '.join(tried) or 'gave up'})", hint=hint)
        self.last = last
        self.seconds = seconds
        self.tries = tries


_TIMEOUT_RE = re.compile(r"Timeout of ([\d.]+)s exceeded")


def retries_exhausted(exc: BaseException, service: str | None = None) -> RetriesExhausted:
    """A RetryError as one line: the last error and how long it was retried."""
    seconds = getattr(exc, "thothctl_seconds", None)
    if seconds is None:
        m = _TIMEOUT_RE.search(str(exc))
        seconds = float(m.group(1)) if m else None
    tries = getattr(exc, "thothctl_tries", None)
    return RetriesExhausted(getattr(exc, "cause", None), seconds, tries, service)


def call_error(
    exc: BaseException, service: str, endpoint: str, emulated: bool, transport: str
) -> BaseException:
    """A failed call's error as the user should read it, given where the call went: retries that
    ran out say how long they tried; an endpoint that cannot be reached is named, with what to
    check; credentials that cannot be refreshed are an AuthError. Anything else is returned as is
    (the library reads Google errors' codes)."""
    if is_retry_error(exc):
        return retries_exhausted(exc, service)
    why = unreachable_reason(exc)
    if why is None:
        return credentials_error(exc) or exc
    transport = transport if is_google_error(exc) else "rest"
    return EndpointUnreachable(
        endpoint_in(exc) or endpoint, why, emulated=emulated, transport=transport
    )


def poll_timeout(exc: BaseException, timeout: float) -> ThothError:
    """google-api-core reports an outage while polling a long-running operation as a polling
    timeout (a TimeoutError over the RetryError of the poll): told as the outage it is, else as
    the operation not finishing in time."""
    inner = exc.__context__
    cause = getattr(inner, "cause", None)
    if inner is not None and cause is not None and is_google_error(cause):
        return retries_exhausted(inner)
    return OperationError(
        f"the operation did not finish within {_seconds(timeout)}",
        hint="it may still finish; re-run the command to see where it stands",
    )


# --- credentials ------------------------------------------------------------------------------

_REFUSED_GRANT = ("invalid_grant", "invalid_client", "unauthorized_client", "Reauthentication")


def _auth_library_error(exc: BaseException) -> str:
    """ "refresh" / "transport" for google-auth's RefreshError / TransportError, else ""."""
    if not type(exc).__module__.startswith("google.auth"):
        return ""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "RefreshError" in names:
        return "refresh"
    return "transport" if "TransportError" in names else ""


def _refresh_text(exc: BaseException) -> str:
    """The token endpoint's own words in a RefreshError (its ``error_description``), or the
    error's first argument; never a token."""
    args = getattr(exc, "args", ())
    for arg in args[1:]:
        if isinstance(arg, dict) and (arg.get("error_description") or arg.get("error")):
            return str(arg.get("error_description") or arg.get("error"))
    return " ".join(str(args[0]).split()) if args else type(exc).__name__


def credentials_error(exc: BaseException) -> ThothError | None:
    """The credentials could not be used: google-auth's RefreshError / TransportError raised
    directly (REST) or inside gRPC's metadata plugin (UNAVAILABLE "Getting metadata from plugin
    failed"). Rejected credentials exit 4; an unreachable token endpoint exits 1. Not transient."""
    kind = _auth_library_error(exc)
    text = _refresh_text(exc) if kind == "refresh" else _one_line(exc)
    if not kind:
        if code_of(exc) != "UNAVAILABLE" or "Getting metadata from plugin failed" not in text:
            return None
        text = text.split("failed with error:", 1)[-1].strip()
        rejected = any(word in text for word in _REFUSED_GRANT)
        kind = "refresh" if rejected or "Connection" not in text else "transport"
        m = re.search(r"\('([^']*)'", text)
        text = m.group(1) if m and kind == "refresh" else text
    if kind == "transport":
        endpoint = endpoint_in(exc) or "the token endpoint"
        return EndpointUnreachable(
            endpoint, "could not refresh the Google credentials there", emulated=False
        )
    return AuthError(
        f"the Google credentials could not be refreshed: {text.rstrip('.')}",
        hint="they expired or were revoked: " + LOGIN_HINT + "; with a key file or "
        "impersonation, check GOOGLE_APPLICATION_CREDENTIALS and --impersonate-service-account",
    )


# --- Google errors by their ErrorInfo reason -------------------------------------------------

_AUTH_REASONS = {
    "ACCESS_TOKEN_EXPIRED": "the access token has expired",
    "ACCOUNT_STATE_INVALID": "the account is disabled or deleted",
    "CREDENTIALS_MISSING": "the request carried no credentials",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT": "the access token lacks the cloud-platform scope",
    "ACCESS_TOKEN_TYPE_UNSUPPORTED": "this kind of access token is not accepted",
}


def _quota_error(exc: Any, prefix: str, reason: str, meta: dict[str, str]) -> ThothError:
    limit = meta.get("quota_limit") or meta.get("quota_metric") or ""
    service = meta.get("service", "")
    what = f"quota {limit!r}" if limit else "a quota"
    if service:
        what += f" of {service}"
    for failure in _details(exc, "google.rpc.QuotaFailure"):
        for violation in failure.violations:
            if violation.description and not limit:
                what = f"a quota ({' '.join(violation.description.split()).rstrip('.')})"
                break
    delay = retry_delay(exc)
    if reason == "RESOURCE_QUOTA_EXCEEDED":
        hint = "free some of the resource or ask for more quota"
    else:
        wait = f"wait {_seconds(delay)}" if delay else "wait a minute"
        hint = f"{wait} and re-run, or ask for more quota"
    consumer = meta.get("consumer", "").removeprefix("projects/")
    if consumer:
        hint += f" (https://console.cloud.google.com/iam-admin/quotas?project={consumer})"
    return OperationError(f"{prefix}{what} is exhausted", hint=hint)


def _policy_error(exc: Any, prefix: str) -> ThothError:
    kind, subject, description = policy_violations(exc)[0]
    constraint = kind.removeprefix("constraints/")
    project = subject.split("?", 1)[0].removeprefix("orgpolicy:").removeprefix("projects/")
    detail = " ".join(description.split()).rstrip(".") if description else ""
    line = f"{prefix}refused by the organization policy {kind}" + (f": {detail}" if detail else "")
    where = f" --project {project}" if project else ""
    if constraint == "iam.allowedPolicyMemberDomains":
        hint = (
            "the organization only allows members of its own domains; grant a member from an "
            "allowed domain, or ask an organization policy administrator "
            f"(`gcloud org-policies describe {constraint}{where}`)"
        )
    else:
        hint = (
            "ask an organization policy administrator "
            f"(`gcloud org-policies describe {constraint}{where}`)"
        )
    return OperationError(line, hint=hint)


def _by_reason(exc: Any, prefix: str, message: str) -> ThothError | None:
    """Errors told by their ErrorInfo reason (or a policy violation), whatever the code."""
    reason, meta = error_info(exc)
    disabled = _API_DISABLED_RE.search(message)
    if reason == "SERVICE_DISABLED" or disabled:
        api = meta.get("service") or (disabled.group(1) if disabled else "an API")
        return OperationError(
            f"{prefix}{api} is not enabled in this project",
            hint="enable it with `thothctl apis enable`",
        )
    if reason == "BILLING_DISABLED" or "requires billing to be enabled" in message:
        consumer = meta.get("consumer", "").removeprefix("projects/")
        service = meta.get("service")
        needs = f" ({service} needs it)" if service else ""
        return OperationError(
            f"{prefix}billing is not enabled for project {consumer or 'of this call'}{needs}",
            hint="link a billing account, in the console (https://console.cloud.google.com/billing) "
            "or with `gcloud billing projects link PROJECT --billing-account ACCOUNT_ID`",
        )
    if reason in ("RATE_LIMIT_EXCEEDED", "RESOURCE_QUOTA_EXCEEDED") or (
        code_of(exc) == "RESOURCE_EXHAUSTED"
    ):
        return _quota_error(exc, prefix, reason, meta)
    if policy_violations(exc):
        return _policy_error(exc, prefix)
    if reason in _AUTH_REASONS or code_of(exc) == "UNAUTHENTICATED":
        why = _AUTH_REASONS.get(reason) or message
        return AuthError(f"{prefix}the credentials were rejected: {why}", hint=LOGIN_HINT)
    return None


def translate_google_error(exc: BaseException, action: str | None = None) -> ThothError:
    """Turn a google.api_core exception into a ThothError with a hint. Never leaks payloads:
    Google error messages name resources, never secret values."""
    code = grpc_code_name(exc)
    message = _one_line(exc)
    prefix = f"{action}: " if action else ""
    known = credentials_error(exc) or _by_reason(exc, prefix, message)
    if known is not None:
        return known
    why = unreachable_reason(exc)
    if why:
        return EndpointUnreachable(endpoint_in(exc), why)
    if code == "PERMISSION_DENIED":
        _reason, meta = error_info(exc)
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
    if code == "NOT_FOUND":
        return NotFoundError(f"{prefix}{message}")
    if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return OperationError(
            f"{prefix}Google API unavailable ({code}: {message})",
            hint="try again in a minute; the command is safe to re-run",
        )
    if code == "INVALID_ARGUMENT":
        return OperationError(f"{prefix}the API rejected the request: {message}")
    return OperationError(f"{prefix}{code}: {message}")


def _transport_error(exc: BaseException) -> ThothError | None:
    """Errors that are not google-api-core's: RetryError, google-auth's refresh errors, and
    requests' connection errors and timeouts (the REST transport lets them through)."""
    if is_retry_error(exc):
        return retries_exhausted(exc)
    known = credentials_error(exc)
    if known is not None:
        return known
    why = unreachable_reason(exc)
    if why:
        return EndpointUnreachable(endpoint_in(exc), why, transport="rest")
    names = {cls.__name__ for cls in type(exc).__mro__}
    if type(exc).__module__.startswith("requests") and "Timeout" in names:
        return OperationError(
            f"the Google API did not answer in time ({type(exc).__name__})",
            hint="try again in a minute; the command is safe to re-run",
        )
    return None


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
    err = _transport_error(exc)
    if err is not None:
        return err.exit_code, err.message, err.hint
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        ctx = getattr(exc, "ctx", None)
        path = getattr(ctx, "command_path", None) or "thothctl"
        code = getattr(exc, "exit_code", None) or EXIT_USAGE
        return code, exc.format_message(), f"see `{path} --help`"
    raise TypeError(f"not an expected error: {type(exc).__name__}")
