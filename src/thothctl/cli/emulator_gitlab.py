"""`thothctl emulator gitlab`: the running emulator's GitLab stub (access tokens, its URL)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from thothctl import validate
from thothctl.cli.context import get_ctx
from thothctl.cli.emulator import _HOST_OPT, _call
from thothctl.errors import UsageError

app = typer.Typer(
    help="The emulator's GitLab: access tokens to try token checks and self-rotation locally.\n\n"
    "Examples:\n"
    "  thothctl emulator gitlab token create --expires-in 5d\n"
    "  thothctl emulator gitlab tokens",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="Create and revoke access tokens in the emulator's GitLab.\n\n"
    "Examples:\n"
    "  thothctl emulator gitlab token create | thothctl secrets set gitlab-token -\n"
    "  thothctl emulator gitlab token revoke 1",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


def _days(text: str) -> int:
    try:
        seconds = validate.parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--expires-in {text!r}: {exc}", hint="e.g. --expires-in 30d") from None
    if seconds % 86400 or seconds > 365 * 86400:
        raise UsageError(f"--expires-in {text!r} is not a whole number of days from 0d to 365d")
    return int(seconds // 86400)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    scopes: str = typer.Option(
        "read_api,self_rotate", "--scopes", help="Comma-separated GitLab scopes."
    ),
    expires_in: str = typer.Option(
        "30d", "--expires-in", help="Lifetime in days, 0d to 365d (0d: already expired)."
    ),
    name: str = typer.Option("thoth", "--name", help="The token's name."),
    group: str | None = typer.Option(
        None, "--group", help="A group access token of this group id.", show_default=False
    ),
    project: str | None = typer.Option(
        None, "--project-id", help="A project access token of this project id.", show_default=False
    ),
    host: str | None = _HOST_OPT,
) -> None:
    """Create an access token in the emulator's GitLab and print it on stdout (for a pipe).

    The token's id, scopes and expiry go to stderr; `-o json` prints them with the token.

    Example: thothctl emulator gitlab token create --expires-in 5d | thothctl secrets set gitlab-token -
    """
    if group and project:
        raise UsageError("give --group or --project-id, not both")
    kind, resource = (
        ("group", group) if group else ("project", project) if project else ("personal", None)
    )
    result = _call(
        ctx,
        host,
        "gitlab_token_create",
        name=name,
        scopes=[s.strip() for s in scopes.split(",") if s.strip()],
        expires_in_days=_days(expires_in),
        kind=kind,
        resource_id=resource,
    )
    out = get_ctx(ctx).out
    if out.json_mode:
        out.json(result)
        return
    out.raw(result["token"] + "\n")
    out.info(
        f"{kind} token id {result['id']} ({', '.join(result['scopes'])}), expires "
        f"{result['expires_at'] or 'never'}"
    )


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token: str = typer.Argument(
        ...,
        help="The token's id (see `emulator gitlab tokens`), or '-' to read the token on stdin.",
    ),
    host: str | None = _HOST_OPT,
) -> None:
    """Revoke a token in the emulator's GitLab, by id or (from stdin) by value.

    Example: thothctl secrets get gitlab-token | thothctl emulator gitlab token revoke -
    """
    if token == "-":
        args: dict[str, Any] = {"token": sys.stdin.read().strip()}
    elif token.isdigit():
        args = {"id": int(token)}
    else:
        raise UsageError(
            "give the token's id, or '-' and the token on stdin (a token is never an argument)",
            hint="list the ids with `thothctl emulator gitlab tokens`",
        )
    result = _call(ctx, host, "gitlab_token_revoke", **args)
    out = get_ctx(ctx).out
    out.emit(result, lambda: out.success(f"revoked token id {result['id']}"))


@app.command("tokens")
def tokens(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """List the emulator's GitLab tokens (never their values), oldest first.

    Example: thothctl emulator gitlab tokens -o json
    """
    result = _call(ctx, host, "gitlab_tokens")
    out = get_ctx(ctx).out
    rows = [
        [
            t["id"],
            t["name"],
            t["kind"],
            ",".join(t["scopes"]),
            "active" if t["active"] else (t.get("revoked_reason") or "expired"),
            t["expires_at"] or "never",
            t["family"],
        ]
        for t in result
    ]
    out.emit(
        result,
        lambda: out.table(
            ["ID", "NAME", "KIND", "SCOPES", "STATE", "EXPIRES", "FAMILY"],
            rows,
            empty="No tokens yet: `thothctl emulator gitlab token create`.",
        ),
    )


@app.command("url")
def url(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Print the emulator's GitLab URL (what gitlab-url should hold in emulator mode).

    Example: thothctl emulator gitlab url | thothctl secrets set gitlab-url -
    """
    result = _call(ctx, host, "gitlab_url")
    out = get_ctx(ctx).out
    if out.json_mode:
        out.json({"url": result})
    else:
        out.raw(result + "\n")
