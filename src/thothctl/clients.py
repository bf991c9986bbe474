"""The ONE place that builds Google clients.

Credentials (ADC, impersonation, quota project), transport (grpc | rest), gcloud-style endpoint
overrides, emulator mode (``THOTHCTL_EMULATOR_HOST`` or the local emulator daemon), and the one retry
policy for every call. All google.* imports happen here, lazily, so ``--help`` stays fast.

Library code receives a :class:`Clients` bundle and calls e.g. ``clients.secrets.get_secret(...)``:
each client is wrapped so that every call gets the retry policy and a timeout, except calls that
create something (they are retried by the library only after checking whether the first try took
effect, see :mod:`thothctl.retry`) and calls that must not be repeated blindly (RunJob).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from thothctl import errors, retry
from thothctl.errors import AuthError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

# Our API keys -> (gcloud endpoint override suffix, default host)
APIS: dict[str, tuple[str, str]] = {
    "secrets": ("SECRETMANAGER", "secretmanager.googleapis.com"),
    "scheduler": ("CLOUDSCHEDULER", "cloudscheduler.googleapis.com"),
    "run": ("RUN", "run.googleapis.com"),
    "iam": ("IAM", "iam.googleapis.com"),
    "serviceusage": ("SERVICEUSAGE", "serviceusage.googleapis.com"),
    "logging": ("LOGGING", "logging.googleapis.com"),
}

# Calls never retried blindly: creations (checked and retried by the library) and RunJob.
NOT_BLINDLY_RETRIED = frozenset(
    {
        "create_secret",
        "add_secret_version",
        "create_job",
        "create_service_account",
        "run_job",
        "write_log_entries",
    }
)

DEFAULT_TIMEOUT = 30.0


@dataclass
class ClientSettings:
    project: str
    region: str = "us-central1"
    transport: str = "grpc"
    impersonate_service_account: str | None = None
    quota_project: str | None = None
    emulator_host: str | None = None
    embedded_emulator: bool = False
    emulator_data: str | None = None
    emulator_idle_timeout: str | None = None  # THOTHCTL_EMULATOR_IDLE_TIMEOUT, for a new daemon
    access_token_file: str | None = None  # else CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @property
    def emulated(self) -> bool:
        return bool(self.emulator_host or self.embedded_emulator)


def local_emulator(data_file: str | None = None, idle_timeout: str | None = None) -> Any:
    """The status record of the user's local emulator (``--emulator``): the daemon serving the
    state file, started detached when none does (``thothctl.emulator.daemon``)."""
    from thothctl.emulator import daemon
    from thothctl.errors import OperationError, UsageError

    try:
        return daemon.ensure(data_file or daemon.default_data_file(), idle_timeout)
    except daemon.DaemonError as exc:
        raise (UsageError if exc.usage else OperationError)(exc.message, hint=exc.hint) from None


@dataclass
class CallStats:
    calls: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, calls: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.retries += retries


def make_retry(deadline: float, on_error: Callable[[Exception], None] | None = None):
    """The one retry policy for RPCs: :func:`thothctl.retry.is_transient` errors are retried with
    exponential backoff and jitter (0.1 s doubling to 5 s) or the delay the server asks for,
    for at most ``deadline`` seconds (:func:`thothctl.retry.paced`)."""
    return _paced_retry_class()(
        predicate=retry.is_transient,
        initial=0.1,
        maximum=5.0,
        multiplier=2.0,
        timeout=deadline,
        on_error=on_error,
    )


@functools.cache
def _paced_retry_class() -> type:
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry

    class PacedRetry(gretry.Retry):
        """google-api-core's Retry, paced by RetryInfo and counting (:func:`retry.paced`)."""

        def __call__(self, func: Callable[..., Any], on_error: Any = None) -> Callable[..., Any]:
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                call = functools.partial(func, *args, **kwargs)
                return retry.paced(call, self, self._on_error or on_error, gretry, gexc.RetryError)

            return functools.wraps(func)(wrapped)

    return PacedRetry


class _RetryingClient:
    """Wraps a GAPIC client: every RPC method gets the retry policy and a timeout."""

    def __init__(self, client: Any, owner: Clients, api: str):
        self._client = client
        self._owner = owner
        self._api = api
        self._accepts: dict[str, bool] = {}

    @property
    def raw(self) -> Any:
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr
        accepts = self._accepts.get(name)
        if accepts is None:
            try:
                accepts = "retry" in inspect.signature(attr).parameters
            except (TypeError, ValueError):
                accepts = False
            self._accepts[name] = accepts
        if not accepts:
            return attr
        owner = self._owner

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in NOT_BLINDLY_RETRIED:
                kwargs.setdefault("retry", None)
            else:
                kwargs.setdefault("retry", owner.retry)
            kwargs.setdefault("timeout", owner.timeout)
            owner.trace(self._api, name, args, kwargs)
            owner.stats.add(calls=1)
            try:
                return attr(*args, **kwargs)
            except Exception as exc:
                mapped = owner.explain(self._api, rest_status_error(exc))
                if mapped is exc:
                    raise
                raise mapped from None

        call.__name__ = name
        return call


