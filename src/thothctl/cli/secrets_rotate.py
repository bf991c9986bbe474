"""`secrets set|rotate`'s GitLab side, kept apart so cli/secrets.py stays readable: the check of a
new gitlab-token before it is stored, `secrets rotate gitlab-token --self-rotate`, and how a
rotation is reported."""

from __future__ import annotations

from typing import Any

import typer

from thothctl.cli.context import AppContext
from thothctl.errors import Cancelled, UsageError
from thothctl.lazy import lazy
from thothctl.output import join, noun

gitlab = lazy("thothctl.gitlab")
selfrotate = lazy("thothctl.secrets.selfrotate")
TOKEN_SECRET = "gitlab-token"  # thothctl.gitlab.TOKEN_SECRET, without importing the library

NO_VERIFY = typer.Option(
    False,
    "--no-verify",
    help="gitlab-token: store it without asking GitLab first (air-gapped setups).",
)
SELF_ROTATE = typer.Option(
    False,
    "--self-rotate",
    help="gitlab-token: GitLab rotates the stored token itself; the new one is stored and the "
    "service rolled onto it.",
)
EXPIRES_IN = typer.Option(
    None,
    "--expires-in",
    help="With --self-rotate: the new token's lifetime, e.g. 90d (GitLab: at most 365d; default "
    "one week).",
    show_default=False,
)
IF_EXPIRING = typer.Option(
    None,
    "--if-expiring-within",
    help="With --self-rotate: do nothing unless the token expires within this, e.g. 30d.",
    show_default=False,
)


def check_token(app_ctx: AppContext, name: str, value: Any, verify: bool) -> None:
    """Before storing a new gitlab-token: GitLab must accept it, with the scopes the sync needs
    (else exit 2, nothing changed); a token expiring soon is stored with a warning."""
    if not verify or name != TOKEN_SECRET:
        return
    out = app_ctx.out
    with out.spinner("Asking GitLab about the token…"):
        check = gitlab.check_new_token(app_ctx.clients, app_ctx.config, value)
    if check.verdict == gitlab.EXPIRING:
        window = app_ctx.config.gitlab_token_warning_days
        out.warn(f"GitLab accepts this token, but {check.message}: within the {window}-day window")
    elif check.verdict == gitlab.UNVERIFIED:
        out.info(check.message)
    else:
        out.info(f"GitLab: {check.message}.")


def self_rotate_cmd(
    app_ctx: AppContext,
    name: str,
    given_value: bool,
    *,
    expires_in: str | None,
    if_expiring_within: str | None,
    destroy_old: bool,
) -> None:
    """`secrets rotate gitlab-token --self-rotate`: every check first, then one library call."""
    if name != TOKEN_SECRET:
        raise UsageError(f"--self-rotate works for {TOKEN_SECRET} only, not {name}")
    if given_value:
        raise UsageError(
            "--self-rotate takes no value: GitLab makes the new token",
            hint="drop '-' / --from-file, or drop --self-rotate to store a token you made",
        )
    expires = selfrotate.days(expires_in, "--expires-in", least=1)
    window = selfrotate.days(if_expiring_within, "--if-expiring-within", least=0)
    out = app_ctx.out
    if destroy_old and not app_ctx.confirm(
        f"Destroy the old versions of {name} after the rotation? This cannot be undone"
    ):
        raise Cancelled()
    with out.spinner(f"Rotating {name} at GitLab…"):
        result = selfrotate.self_rotate(
            app_ctx.clients,
            app_ctx.config,
            expires_in_days=expires,
            if_expiring_within_days=window,
            destroy_old=destroy_old,
        )
    out.emit(result.to_json(), lambda: _render_self_rotation(out, result))


def _render_self_rotation(out: Any, result: Any) -> None:
    if result.action == "skipped":
        out.success(f"Nothing to do: {result.reason}.")
        return
    new = result.new
    how = "Finished an earlier rotation" if result.action == "resumed" else "GitLab rotated"
    out.success(f"{how}: {result.secret} is version {result.version} (token id {new.id}).")
    svc = result.service
    if svc is not None and svc.updated:
        out.success(f"Cloud Run: revision {svc.revision} is ready with the new token.")
    elif svc is not None:
        out.info(f"Cloud Run: {svc.note}.")
    retired = result.retired
    if retired is not None and (retired.disabled or retired.destroyed):
        gone = retired.disabled or retired.destroyed
        verb = "Disabled" if retired.disabled else "Destroyed"
        out.info(f"{verb} the old {noun(len(gone), 'version')} {join(gone)}: GitLab revoked them.")
    days = new.days_left()
    when = f"{new.expires_at} (in {days} days)" if new.expires_at else "never"
    out.info(f"The new token expires {when}.")


def render_rotation(out: Any, name: str, result: Any) -> None:
    """What `secrets rotate NAME` (a value you gave) did."""
    if result.add.added:
        out.success(f"Added version {result.add.version} to {name} and verified it (CRC32C).")
    else:
        out.info(f"No new version: {result.add.note} (verified).")
    if result.service is not None:
        svc = result.service
        if svc.updated:
            parts = []
            if svc.pinned:
                parts.append(f"pinned {', '.join(svc.pinned)} to version {result.add.version}")
            if svc.refreshed:
                parts.append(f"new revision for {', '.join(svc.refreshed)} (latest)")
            out.success(f"Cloud Run: {'; '.join(parts)}; revision {svc.revision}.")
        else:
            out.info(f"Cloud Run: {svc.note}.")
    for alias, target in result.aliases.items():
        if target is None:
            out.info(f"Alias {alias} removed: there is no older enabled version.")
        else:
            out.info(f"Alias {alias} now names version {target}.")
    for verb, numbers in (("Disabled", result.disabled), ("Destroyed", result.destroyed)):
        if numbers:
            out.info(f"{verb} {noun(len(numbers), 'version')} {join(numbers)}.")
    out.info(f"Enabled now: {noun(len(result.kept), 'version')} {join(result.kept)}.")
    for note in result.notes:
        if note.kind == "unchanged":
            continue  # said in the first line
        out.warn(note.text) if note.warning else out.info(f"note: {note.text}")
