"""GitLab, for the token Thoth lives on: read it (``GET /personal_access_tokens/self``), judge it
(active, scopes, days to expiry) and rotate it (``POST .../self/rotate``).

Plain stdlib ``urllib``: https only, except http to a loopback address (the emulator's GitLab
stub). The token travels in the ``PRIVATE-TOKEN`` header and nowhere else: never in a URL, an
exception, a log line or a ``repr`` (it is a :class:`~thothctl.secrets.SecretValue`).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thothctl import __version__, validate
from thothctl.errors import (
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    UsageError,
    code_of,
    translate_google_error,
)
from thothctl.secrets.store import latest_enabled
from thothctl.secrets.values import SecretValue

TOKEN_SECRET = "gitlab-token"
URL_SECRET = "gitlab-url"
API = "/api/v4"
TIMEOUT = 15.0
ROTATE_SCOPES = ("api", "self_rotate")
# A scope that also grants another (``api`` reads the API too).
IMPLIED_BY = {
    "read_api": ("api",),
    "read_user": ("api",),
    "read_repository": ("write_repository",),
    "read_registry": ("write_registry",),
}
ROTATE_PATHS = {
    "personal": "/personal_access_tokens/self/rotate",
    "group": "/groups/{id}/access_tokens/self/rotate",
    "project": "/projects/{id}/access_tokens/self/rotate",
}
# Verdicts of a token check.
ACTIVE, EXPIRING, UNVERIFIED = "active", "expiring", "unverified"
REJECTED, REVOKED, EXPIRED, SCOPES = "rejected", "revoked", "expired", "scopes"
REFUSED = (REJECTED, REVOKED, EXPIRED, SCOPES)
PROBLEM_DAYS = 3  # doctor: a token this close to expiry is a problem, not a warning


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class TokenInfo:
    """What ``GET /personal_access_tokens/self`` says about a token (never its value)."""

    id: int
    name: str
    scopes: tuple[str, ...]
    active: bool
    revoked: bool
    expires_at: dt.date | None
    last_used_at: str | None = None
    created_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenInfo:
        expires = data.get("expires_at")
        return cls(
            id=int(data.get("id") or 0),
            name=str(data.get("name") or ""),
            scopes=tuple(data.get("scopes") or ()),
            active=bool(data.get("active")),
            revoked=bool(data.get("revoked")),
            expires_at=dt.date.fromisoformat(expires[:10]) if expires else None,
            last_used_at=data.get("last_used_at"),
            created_at=data.get("created_at"),
        )

    def days_left(self, on: dt.date | None = None) -> int | None:
        """Whole days until the token expires (it dies at 00:00 UTC on ``expires_at``)."""
        return None if self.expires_at is None else (self.expires_at - (on or today())).days

    def has(self, scope: str) -> bool:
        return scope in self.scopes or any(s in self.scopes for s in IMPLIED_BY.get(scope, ()))

    def missing(self, required: Iterable[str]) -> list[str]:
        return [s for s in required if not self.has(s)]

    @property
    def can_self_rotate(self) -> bool:
        return any(s in self.scopes for s in ROTATE_SCOPES)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "active": self.active,
            "revoked": self.revoked,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "days_left": self.days_left(),
            "last_used_at": self.last_used_at,
        }


class GitLabError(OperationError):
    """GitLab answered an error (``status``), or did not answer at all (``status`` None)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None):
        super().__init__(message, hint)
        self.status = status

    @property
    def rejected(self) -> bool:
        """401: GitLab does not accept the token (revoked, expired or unknown)."""
        return self.status == 401

    @property
    def uncertain(self) -> bool:
        """No answer, or a server-side error: the request may have taken effect or not."""
        return self.status is None or self.status >= 500 or self.status == 429