class Clients:
    """Lazily built Google clients for one invocation."""

    def __init__(self, settings: ClientSettings, *, tracer: Callable[[str], None] | None = None):
        self.settings = settings
        self.project = settings.project
        self.region = settings.region
        self.stats = CallStats()
        self.timeout = DEFAULT_TIMEOUT
        self._tracer = tracer
        self._lock = threading.RLock()
        self._embedded = None
        self._channel = None
        self._extra_channels: list[Any] = []  # gRPC to loopback overrides (gRPC-only libraries)

    # --- policy ----------------------------------------------------------------------------
    @cached_property
    def retry(self):
        return make_retry(retry.retry_deadline(self.settings.environ), self._on_retry)

    def _on_retry(self, exc: Exception) -> None:
        self.stats.add(retries=1)
        if self._tracer:
            self._tracer(f"retrying after {type(exc).__name__}")

    def trace(self, api: str, method: str, args: tuple, kwargs: dict) -> None:
        if self._tracer is None:
            return
        request = kwargs.get("request")
        shown = redact(
            request
            if request is not None
            else {k: v for k, v in kwargs.items() if k not in ("retry", "timeout", "metadata")}
        )
        self._tracer(f"{api}.{method}({shown})")

    def creation_attempts(self, sleep: Callable[[float], None] = time.sleep) -> Iterator[bool]:
        """The schedule for calls that create something (see :func:`thothctl.retry.attempts`):
        retried only after the caller checked whether the previous try took effect, until the
        retry deadline. Yields once per attempt, True on the last one."""
        return retry.attempts(
            deadline=retry.retry_deadline(self.settings.environ),
            sleep=sleep,
            on_retry=lambda: self.stats.add(retries=1),
        )

    def polling(self, timeout: float = 600.0):
        """How often to poll a long-running operation."""
        from google.api_core.future import polling

        return polling.DEFAULT_POLLING.with_delay(
            initial=0.1, maximum=2.0, multiplier=1.5
        ).with_timeout(timeout)

    def wait(self, operation: Any, timeout: float = 600.0) -> Any:
        """An operation's result; an outage while polling is told as one (errors.poll_timeout)."""
        from concurrent.futures import TimeoutError as PollTimeout

        try:
            return operation.result(
                timeout=timeout, polling=self.polling(timeout), retry=self.retry
            )
        except PollTimeout as exc:
            raise errors.poll_timeout(exc, timeout) from None

    def explain(self, api: str, exc: BaseException) -> BaseException:
        """A failed call's error as the user reads it (:func:`errors.call_error`)."""
        emulator = self.settings.emulator_host or getattr(self._embedded, "address", None)
        where = emulator or self.endpoint_override(api) or f"{APIS[api][1]}:443"
        return errors.call_error(
            exc, APIS[api][1], where, self.settings.emulated, self.settings.transport
        )

    # --- emulator ------------------------------------------------------------------------
    @property
    def emulator_host(self) -> str | None:
        if self.settings.emulator_host:
            return self.settings.emulator_host
        if self.settings.embedded_emulator:
            with self._lock:
                if self._embedded is None:
                    self._embedded = local_emulator(
                        self.settings.emulator_data, self.settings.emulator_idle_timeout
                    )
            return self._embedded.address
        return None

    def channel(self):
        with self._lock:
            if self._channel is None:
                from thothctl.emulator import auth

                options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
                host = self.emulator_host or ""
                self._channel = auth.channel(host, self.emulator_auth, options)
            return self._channel

    @cached_property
    def emulator_auth(self) -> Any:
        """Emulator credentials while it asks for them, else None (``emulator/auth.py``)."""
        from thothctl.emulator import auth

        return auth.credentials(self.emulator_host or "")

    def close(self) -> None:
        for api in APIS:
            client = self.__dict__.get(api)
            if client is not None:
                try:
                    client.raw.transport.close()
                except Exception:
                    pass
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        for channel in self._extra_channels:
            channel.close()
        self._extra_channels.clear()
        self._embedded = None  # the local emulator is a daemon: it outlives the command

    # --- credentials ---------------------------------------------------------------------
    @cached_property
    def credentials(self):
        if self.settings.emulated:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        token_file = self.settings.access_token_file or self.settings.environ.get(
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"
        )
        if token_file:
            creds = access_token_credentials(token_file, self.settings.quota_project)
        else:
            creds = self._default_credentials()
        if self.settings.impersonate_service_account:
            from google.auth import impersonated_credentials

            creds = impersonated_credentials.Credentials(
                source_credentials=creds,
                target_principal=self.settings.impersonate_service_account,
                target_scopes=[CLOUD_PLATFORM_SCOPE],
                lifetime=3600,
            )
            if self.settings.quota_project:
                creds = creds.with_quota_project(self.settings.quota_project)
        return creds

    def _default_credentials(self):
        import google.auth
        from google.auth import exceptions as auth_exc

        try:
            creds, _ = google.auth.default(
                scopes=[CLOUD_PLATFORM_SCOPE], quota_project_id=self.settings.quota_project
            )
        except auth_exc.DefaultCredentialsError:
            raise AuthError(
                "no Google credentials found",
                hint="run `gcloud auth application-default login`, set "
                "GOOGLE_APPLICATION_CREDENTIALS or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, or try it "
                "locally with --emulator",
            ) from None
        return creds

    def endpoint_override(self, api: str) -> str | None:
        key = APIS[api][0]
        value = self.settings.environ.get(f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{key}")
        return value.rstrip("/") if value else None

    @cached_property
    def emulator_rest_endpoint(self) -> str:
        """``http://host:port`` of the emulator's REST listener (asked of its control plane)."""
        from thothctl.emulator import control
        from thothctl.errors import OperationError

        try:
            address = control.call(self.emulator_host or "", "info").get("rest_address")
        except control.ControlError as exc:
            raise OperationError(exc.message, hint=exc.hint) from None
        if not address:
            raise OperationError("the emulator serves no REST", hint="use --transport grpc")
        return f"http://{address}"

    def _build(self, api: str, client_cls: Any, grpc_transport_cls: Any) -> _RetryingClient:
        """REST where asked (``--transport rest``, or an override: gcloud's are REST) and the
        library has it (IAM admin and Logging are gRPC-only); anonymous for the emulator and a
        plain-http loopback override, real credentials anywhere else."""
        has_rest = "rest" in getattr(client_cls, "_transport_registry", {})
        override = self.endpoint_override(api)
        if self.settings.emulated:
            if self.settings.transport == "rest" and has_rest:
                return self._client(api, client_cls, "rest", self.emulator_rest_endpoint, True)
            transport = grpc_transport_cls(channel=self.channel())
            return _RetryingClient(client_cls(transport=transport), self, api)
        if override and is_loopback_http(override):
            if has_rest:
                return self._client(api, client_cls, "rest", override, True)
            import grpc  # the emulator's REST port passes gRPC through

            channel = grpc.insecure_channel(override.split("://", 1)[1].split("/", 1)[0])
            self._extra_channels.append(channel)
            transport = grpc_transport_cls(channel=channel)
            return _RetryingClient(client_cls(transport=transport), self, api)
        transport_name = (
            "rest" if has_rest and (override or self.settings.transport == "rest") else "grpc"
        )
        if override and transport_name == "grpc":
            override = override.split("://", 1)[-1].split("/", 1)[0]
        return self._client(api, client_cls, transport_name, override, False)

    def _client(
        self, api: str, client_cls: Any, transport: str, endpoint: str | None, anonymous: bool
    ) -> _RetryingClient:
        options: dict[str, Any] = {}
        if endpoint:
            options["api_endpoint"] = endpoint
        if self.settings.quota_project and not anonymous:
            options["quota_project_id"] = self.settings.quota_project
        if anonymous:
            from google.auth.credentials import AnonymousCredentials

            emulated = self.emulator_auth if self.settings.emulated else None
            credentials = emulated or AnonymousCredentials()
        else:
            credentials = self.credentials
        client = client_cls(
            credentials=credentials, transport=transport, client_options=options or None
        )
        return _RetryingClient(client, self, api)

    # --- the clients ---------------------------------------------------------------------
    @cached_property
    def secrets(self) -> Any:
        from google.cloud.secretmanager_v1.services.secret_manager_service import (
            SecretManagerServiceClient,
            transports,
        )

        return self._build(
            "secrets", SecretManagerServiceClient, transports.SecretManagerServiceGrpcTransport
        )

    @cached_property
    def scheduler(self) -> Any:
        from google.cloud.scheduler_v1.services.cloud_scheduler import (
            CloudSchedulerClient,
            transports,
        )

        return self._build(
            "scheduler", CloudSchedulerClient, transports.CloudSchedulerGrpcTransport
        )

    @cached_property
    def run(self) -> Any:
        from google.cloud.run_v2.services.services import ServicesClient, transports

        return self._build("run", ServicesClient, transports.ServicesGrpcTransport)

    @cached_property
    def iam(self) -> Any:
        from google.cloud.iam_admin_v1.services.iam import IAMClient, transports

        return self._build("iam", IAMClient, transports.IAMGrpcTransport)

    @cached_property
    def serviceusage(self) -> Any:
        from google.cloud.service_usage_v1.services.service_usage import (
            ServiceUsageClient,
            transports,
        )

        return self._build("serviceusage", ServiceUsageClient, transports.ServiceUsageGrpcTransport)

    @cached_property
    def logging(self) -> Any:
        from google.cloud.logging_v2.services.logging_service_v2 import (
            LoggingServiceV2Client,
            transports,
        )

        return self._build(
            "logging", LoggingServiceV2Client, transports.LoggingServiceV2GrpcTransport
        )


def is_loopback_http(url: str) -> bool:
    """A plain-http endpoint on this machine (an emulator): it needs no Google credentials."""
    from thothctl.validate import is_loopback_url

    return url.startswith("http://") and is_loopback_url(url)


def access_token_credentials(path: str, quota_project: str | None = None):
    """Credentials from an access-token file, as gcloud's --access-token-file reads it (CI
    systems that mint short-lived tokens write one): the token is used as is, never refreshed."""
    from pathlib import Path

    from google.oauth2 import credentials as oauth2

    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        token, why = "", getattr(exc, "strerror", None) or str(exc)
    else:
        why = "it is empty"
    if not token:
        raise AuthError(
            f"cannot read the access token file {path}: {why}",
            hint="point CLOUDSDK_AUTH_ACCESS_TOKEN_FILE at a file holding one fresh token",
        )
    creds = oauth2.Credentials(token=token)
    return creds.with_quota_project(quota_project) if quota_project else creds


def rest_status_error(exc: BaseException) -> BaseException:
    """A REST error re-made from the status its JSON names (``"error": {"status": ...}``), with
    its details parsed back: google-api-core picks the class by HTTP status alone (409 is
    ``Conflict`` for ABORTED and ALREADY_EXISTS alike). Anything else is returned as is."""
    response = getattr(exc, "response", None)
    if response is None or not hasattr(response, "json"):
        return exc
    try:
        error = response.json()["error"]
        code_name = error["status"]
    except (ValueError, KeyError, TypeError):
        return exc
    import grpc
    from google.api_core import exceptions

    code = getattr(grpc.StatusCode, str(code_name), None)
    if code is None:
        return exc
    return exceptions.from_grpc_status(
        code,
        error.get("message", ""),
        details=_rest_details(error.get("details") or []),
        response=response,
    )


def _rest_details(details: list[Any]) -> list[Any]:
    from google.protobuf import json_format
    from google.rpc import error_details_pb2

    out: list[Any] = []
    for detail in details:
        name = str(detail.get("@type", "")).rsplit(".", 1)[-1] if isinstance(detail, dict) else ""
        try:
            body = {k: v for k, v in detail.items() if k != "@type"}
            cls = getattr(error_details_pb2, name)
            out.append(json_format.ParseDict(body, cls(), ignore_unknown_fields=True))
        except (AttributeError, json_format.ParseError):
            out.append(detail)
    return out


_SECRET_FIELDS = ("payload", "data", "value", "secret_data")


def redact(obj: Any) -> str:
    """A short, payload-free rendering of a request for --verbose."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        parts = []
        for k, val in obj.items():
            if k in _SECRET_FIELDS:
                parts.append(f"{k}=<redacted>")
            else:
                parts.append(f"{k}={redact(val) if isinstance(val, dict) else _short(val)}")
        return ", ".join(parts)
    # proto-plus request: show only name-ish fields
    shown = []
    for key in ("name", "parent", "resource", "secret_id", "job_id", "account_id", "filter"):
        val = getattr(obj, key, None)
        if val:
            shown.append(f"{key}={_short(val)}")
    if getattr(obj, "payload", None):
        shown.append("payload=<redacted>")
    return ", ".join(shown)


def _short(val: Any) -> str:
    text = (
        repr(val)
        if isinstance(val, str)
        else type(val).__name__
        if not isinstance(val, int | float | bool)
        else str(val)
    )
    return text if len(text) < 120 else text[:117] + "..."


def adc_project() -> str | None:
    """The project of the application default credentials, if any (no network for most kinds)."""
    import google.auth
    from google.auth import exceptions as auth_exc

    try:
        _, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except auth_exc.DefaultCredentialsError:
        return None
    return project


def message_to_dict(message: Any) -> dict[str, Any]:
    """A proto-plus or protobuf message as the REST API shows it (camelCase keys). Audit log
    payloads are registered first, so a LogEntry's protoPayload decodes too."""
    from google.protobuf import json_format

    try:
        from google.cloud.audit import audit_log_pb2  # noqa: F401
    except ImportError:  # pragma: no cover - shipped with google-cloud-logging
        pass
    pb = type(message).pb(message) if hasattr(type(message), "pb") else message
    return json_format.MessageToDict(pb)
