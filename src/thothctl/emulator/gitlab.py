"""GitLab's access-token API, served over HTTP by the emulator on a loopback port.

The endpoints the Thoth sync and thothctl use, with GitLab's JSON shapes and status codes:

- ``GET /api/v4/personal_access_tokens/self``: the token's ``id, name, revoked, created_at,
  description, scopes, user_id, last_used_at, active, expires_at``; 401 ``{"message": "401
  Unauthorized"}`` for a revoked, expired or unknown token (any scope may read itself);
- ``POST /api/v4/personal_access_tokens/self/rotate`` and the group and project access-token
  variants ``/api/v4/groups/:id/access_tokens/self/rotate``,
  ``/api/v4/projects/:id/access_tokens/self/rotate``: needs ``api`` or ``self_rotate`` (else 403
  ``insufficient_scope``); optional ``expires_at`` (``YYYY-MM-DD``, at most a year ahead; without
  it one week); the old token is revoked at once and the new one answered with its ``token``.

**Reuse detection**: presenting a token that was already rotated to a rotate endpoint revokes
its whole family (every token rotated from the same first one, the newest included), and answers
401. Reading ``/self`` with such a token is a plain 401.

Tokens are kept in the emulator's store (table ``gitlab.tokens``, by id) so they persist with its
state file; only a SHA-256 digest of each token value is stored, as GitLab does. Each request goes
through the dispatcher (``Dispatcher.http``): the emulator's faults and latency apply, and the call
log names it ``gitlab:POST /api/v4/personal_access_tokens/self/rotate`` (ids as ``:id``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from typing import Any

from thothctl.emulator import serving
from thothctl.emulator.base import EmulatedService

TOKENS_TABLE = "gitlab.tokens"  # str(id) -> token record (JSON)
STATE_TABLE = "gitlab.state"  # "server" -> {"port": int, "next_id": int}
API = "/api/v4"
MAX_LIFETIME_DAYS = 365
ROTATED_LIFETIME_DAYS = 7  # a rotation without expires_at
ROTATE_SCOPES = ("api", "self_rotate")
KINDS = ("personal", "group", "project")
KNOWN_SCOPES = (
    "api",
    "read_api",
    "read_user",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "create_runner",
    "manage_runner",
    "k8s_proxy",
    "ai_features",
    "self_rotate",
    "sudo",
    "admin_mode",
)
UNAUTHORIZED = (401, {"message": "401 Unauthorized"})
INSUFFICIENT_SCOPE = (
    403,
    {
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the "
        "access token.",
        "scope": " ".join(ROTATE_SCOPES),
    },
)
_ROTATE_PATH = re.compile(rf"^{API}/(groups|projects)/([^/]+)/access_tokens/self/rotate$")
PUBLIC_FIELDS = (
    "id",
    "name",
    "revoked",
    "created_at",
    "description",
    "scopes",
    "user_id",
    "last_used_at",
    "active",
    "expires_at",
)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return "glpat-" + secrets.token_urlsafe(15)


def active(rec: dict[str, Any]) -> bool:
    """Not revoked and not expired (a token expires at 00:00 UTC on its ``expires_at`` date)."""
    if rec["revoked"]:
        return False
    return rec["expires_at"] is None or today() < dt.date.fromisoformat(rec["expires_at"])


def public(rec: dict[str, Any]) -> dict[str, Any]:
    """The token as GitLab's API shows it (never the value)."""
    out = {k: rec.get(k) for k in PUBLIC_FIELDS}
    out["active"] = active(rec)
    return out


def route_name(method: str, path: str) -> str:
    """The call-log name of a request: ``gitlab:METHOD PATH`` with group/project ids as ``:id``."""
    path = urllib.parse.urlsplit(path).path
    m = _ROTATE_PATH.match(path)
    if m:
        path = f"{API}/{m.group(1)}/:id/access_tokens/self/rotate"
    return f"gitlab:{method} {path}"


def _params(query: str, body: bytes, content_type: str) -> dict[str, str]:
    """Request parameters from the query string and a JSON or form body (GitLab takes all)."""
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    if body:
        if "json" in content_type:
            try:
                loaded = json.loads(body)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                params.update({k: str(v) for k, v in loaded.items() if v is not None})
        else:
            params.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()})
    return params


def _expiry(params: dict[str, str]) -> tuple[dt.date | None, str | None]:
    """(the new token's expiry, an error message) from ``expires_at``."""
    raw = params.get("expires_at")
    if not raw:
        return today() + dt.timedelta(days=ROTATED_LIFETIME_DAYS), None
    try:
        when = dt.date.fromisoformat(raw)
    except ValueError:
        return None, "expires_at is invalid"
    limit = today() + dt.timedelta(days=MAX_LIFETIME_DAYS)
    if when <= today():
        return None, "400 Bad request - Expiration date must be in the future"
    if when > limit:
        return None, f"400 Bad request - Expiration date must be before {limit + dt.timedelta(1)}"
    return when, None