# --- the wire ------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The GitLab base URL without a trailing slash; https only, http only to loopback
    (:func:`thothctl.validate.url_problem`)."""
    text = url.strip().rstrip("/")
    why = validate.url_problem(text)
    if why:
        raise UsageError(
            f"gitlab-url {text!r} cannot be used: {why}",
            hint="thothctl sends the token only over https (http only to this machine); "
            "set it with `thothctl secrets set gitlab-url`",
        )
    return text.removesuffix(API)


def _opener(url: str) -> urllib.request.OpenerDirector:
    """Loopback never goes through a proxy; real GitLab honours the usual proxy variables."""
    if validate.is_loopback_url(url):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _message(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = data.get("message") or data.get("error_description") or data.get("error") or ""
    return " ".join(str(text).split())[:200]


def _call(
    base: str, token: SecretValue, method: str, path: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """One request to GitLab's API; the token goes in the PRIVATE-TOKEN header only."""
    root = check_url(base)
    where = f"{method} {urllib.parse.urlsplit(root).hostname}{API}{path}"
    request = urllib.request.Request(
        root + API + path,
        data=urllib.parse.urlencode(params).encode() if params else None,
        method=method,
        headers={
            "PRIVATE-TOKEN": token.data.decode("utf-8", "replace").strip(),
            "Accept": "application/json",
            "User-Agent": f"thothctl/{__version__}",
        },
    )
    try:
        with _opener(root).open(request, timeout=TIMEOUT) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        said = _message(exc.read())
        status = exc.code
        raise GitLabError(
            f"GitLab answered {status} to {where}" + (f": {said}" if said else ""), status=status
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise GitLabError(f"no answer from GitLab to {where} ({reason})") from None


def get_self(base: str, token: SecretValue) -> TokenInfo:
    """``GET /personal_access_tokens/self``: what GitLab says about ``token``."""
    return TokenInfo.from_json(_call(base, token, "GET", "/personal_access_tokens/self"))


def rotate_self(
    base: str,
    token: SecretValue,
    *,
    expires_at: dt.date | None = None,
    kind: str = "personal",
    resource_id: str | None = None,
) -> tuple[TokenInfo, SecretValue]:
    """``POST .../self/rotate``: GitLab revokes ``token`` and answers a new one. Never retry this
    blindly (thothctl.secrets.selfrotate checks the old token first)."""
    path = ROTATE_PATHS[kind].format(id=urllib.parse.quote(str(resource_id or ""), safe=""))
    params = {"expires_at": expires_at.isoformat()} if expires_at else None
    data = _call(base, token, "POST", path, params)
    new = str(data.pop("token", "") or "")
    if not new:
        raise GitLabError("GitLab's rotate answer carried no token", status=None)
    return TokenInfo.from_json(data), SecretValue(new.encode(), "GitLab rotation")


# --- judging a token -----------------------------------------------------------------------------


@dataclass
class TokenCheck:
    """What GitLab says about a token, judged against the scopes the sync needs and the warning
    window. ``verdict``: active | expiring | unverified (a warning) | rejected | revoked | expired |
    scopes (refused)."""

    url: str
    verdict: str
    message: str
    info: TokenInfo | None = None
    missing_scopes: list[str] = field(default_factory=list)
    hint: str | None = None

    @property
    def refused(self) -> bool:
        return self.verdict in REFUSED

    @property
    def severity(self) -> str:
        """For `doctor`: problem (refused, or at most PROBLEM_DAYS left), warning (inside the
        warning window, or not checked), ok."""
        left = self.info.days_left() if self.info else None
        if self.refused or (self.verdict == EXPIRING and left is not None and left <= PROBLEM_DAYS):
            return "problem"
        return "warning" if self.warning else "ok"

    @property
    def fix(self) -> str | None:
        """The exact command that renews the token (None when nothing needs doing)."""
        if self.severity == "ok":
            return None
        if self.verdict == EXPIRING and self.info is not None and self.info.can_self_rotate:
            return f"thothctl secrets rotate {TOKEN_SECRET} --self-rotate --expires-in 90d"
        if self.verdict == UNVERIFIED:
            return None
        return f"thothctl secrets rotate {TOKEN_SECRET} --update-service"

    @property
    def warning(self) -> bool:
        return self.verdict in (EXPIRING, UNVERIFIED)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "verdict": self.verdict,
            "message": self.message,
            "token": self.info.to_json() if self.info else None,
            "missing_scopes": self.missing_scopes,
        }


def judge(url: str, info: TokenInfo | None, required: Iterable[str], warn_days: int) -> TokenCheck:
    """The verdict on a token GitLab described as ``info`` (None: GitLab answered 401)."""
    if info is None:
        return TokenCheck(
            url,
            REJECTED,
            "GitLab does not accept it (401 Unauthorized): revoked, expired or unknown",
        )
    if info.revoked:
        return TokenCheck(url, REVOKED, "GitLab says it is revoked", info)
    left = info.days_left()
    if not info.active or (left is not None and left <= 0):
        return TokenCheck(url, EXPIRED, f"it expired on {info.expires_at}", info)
    missing = info.missing(required)
    if missing:
        has = ", ".join(info.scopes) or "none"
        message = f"it lacks the scope(s) the sync needs: {', '.join(missing)} (it has {has})"
        return TokenCheck(url, SCOPES, message, info, missing)
    expiry = f"expires on {info.expires_at} (in {left} day{'s' if left != 1 else ''})"
    if left is not None and left <= warn_days:
        return TokenCheck(url, EXPIRING, f"it {expiry}", info)
    scopes = ", ".join(info.scopes)
    return TokenCheck(
        url, ACTIVE, f"active, scopes {scopes}, " + (expiry if left else "no expiry"), info
    )


