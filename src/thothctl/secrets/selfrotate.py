"""Rotate the GitLab token at its source: ``thothctl secrets rotate gitlab-token --self-rotate``.

The steps, in this order, and why:

1. Read the stored token and ``gitlab-url``; ask GitLab about the token (``GET .../self``): it
   must be active and allowed to rotate itself (scope ``api`` or ``self_rotate``). Check the
   caller may add and disable versions and update the service. Nothing has changed yet.
2. ``--if-expiring-within``: a token far from expiry ends the run here (a weekly CI job).
3. Rotate at GitLab. GitLab revokes the old token at once: the running service now holds a dead
   token until its new revision is ready (the *dead-token window*). The call is never retried
   blindly (a second rotate with the old token would make GitLab revoke the new one too): after
   an error or a lost answer the old token is read again; still active: it did not happen and a
   retry is safe; rejected: it happened and the new token was lost with the answer: stop, explain.
4. Write the new token to the recovery file (0600, in the user state directory) before anything
   else, so that from here on a failure, or a kill -9, loses nothing.
5. Store it as a new version, retrying until it succeeds (the store never duplicates).
6. Roll the Cloud Run service (pin or new revision, as ``--update-service`` does) and wait until
   the new revision is ready: the window closes; it spans the store and the service update only.
7. Verify the new token at GitLab, verify the stored version, disable the old ones (GitLab
   revoked them), and remove the recovery file.

A run that finds a recovery file finishes that job first (steps 5-7 with the token in it), so the
one command that recovers from any failure after step 3 is the same command run again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thothctl import cloudrun, gitlab, retry, validate
from thothctl.errors import (
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    UsageError,
    describe,
)
from thothctl.secrets import rotate as rotation
from thothctl.secrets.iam import check_permissions
from thothctl.secrets.store import add_version, latest_enabled
from thothctl.secrets.values import SecretValue

SECRET = gitlab.TOKEN_SECRET
MAX_DAYS = 365
ROTATE_TRIES = 3
SECRET_PERMISSIONS = [
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.disable",
]
RUN_PERMISSIONS = ["run.services.get", "run.services.update"]
ROTATED, RESUMED, SKIPPED = "rotated", "resumed", "skipped"


def days(text: str | None, flag: str, *, least: int) -> int | None:
    """``90d`` (or any duration of whole days) -> 90; None stays None. Bad input: UsageError."""
    if text is None:
        return None
    try:
        seconds = validate.parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: {exc}", hint=f"give days, e.g. {flag} 90d") from None
    if seconds % 86400 or not least <= seconds // 86400 <= MAX_DAYS:
        raise UsageError(
            f"{flag} {text!r} is not a whole number of days between {least} and {MAX_DAYS}",
            hint=f"e.g. {flag} 90d (GitLab allows at most a year)",
        )
    return int(seconds // 86400)


@dataclass
class SelfRotateResult:
    secret: str
    action: str  # rotated | resumed | skipped
    reason: str
    url: str
    old: gitlab.TokenInfo | None = None
    new: gitlab.TokenInfo | None = None
    version: int | None = None
    rotate_attempts: int = 0
    store_attempts: int = 0
    service: cloudrun.ServiceUpdate | None = None
    retired: rotation.RotateResult | None = None

    def to_json(self) -> dict[str, Any]:
        retired = self.retired
        return {
            "secret": self.secret,
            "action": self.action,
            "rotated": self.action != SKIPPED,
            "reason": self.reason,
            "gitlab_url": self.url,
            "old_token": self.old.to_json() if self.old else None,
            "new_token": self.new.to_json() if self.new else None,
            "expires_at": _expiry(self.new or self.old),
            "version": self.version,
            "rotate_attempts": self.rotate_attempts,
            "store_attempts": self.store_attempts,
            "service": self.service.to_json() if self.service else None,
            "disabled": retired.disabled if retired else [],
            "destroyed": retired.destroyed if retired else [],
        }


def _expiry(info: gitlab.TokenInfo | None) -> str | None:
    return info.expires_at.isoformat() if info and info.expires_at else None


# --- the recovery file ---------------------------------------------------------------------------


class Recovery:
    """The new token's safe place between GitLab and Secret Manager: one 0600 JSON file per
    project and secret in the user state directory, written before the store and removed when
    the job is done. Its presence means "a rotation is not finished"."""

    def __init__(self, project: str, secret: str, directory: str | os.PathLike[str] | None = None):
        if directory is None:
            import platformdirs

            directory = Path(platformdirs.user_state_dir("thothctl")) / "recovery"
        self.dir = Path(directory)
        self.path = self.dir / f"{project}.{secret}.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One self-rotation at a time on this machine (two would rotate one token twice)."""
        self.dir.mkdir(parents=True, mode=0o700, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one run at a time is up to the caller
            yield
            return
        with open(self.path.with_suffix(".lock"), "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise OperationError(
                    f"another self-rotation of {SECRET} is running on this machine",
                    hint="wait for it to finish; nothing was changed",
                ) from None
            yield

    def write(self, token: SecretValue, url: str, info: gitlab.TokenInfo) -> None:
        record = {
            "secret": SECRET,
            "gitlab_url": url,
            "token": token.data.decode(),
            "token_id": info.id,
            "expires_at": _expiry(info),
            "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.dir.mkdir(parents=True, mode=0o700, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(self.dir, os.O_RDONLY)
            os.fsync(dir_fd)
            os.close(dir_fd)

    def read(self) -> tuple[SecretValue, str] | None:
        """(the token, the GitLab URL) of an unfinished rotation, or None."""
        try:
            record = json.loads(self.path.read_text())
            return SecretValue(record["token"].encode(), "the recovery file"), record["gitlab_url"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, AttributeError):
            raise OperationError(
                f"the recovery file {self.path} cannot be read",
                hint="it may hold a rotated GitLab token: look at it, store the token with "
                f"`thothctl secrets rotate {SECRET} --from-file FILE --update-service`, then "
                "delete the file",
            ) from None

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# --- the steps -----------------------------------------------------------------------------------


def _finish_command(clients: Any) -> str:
    local = " --emulator" if getattr(clients.settings, "embedded_emulator", False) else ""
    return f"thothctl{local} --project {clients.project} secrets rotate {SECRET} --self-rotate"


def _preflight(clients: Any, config: Any) -> None:
    """The caller may add, read and disable versions and update the service; else nothing is
    changed (checked before GitLab is asked to rotate anything)."""
    check_permissions(clients, SECRET, SECRET_PERMISSIONS)
    service = cloudrun.service_name(clients, config)
    response = clients.run.test_iam_permissions(
        request={"resource": service, "permissions": RUN_PERMISSIONS}
    )
    missing = [p for p in RUN_PERMISSIONS if p not in set(response.permissions)]
    if missing:
        raise PermissionDeniedError(
            f"permission {', '.join(missing)} denied on {service} (needed to roll the service "
            "onto the new token); nothing was changed",
            hint="grant the caller roles/run.developer on the service or project, then re-run",
        )


def _current(clients: Any, config: Any) -> tuple[str, SecretValue, gitlab.TokenInfo]:
    """The stored token, where its GitLab is, and what GitLab says about it: it must be able to
    rotate itself."""
    url = gitlab.check_url(gitlab.stored_url(clients, config))
    why = gitlab.unreachable(clients, url)
    if why:
        raise UsageError(f"cannot self-rotate: {why}")
    found = latest_enabled(clients, SECRET)
    if found is None:
        raise NotFoundError(
            f"{SECRET} has no enabled version to rotate",
            hint=f"store a token first: `thothctl secrets set {SECRET}`",
        )
    number, data = found
    token = SecretValue(data, f"{SECRET} version {number}")
    try:
        info = gitlab.get_self(url, token)
    except gitlab.GitLabError as exc:
        if not exc.rejected:
            raise
        raise OperationError(
            f"GitLab does not accept the stored {SECRET} (version {number}): it is revoked, "
            "expired or unknown, so it cannot rotate itself; nothing was changed",
            hint=f"create a new token in GitLab ({url}, Access tokens), then "
            f"`thothctl secrets rotate {SECRET} --update-service`",
        ) from None
    if not info.can_self_rotate:
        raise UsageError(
            f"the stored {SECRET} cannot rotate itself: it needs the scope api or self_rotate "
            f"(it has {', '.join(info.scopes) or 'none'}); nothing was changed",
            hint="create a token with the self_rotate scope in GitLab and store it with "
            f"`thothctl secrets rotate {SECRET} --update-service`",
        )
    return url, token, info


def _old_token_state(url: str, token: SecretValue) -> str:
    """After a rotate call that failed or lost its answer: "active" (it did not happen) or
    "rejected" (GitLab revoked the old token: it happened)."""
    for last in retry.attempts(tries=5, maximum=2.0):
        try:
            return "active" if gitlab.get_self(url, token).active else "rejected"
        except gitlab.GitLabError as exc:
            if exc.rejected:
                return "rejected"
            if last or not exc.uncertain:
                raise OperationError(
                    f"the rotate call at GitLab failed, and GitLab cannot say now whether it "
                    f"took effect ({exc.message}); nothing was stored",
                    hint=f"do not rotate again blindly: check the stored token later with "
                    f"`thothctl doctor`; if it is revoked, create a new token in GitLab and run "
                    f"`thothctl secrets rotate {SECRET} --update-service`",
                ) from None
    raise AssertionError("unreachable")


def _lost_rotation(url: str, cause: str) -> OperationError:
    return OperationError(
        f"GitLab rotated {SECRET} but its answer was lost ({cause}): GitLab revoked the old "
        "token, and the new one exists only in GitLab, unseen. The Cloud Run service still runs "
        "the revoked token; nothing was stored",
        hint=f"create a new token in GitLab ({url}, Access tokens; scopes read_api and "
        f"self_rotate), then `thothctl secrets rotate {SECRET} --update-service`",
    )


def _rotate(
    url: str, token: SecretValue, expires: dt.date | None, kind: str, resource: str | None
) -> tuple[gitlab.TokenInfo, SecretValue, int]:
    """Rotate at GitLab, retrying only when the old token proves the last try did not happen."""
    for tries, last in enumerate(retry.attempts(tries=ROTATE_TRIES, maximum=2.0), 1):
        try:
            info, new = gitlab.rotate_self(
                url, token, expires_at=expires, kind=kind, resource_id=resource
            )
            return info, new, tries
        except gitlab.GitLabError as exc:
            if exc.rejected:
                raise _lost_rotation(url, "GitLab answered 401") from None
            if not exc.uncertain:
                raise
            if _old_token_state(url, token) == "rejected":
                raise _lost_rotation(url, exc.message) from None
            if last:  # still active: nothing happened at GitLab
                raise OperationError(
                    f"GitLab did not rotate {SECRET} after {tries} tries ({exc.message}); the "
                    "old token is still active and nothing was changed",
                    hint="try again later",
                ) from None
    raise AssertionError("unreachable")


def _store(
    clients: Any, token: SecretValue, journal: Recovery, fresh: bool = False
) -> tuple[int, int]:
    """Store the new token, retrying until it succeeds or the retry deadline passes. (version,
    attempts); on failure the token stays in the recovery file and the error says how to finish."""
    deadline = retry.retry_deadline(clients.settings.environ)
    for attempts, last in enumerate(retry.attempts(deadline=deadline), 1):
        try:
            # A fresh token cannot be stored yet: the first try skips the read (a shorter window)
            again = attempts > 1 or not fresh
            return add_version(clients, SECRET, token, skip_if_same=again).version, attempts
        except Exception as exc:
            try:
                _code, line, _hint = describe(exc)
            except TypeError:
                line = f"{type(exc).__name__}"
            if last:
                raise OperationError(
                    f"GitLab rotated {SECRET}, but storing the new token failed after {attempts} "
                    f"tries ({line}). The new token is safe in {journal.path} (mode 0600)",
                    hint=f"finish the job with `{_finish_command(clients)}`",
                ) from None
    raise AssertionError("unreachable")


def _roll(clients: Any, config: Any, version: int) -> cloudrun.ServiceUpdate:
    try:
        return cloudrun.point_at_version(clients, config, SECRET, version)
    except Exception as exc:
        try:
            _code, line, _hint = describe(exc)
        except TypeError:
            raise exc from None
        raise OperationError(
            f"stored the new {SECRET} as version {version}, but rolling the Cloud Run service "
            f"failed ({line}); the service still runs the revoked token",
            hint=f"finish the job with `{_finish_command(clients)}`",
        ) from None


def _verify_new(url: str, token: SecretValue, clients: Any) -> gitlab.TokenInfo:
    try:
        info = gitlab.get_self(url, token)
    except gitlab.GitLabError as exc:
        if not exc.rejected:
            raise OperationError(
                f"the new {SECRET} is stored and the service rolled, but GitLab could not "
                f"confirm it ({exc.message})",
                hint=f"finish the job with `{_finish_command(clients)}`",
            ) from None
        info = None
    if info is None or not info.active:
        raise OperationError(
            f"GitLab no longer accepts the new {SECRET} (someone revoked it, or an old token "
            "was used to rotate again, which makes GitLab revoke the whole family)",
            hint=f"create a new token in GitLab ({url}), then "
            f"`thothctl secrets rotate {SECRET} --update-service`",
        )
    return info


def _finish(
    clients: Any,
    config: Any,
    journal: Recovery,
    token: SecretValue,
    result: SelfRotateResult,
    destroy: bool = False,
) -> SelfRotateResult:
    """Steps 5-7: store, roll, verify, retire; then the recovery file goes."""
    fresh = result.action == ROTATED
    result.version, result.store_attempts = _store(clients, token, journal, fresh)
    result.service = _roll(clients, config, result.version)
    result.new = _verify_new(result.url, token, clients)
    result.retired = rotation.rotate(clients, config, SECRET, token, keep=1, destroy_old=destroy)
    journal.remove()
    return result


def _resume(
    clients: Any, config: Any, journal: Recovery, token: SecretValue, url: str, destroy: bool
) -> SelfRotateResult:
    """A recovery file: an earlier run rotated at GitLab and did not finish. Its token must still
    be accepted by GitLab; then steps 5-7 finish the job."""
    url = gitlab.check_url(url)
    _preflight(clients, config)
    try:
        info = gitlab.get_self(url, token)
    except gitlab.GitLabError as exc:
        if not exc.rejected:
            raise
        journal.remove()
        raise OperationError(
            f"the token in the recovery file {journal.path} is no longer accepted by GitLab "
            "(revoked or expired), so an earlier rotation cannot be finished; the file was removed",
            hint=f"create a new token in GitLab ({url}, Access tokens), then "
            f"`thothctl secrets rotate {SECRET} --update-service`",
        ) from None
    result = SelfRotateResult(
        SECRET, RESUMED, f"finished the rotation saved in {journal.path}", url
    )
    result.new = info
    return _finish(clients, config, journal, token, result, destroy)


def self_rotate(
    clients: Any,
    config: Any,
    *,
    expires_in_days: int | None = None,
    if_expiring_within_days: int | None = None,
    destroy_old: bool = False,
    kind: str = "personal",
    resource_id: str | None = None,
    recovery_dir: str | os.PathLike[str] | None = None,
) -> SelfRotateResult:
    """Rotate gitlab-token at GitLab, store the new token, roll the service onto it, retire the
    old versions (see the module's docstring for the order and the failure handling)."""
    journal = Recovery(clients.project, SECRET, recovery_dir)
    with journal.locked():
        pending = journal.read()
        if pending is not None:
            return _resume(clients, config, journal, *pending, destroy=destroy_old)
        url, token, old = _current(clients, config)
        left = old.days_left()
        if if_expiring_within_days is not None and (left is None or left > if_expiring_within_days):
            when = f"expires in {left} days" if left is not None else "never expires"
            reason = f"the token {when}, beyond the {if_expiring_within_days}-day window"
            return SelfRotateResult(SECRET, SKIPPED, reason, url, old)
        _preflight(clients, config)
        expires = gitlab.today() + dt.timedelta(days=expires_in_days) if expires_in_days else None
        info, new, tries = _rotate(url, token, expires, kind, resource_id)
        journal.write(new, url, info)
        reason = "rotated at GitLab" + (
            f", {left} days before the old token's expiry" if left is not None else ""
        )
        result = SelfRotateResult(SECRET, ROTATED, reason, url, old, info, rotate_attempts=tries)
        return _finish(clients, config, journal, new, result, destroy_old)