class GitLabStub(EmulatedService):
    """The GitLab stub: token state in the store, an HTTP server on a loopback port, control
    ops for creating, revoking and listing tokens."""

    service_name = "gitlab"
    api = None

    def __init__(self, emulator: Any):
        super().__init__(emulator)
        self._httpd: serving.JsonHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- serving -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.emu.stub_host}:{self.port}"

    def on_start(self) -> None:
        if self._httpd is not None:
            return
        with self.store.lock:
            wanted = int(self.store.table(STATE_TABLE).get("server", {}).get("port") or 0)
        try:
            httpd = serving.JsonHTTPServer((self.emu.stub_host, wanted), self._answer)
        except OSError:
            httpd = serving.JsonHTTPServer((self.emu.stub_host, 0), self._answer)
        self._httpd, self.port = httpd, httpd.server_address[1]
        self._remember_port()
        self._thread = serving.serve_http(httpd, "emulator-gitlab")  # no polling while idle

    def _remember_port(self) -> None:
        with self.store.lock:
            state = self.store.table(STATE_TABLE).setdefault("server", {"next_id": 1})
            if state.get("port") != self.port:
                state["port"] = self.port
                self.store.touch()

    def on_stop(self) -> None:
        if self._httpd is not None:
            serving.stop_http(self._httpd)
            self._httpd = None

    def on_reset(self) -> None:
        """Keep listening on the same port (the tables were cleared: remember it again)."""
        if self._httpd is not None:
            self._remember_port()

    def _answer(self, handler: Any, body: bytes) -> serving.JsonAnswer:
        status, payload = self.serve(handler.command, handler.path, handler.headers, body)
        return status, payload, {}

    def serve(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        """One HTTP request, through the dispatcher (faults, latency, the call log)."""
        name = route_name(method, path)
        mutating = method != "GET"

        def handle() -> tuple[int, Any]:
            return self.handle(method, path, _token_of(headers), body, headers)

        return self.emu.dispatcher.http(name, mutating, handle)

    def handle(
        self, method: str, path: str, token: str | None, body: bytes, headers: Any = None
    ) -> tuple[int, Any]:
        """The answer to one request (the caller holds the store lock)."""
        split = urllib.parse.urlsplit(path)
        route = split.path.rstrip("/")
        rotate = _ROTATE_PATH.match(route)
        if route == f"{API}/personal_access_tokens/self":
            if method != "GET":
                return 405, {"error": "405 Not Allowed"}
            rec = self._authenticate(token)
            return (200, public(rec)) if rec else UNAUTHORIZED
        if route == f"{API}/personal_access_tokens/self/rotate" or rotate:
            if method != "POST":
                return 405, {"error": "405 Not Allowed"}
            content_type = (headers.get("Content-Type") or "") if headers is not None else ""
            params = _params(split.query, body, content_type)
            where = (
                (rotate.group(1)[:-1], urllib.parse.unquote(rotate.group(2))) if rotate else None
            )
            return self._rotate(token, where, params)
        return 404, {"error": "404 Not Found"}

    # --- the rules -----------------------------------------------------------------------
    def _tokens(self) -> dict[str, dict[str, Any]]:
        return self.store.table(TOKENS_TABLE)

    def find(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        wanted = digest(token)
        return next((r for r in self._tokens().values() if r["digest"] == wanted), None)

    def _authenticate(self, token: str | None) -> dict[str, Any] | None:
        rec = self.find(token)
        if rec is None or not active(rec):
            return None
        rec["last_used_at"] = _now_iso()
        self.store.touch()
        return rec

    def _rotate(
        self, token: str | None, where: tuple[str, str] | None, params: dict[str, str]
    ) -> tuple[int, Any]:
        rec = self.find(token)
        if rec is not None and rec["revoked"] and rec.get("rotated_to"):
            self._revoke_family(rec["family"])  # reuse detection
            return UNAUTHORIZED
        rec = self._authenticate(token)
        if rec is None:
            return UNAUTHORIZED
        if where is not None and (rec["kind"], str(rec["resource_id"])) != where:
            return 404, {"message": "404 Not Found"}
        if not set(rec["scopes"]) & set(ROTATE_SCOPES):
            return INSUFFICIENT_SCOPE
        expires, error = _expiry(params)
        if error:
            return 400, ({"error": error} if "invalid" in error else {"message": error})
        new_token, new = self._create(
            rec["name"], rec["scopes"], expires, rec["kind"], rec["resource_id"], rec["family"]
        )
        self._revoke(rec, "rotated")
        rec["rotated_to"] = new["id"]
        return 200, {**public(new), "token": new_token}

    def _revoke(self, rec: dict[str, Any], reason: str) -> None:
        if not rec["revoked"]:
            rec.update(revoked=True, revoked_at=time.time(), revoked_reason=reason)
            self.store.touch()

    def _revoke_family(self, family: int) -> None:
        for rec in self._tokens().values():
            if rec["family"] == family:
                self._revoke(rec, "reuse detected")

    def _create(
        self,
        name: str,
        scopes: list[str],
        expires: dt.date | None,
        kind: str = "personal",
        resource_id: Any = None,
        family: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        state = self.store.table(STATE_TABLE).setdefault("server", {"next_id": 1})
        new_id = int(state.get("next_id") or 1)
        state["next_id"] = new_id + 1
        token = _new_token()
        rec = {
            "id": new_id,
            "name": name,
            "description": "",
            "kind": kind,
            "resource_id": resource_id,
            "scopes": list(scopes),
            "user_id": 1 if kind == "personal" else 1000 + new_id,
            "created_at": _now_iso(),
            "last_used_at": None,
            "expires_at": expires.isoformat() if expires else None,
            "revoked": False,
            "revoked_at": None,
            "revoked_reason": None,
            "family": family if family is not None else new_id,
            "rotated_to": None,
            "digest": digest(token),
        }
        self._tokens()[str(new_id)] = rec
        self.store.touch()
        return token, rec

    # --- for the stub sync service -----------------------------------------------------
    def serves(self, url: str | None) -> bool:
        """Whether ``url`` (a GITLAB_BASE_URL) is this stub."""
        if not url or not self.port:
            return False
        parts = urllib.parse.urlsplit(url.strip())
        local = parts.hostname in ("127.0.0.1", "localhost", "::1", self.emu.stub_host)
        return parts.scheme == "http" and local and parts.port == self.port

    def accepts(self, token: str | None) -> bool:
        """Whether GitLab would accept ``token`` (as the sync's API calls would find out)."""
        with self.store.lock:
            return self._authenticate(token) is not None

    # --- control plane -------------------------------------------------------------------
    def control_ops(self):
        return {
            "gitlab_token_create": self._op_create,
            "gitlab_token_revoke": self._op_revoke,
            "gitlab_tokens": lambda a: self.listing(),
            "gitlab_url": lambda a: self.url,
        }

    def listing(self) -> list[dict[str, Any]]:
        """Every token, oldest first, without values: what GitLab shows, and the family."""
        with self.store.lock:
            return [
                {
                    **public(rec),
                    "kind": rec["kind"],
                    "resource_id": rec["resource_id"],
                    "family": rec["family"],
                    "rotated_to": rec.get("rotated_to"),
                    "revoked_at": rec.get("revoked_at"),
                    "revoked_reason": rec.get("revoked_reason"),
                }
                for rec in sorted(self._tokens().values(), key=lambda r: r["id"])
            ]

    def _op_create(self, args: dict[str, Any]) -> dict[str, Any]:
        scopes = args.get("scopes") or ["read_api", "self_rotate"]
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.split(",") if s.strip()]
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise ValueError(
                f"unknown scope(s) {', '.join(unknown)}: GitLab's are {', '.join(KNOWN_SCOPES)}"
            )
        days = args.get("expires_in_days", 30)
        if days is not None and not 0 <= int(days) <= MAX_LIFETIME_DAYS:
            raise ValueError(f"expires_in_days must be 0..{MAX_LIFETIME_DAYS}, got {days}")
        kind = args.get("kind") or "personal"
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        resource = args.get("resource_id")
        if (kind == "personal") != (resource is None):
            raise ValueError("a group or project token needs resource_id; a personal one none")
        expires = today() + dt.timedelta(days=int(days)) if days is not None else None
        with self.store.lock:
            token, rec = self._create(args.get("name") or "thoth", scopes, expires, kind, resource)
            return {"token": token, **public(rec)}

    def _op_revoke(self, args: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            if args.get("id") is not None:
                rec = self._tokens().get(str(args["id"]))
            else:
                rec = self.find(args.get("token"))
            if rec is None:
                raise KeyError("no such GitLab token (see `thothctl emulator gitlab tokens`)")
            self._revoke(rec, "revoked")
            return public(rec)

    def info(self) -> dict[str, Any]:
        return {"gitlab_url": self.url if self.port else None}


def _token_of(headers: Any) -> str | None:
    """The token of a request: ``PRIVATE-TOKEN`` or ``Authorization: Bearer`` (as GitLab)."""
    token = headers.get("PRIVATE-TOKEN")
    if token:
        return token.strip()
    auth = headers.get("Authorization") or ""
    return auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None


SERVICES = [GitLabStub]