def check(url: str, token: SecretValue, required: Iterable[str], warn_days: int) -> TokenCheck:
    """Ask GitLab about ``token`` and judge it (a 401 is a verdict, not an error)."""
    try:
        info = get_self(url, token)
    except GitLabError as exc:
        if not exc.rejected:
            raise
        info = None
    return judge(check_url(url), info, required, warn_days)


def stored_url(clients: Any, config: Any) -> str:
    """``gitlab-url``: its newest enabled version, else the config's default."""
    try:
        found = latest_enabled(clients, URL_SECRET)
    except NotFoundError:
        found = None
    except Exception as exc:
        denied = code_of(exc) == "PERMISSION_DENIED"
        if denied and isinstance(translate_google_error(exc), PermissionDeniedError):
            raise OperationError(
                f"cannot read {URL_SECRET} to reach GitLab: {translate_google_error(exc).message}",
                hint="grant yourself roles/secretmanager.secretAccessor on it, or pass --no-verify",
            ) from None
        if not denied and code_of(exc) != "NOT_FOUND":
            raise
        found = None  # no such secret (or Secret Manager is off): the default
    if found is not None:
        return found[1].decode("utf-8", "replace").strip()
    spec = config.secrets.get(URL_SECRET)
    return (spec.default if spec is not None else None) or "https://gitlab.com"


def unreachable(clients: Any, url: str) -> str | None:
    """Why ``url`` cannot be contacted from here (the emulator reaches only loopback), or None."""
    if clients.settings.emulated and not validate.is_loopback_url(url):
        return (
            f"gitlab-url is {url}, and in emulator mode thothctl contacts only loopback addresses "
            "(point it at the emulator's GitLab: `thothctl emulator gitlab url | thothctl secrets "
            "set gitlab-url -`)"
        )
    return None


def check_new_token(
    clients: Any, config: Any, token: SecretValue, *, url: str | None = None
) -> TokenCheck:
    """Before storing a new gitlab-token: ask GitLab (at ``url``, else the stored gitlab-url).
    Refused (revoked, expired, unknown, missing a needed scope): UsageError, exit 2, nothing
    changed. Expiring within the warning window: a check with a warning."""
    url = check_url(url or stored_url(clients, config))
    why = unreachable(clients, url)
    if why:
        return TokenCheck(url, UNVERIFIED, f"not verified: {why}")
    try:
        verdict = check(url, token, config.gitlab_token_scopes, config.gitlab_token_warning_days)
    except GitLabError as exc:
        raise GitLabError(
            f"cannot verify the token: {exc.message}",
            hint="nothing was changed; try again, or if GitLab cannot be reached from here store "
            f"it unchecked: `thothctl secrets set {TOKEN_SECRET} --no-verify`",
            status=exc.status,
        ) from None
    if verdict.refused:
        needed = ", ".join(config.gitlab_token_scopes)
        raise UsageError(
            f"{TOKEN_SECRET} refused: {verdict.message}; nothing was changed",
            hint=f"create a token in GitLab ({url}, Access tokens) with scope(s) {needed}, "
            "and store that one",
        )
    return verdict


def check_first_token(clients: Any, config: Any, first: Mapping[str, Any]) -> TokenCheck | None:
    """`init`: a first gitlab-token (in ``first``, the first values by secret) is checked as
    `secrets set` checks one, at the gitlab-url being set with it, else the stored one. None:
    no token to check, or one that cannot be checked from here (a real GitLab, emulator mode)."""
    token, url = first.get(TOKEN_SECRET), first.get(URL_SECRET)
    if not isinstance(token, SecretValue):
        return None
    where = url.data.decode("utf-8", "replace").strip() if isinstance(url, SecretValue) else None
    verdict = check_new_token(clients, config, token, url=where)
    return None if verdict.verdict == UNVERIFIED else verdict


def stored_token_check(clients: Any, config: Any) -> TokenCheck | None:
    """`doctor`: what GitLab says about the stored gitlab-token (read, never shown); None when
    there is no enabled version to check. No permission to read it: the error propagates (the
    check is then unchecked, not a problem)."""
    try:
        found = latest_enabled(clients, TOKEN_SECRET)
    except NotFoundError:
        return None
    except Exception as exc:
        if code_of(exc) != "NOT_FOUND":
            raise
        return None
    if found is None:
        return None
    url = check_url(stored_url(clients, config))
    why = unreachable(clients, url)
    if why:
        return TokenCheck(url, UNVERIFIED, f"not checked: {why}")
    token = SecretValue(found[1], f"{TOKEN_SECRET} version {found[0]}")
    return check(url, token, config.gitlab_token_scopes, config.gitlab_token_warning_days)
