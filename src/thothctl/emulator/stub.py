"""The built-in stub HTTP service that stands in for the Cloud Run sync service.

One :class:`StubServer` per stub-backed Cloud Run service (the seeded ``thoth-mcp-server``), on a
loopback port. Like Cloud Run with IAM invoker checks on, it answers:

- 401 when the ``Authorization: Bearer`` ID token is missing, malformed, badly signed, expired, or
  its audience is not the service URL (``uri``, any of ``urls``, or a custom audience);
- 403 when the token's email is not an invoker (``roles/run.invoker`` on the service's policy,
  read live from the Run emulator; ``allUsers``/``allAuthenticatedUsers`` count);
- otherwise the configured behaviour (default 200 with a small JSON body), optionally after a delay.

Unless a behaviour is configured, it does the sync's own work the way the real service would: the
serving revision resolves its secret env vars when its first instance starts (its first request;
a reference that cannot be read yet is tried again) and keeps them; when its ``GITLAB_BASE_URL``
is the emulator's GitLab stub and GitLab no longer accepts its ``GITLAB_TOKEN`` (revoked, expired,
unknown), the request fails with 500.

``invoker_iam_disabled`` on the service turns the checks off. Every request is recorded (method,
path, headers without the token, body, verified email/audience, status) and logged to the emulated
Cloud Logging as ``run.googleapis.com/requests`` on a ``cloud_run_revision`` resource.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from thothctl.emulator import oidc, serving
from thothctl.emulator.base import EmulatorError

if TYPE_CHECKING:
    from thothctl.emulator.server import Emulator

RECORD_LIMIT = 1000


class StubServer:
    def __init__(self, emu: Emulator, service: str, *, host: str = "127.0.0.1", port: int = 0):
        self.emu = emu
        self.service = service  # projects/P/locations/L/services/S
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._behaviour: dict[str, Any] = {}
        self._httpd: serving.JsonHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _answer(self, handler: Any, body: bytes) -> serving.JsonAnswer:
        status, payload = self.handle(handler, body)
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}
        return status, payload, headers

    def start(self) -> None:
        try:
            httpd = serving.JsonHTTPServer((self.host, self.port), self._answer)
        except OSError:
            httpd = serving.JsonHTTPServer((self.host, 0), self._answer)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = serving.serve_http(httpd, "emulator-stub")  # no polling while idle

    def stop(self) -> None:
        if self._httpd is not None:
            serving.stop_http(self._httpd)
            self._httpd = None

    # --- control -----------------------------------------------------------------------------
    def behave(
        self,
        *,
        status: int | None = None,
        delay_s: float | None = None,
        times: int | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """Answer the next ``times`` requests (all, if None) with ``status`` after ``delay_s``."""
        with self._lock:
            self._behaviour = {
                "status": int(status) if status is not None else 200,
                "delay_s": float(delay_s or 0.0),
                "times": times,
                "body": body,
            }
            return dict(self._behaviour)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._behaviour = {}

    def recorded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    # --- serving -----------------------------------------------------------------------------
    def _run(self):
        svc = self.emu.service("google.cloud.run.v2.Services")
        return svc

    def _authorize(self, headers: Any) -> tuple[int, str, dict[str, Any]]:
        run = self._run()
        service = run.lookup(self.service) if run is not None else None
        if service is None:
            return 404, "service not found", {}
        if service.invoker_iam_disabled:
            return 0, "", {}
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return 401, "The request was not authenticated: no bearer token.", {}
        audiences = {self.url, service.uri, *service.urls, *service.custom_audiences}
        audiences |= {a + "/" for a in list(audiences)}
        try:
            claims = oidc.verify(
                auth[len("Bearer ") :].strip(), audiences=sorted(a for a in audiences if a)
            )
        except oidc.InvalidToken as exc:
            return 401, f"The request was not authenticated: {exc}.", {}
        email = claims.get("email", "")
        members = set(run.invokers(self.service))
        allowed = {"allUsers", "allAuthenticatedUsers", f"serviceAccount:{email}", f"user:{email}"}
        if not members & allowed:
            return (
                403,
                (
                    "The request was not authorized to invoke this service: "
                    f"{email} lacks roles/run.invoker."
                ),
                claims,
            )
        return 0, "", claims

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any]:
        start = time.time()
        status, reason, claims = self._authorize(handler.headers)
        with self._lock:
            behaviour = dict(self._behaviour)
            if status == 0 and behaviour.get("times") is not None:
                if behaviour["times"] <= 0:
                    behaviour = {}
                else:
                    self._behaviour["times"] -= 1
        if status == 0 and not behaviour:
            status, reason = self._sync_check()
        if status == 0:
            delay = behaviour.get("delay_s") or 0.0
            if delay:
                time.sleep(delay)
            status = behaviour.get("status") or 200
            payload: Any = behaviour.get("body")
            if payload is None:
                payload = {"status": "ok"} if status < 400 else {"error": f"stub answered {status}"}
        else:
            payload = {"error": reason}
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "authorization"}
        record = {
            "time": start,
            "method": handler.command,
            "path": handler.path,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "authorized": bool(claims) and status not in (401, 403),
            "email": claims.get("email"),
            "audience": claims.get("aud"),
            "status": status,
            "reason": reason,
        }
        with self._lock:
            self._requests.append(record)
            del self._requests[:-RECORD_LIMIT]
        self._log(handler, status, time.time() - start, reason)
        return status, payload

    def instance_env(self) -> dict[str, str]:
        """The secret env values of the serving revision, as its instances started with them."""
        run = self._run()
        svc = run.lookup(self.service) if run is not None else None
        sm = self.emu.service("google.cloud.secretmanager.v1.SecretManagerService")
        if svc is None or sm is None:
            return {}
        project = self.service.split("/")[1]
        with self.emu.store.lock:
            rev = self.emu.store.table("run.revisions").get(svc.latest_ready_revision)
            for var, (secret, version) in (rev or {}).get("env", {}).items():
                if var in rev["values"]:
                    continue
                name = secret if "/" in secret else f"projects/{project}/secrets/{secret}"
                try:
                    _, data, _ = sm.model.access_version(f"{name}/versions/{version}")
                except EmulatorError:
                    continue  # the instance could not start with it: tried again next time
                rev["values"][var] = data.decode("utf-8", "replace")
                self.emu.store.touch()
            return dict(rev["values"]) if rev else {}

    def _sync_check(self) -> tuple[int, str]:
        """(0, "") when the sync can talk to GitLab; else the failure the real service answers."""
        gitlab = self.emu.service("gitlab")
        env = self.instance_env()
        if gitlab is None or not gitlab.serves(env.get("GITLAB_BASE_URL")):
            return 0, ""  # a GitLab the emulator never contacts: nothing to check
        if gitlab.accepts(env.get("GITLAB_TOKEN")):
            return 0, ""
        return 500, (
            "sync failed: GitLab answered 401 Unauthorized (GITLAB_TOKEN is revoked, expired or "
            "unknown)"
        )

    def _log(
        self, handler: BaseHTTPRequestHandler, status: int, latency: float, reason: str
    ) -> None:
        parts = self.service.split("/")
        project, location, service = parts[1], parts[3], parts[5]
        run = self._run()
        svc = run.lookup(self.service) if run is not None else None
        revision = svc.latest_ready_revision.rsplit("/", 1)[-1] if svc is not None else ""
        severity = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        try:
            self.emu.write_log(
                project_id=project,
                log_id="run.googleapis.com/requests",
                resource_type="cloud_run_revision",
                resource_labels={
                    "service_name": service,
                    "revision_name": revision,
                    "location": location,
                    "project_id": project,
                    "configuration_name": service,
                },
                severity=severity,
                text_payload=reason or None,
                http_request={
                    "requestMethod": handler.command,
                    "requestUrl": self.url + handler.path,
                    "status": status,
                    "latency": latency,
                    "userAgent": handler.headers.get("User-Agent", ""),
                    "remoteIp": handler.client_address[0],
                },
                labels={"instanceId": "emulator-stub"},
            )
        except Exception:  # logging must never break the stub
            pass
