"""The emulator's OAuth 2.0 token endpoint: clients in emulator mode refresh their credentials
against it as they do against ``oauth2.googleapis.com/token``, so a refused refresh reaches the
caller through the client library's own code (google-auth's RefreshError; over gRPC, inside the
channel's metadata plugin).

``POST /token`` with ``grant_type=refresh_token`` answers a bearer token valid for an hour, or,
under the ``auth-revoked`` fault shape, what Google's endpoint answers for a revoked grant:
HTTP 400 ``{"error": "invalid_grant", "error_description": "Token has been expired or
revoked."}``. The tokens are not checked by the RPCs (the caller stays anonymous).

Clients authenticate only while the emulator asks them to: the control op ``info`` names the
endpoint (``token_uri``) while the ``auth-revoked`` shape is set, and a client built then gets
refreshing credentials instead of anonymous ones. Otherwise nothing changes for a client (an
emulator in a container, whose token port is not published, keeps working). Token requests are
not in the call log.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import parse_qs

from thothctl.emulator import serving
from thothctl.emulator.base import EmulatedService
from thothctl.emulator.faults import TOKEN_ENDPOINT

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
REVOKED = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


class OAuthTokens(EmulatedService):
    """Not a gRPC service: an HTTP listener started and stopped with the emulator."""

    service_name = "thothctl.emulator.v1.OAuth"

    def __init__(self, emulator: Any):
        super().__init__(emulator)
        self._httpd: serving.JsonHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _answer(self, handler: Any, body: bytes) -> serving.JsonAnswer:
        if handler.command != "POST":
            return 405, {"error": "invalid_request"}, {"Allow": "POST"}
        form = parse_qs(body.decode("utf-8", "replace"))
        status, payload = self.grant(handler.path, form)
        return status, payload, {}

    def grant(self, path: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if path.split("?", 1)[0] != "/token":
            return 404, {"error": "not_found"}
        if form.get("grant_type", [""])[0] != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if self.emu.faults.decide(TOKEN_ENDPOINT).fail:
            return 400, dict(REVOKED)
        token = "ya29.emulator-" + secrets.token_urlsafe(24)
        return 200, {"access_token": token, "expires_in": 3599, "scope": SCOPE,
                     "token_type": "Bearer"}  # fmt: skip

    @property
    def token_uri(self) -> str | None:
        if self._httpd is None:
            return None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/token"

    def info(self) -> dict[str, Any]:
        asking = self.emu.faults.config.fail_shape == "auth-revoked"
        return {"token_uri": self.token_uri if asking else None}

    def on_reset(self) -> None:
        """Nothing to reset: the endpoint keeps its address (and keeps no state)."""

    def on_start(self) -> None:
        if self._httpd is not None:
            return
        self._httpd = serving.JsonHTTPServer(("127.0.0.1", 0), self._answer)
        self._thread = serving.serve_http(self._httpd, "emulator-oauth")  # no polling while idle

    def on_stop(self) -> None:
        if self._httpd is not None:
            serving.stop_http(self._httpd)
            self._httpd = None


SERVICES = [OAuthTokens]
