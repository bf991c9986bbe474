"""`thothctl apis`: the Google APIs Thoth needs."""

from __future__ import annotations

from typing import Any

import typer

from thothctl import validate
from thothctl.cli.complete import complete_api_name
from thothctl.cli.context import get_ctx
from thothctl.errors import UsageError
from thothctl.lazy import lazy
from thothctl.output import CUT, Column, join, plural

lib = lazy("thothctl.apis")

app = typer.Typer(
    help="See and enable the Google APIs Thoth needs (Secret Manager, Cloud Scheduler, Cloud Run, IAM).\n\n"
    "Examples:\n"
    "  thothctl apis status\n"
    "  thothctl apis enable --dry-run",
    no_args_is_help=True,
)


def _names_argument(verb: str) -> Any:
    """The optional API names both commands take."""
    return typer.Argument(
        None,
        help=f"APIs to {verb} (default: the configured ones).",
        show_default=False,
        autocompletion=complete_api_name,
    )


def _names(ctx, names: list[str] | None) -> list[str]:
    if not names:
        return list(get_ctx(ctx).config.apis)
    out = []
    for name in names:
        try:
            out.append(validate.check_api(name))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return list(dict.fromkeys(out))


@app.command("status")
def status(
    ctx: typer.Context,
    names: list[str] | None = _names_argument("check"),
) -> None:
    """Show whether each required API is enabled.

    Reads all of them in one BatchGetServices call.

    Example: thothctl apis status -o json
    """
    app_ctx = get_ctx(ctx)
    wanted = _names(ctx, names)
    states = lib.status(app_ctx.clients, wanted)
    out = app_ctx.out

    def human() -> None:
        out.table(
            [Column("API"), Column("STATE"), Column("TITLE", drop=1, fit=CUT, style="dim")],
            [[s.name, "enabled" if s.enabled else "disabled", s.title] for s in states],
        )
        missing = [s.name for s in states if not s.enabled]
        if missing:
            out.info(f"{plural(len(missing), 'API')} not enabled yet.")
            out.next_steps(["thothctl apis enable"])

    out.emit([s.to_json() for s in states], human)


@app.command("enable")
def enable(
    ctx: typer.Context,
    names: list[str] | None = _names_argument("enable"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be enabled; change nothing."
    ),
) -> None:
    """Enable the APIs that are not enabled yet, in one batch.

    Idempotent: already enabled APIs are left alone and a second run does nothing.

    Examples:
      thothctl apis enable
      thothctl apis enable pubsub --dry-run
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    wanted = _names(ctx, names)
    with out.spinner(f"Checking {len(wanted)} APIs in {app_ctx.project}…") as update:
        result = lib.enable(app_ctx.clients, wanted, dry_run=dry_run, progress=update)

    def human() -> None:
        if not result.enabled:
            out.success(f"All {len(wanted)} APIs are already enabled; nothing to do.")
        elif result.dry_run:
            out.info(f"Dry run: would enable {join(result.enabled)}.")
        else:
            out.success(f"Enabled {join(result.enabled)}.")

    out.emit(result.to_json(), human)
