"""`thothctl cost`: the estimated monthly cost of the configured setup."""

from __future__ import annotations

import typer

from thothctl.cli.context import get_ctx
from thothctl.lazy import lazy
from thothctl.output import WRAP, Column

lib = lazy("thothctl.cost")


def cost_command(
    ctx: typer.Context,
    versions_per_secret: int = typer.Option(
        2, "--versions-per-secret", min=1, max=100, help="Active versions kept per secret."
    ),
    other_jobs: int = typer.Option(
        0,
        "--other-jobs",
        min=0,
        help="Other scheduler jobs on the billing account (share the free tier).",
    ),
    other_versions: int = typer.Option(
        0, "--other-versions", min=0, help="Other active secret versions on the billing account."
    ),
    other_access_ops: int = typer.Option(
        0,
        "--other-access-ops",
        min=0,
        help="Other monthly secret access operations on the billing account.",
    ),
    no_free_tier: bool = typer.Option(False, "--no-free-tier", help="Ignore the free tier."),
) -> None:
    """Estimate the monthly cost of the configured setup from list prices.

    Counts scheduler jobs (3 free per billing account), active secret versions (6 free) and
    secret access operations derived from the job schedules (10,000 free), states every
    assumption and the date of the prices. Reads only the configuration: no Google call.

    Examples:
      thothctl cost
      thothctl cost --other-jobs 5 -o json
    """
    app_ctx = get_ctx(ctx)
    est = lib.estimate(
        app_ctx.config,
        versions_per_secret=versions_per_secret,
        other_jobs=other_jobs,
        other_versions=other_versions,
        other_access_ops=other_access_ops,
        free_tier=not no_free_tier,
    )
    out = app_ctx.out

    def human() -> None:
        rows = [
            [
                line.item,
                f"{line.quantity:,.0f} {line.unit}s",
                f"{line.free:,.0f}",
                line.list_price,
                f"${line.cost:,.2f}",
            ]
            for line in est.lines
        ]
        rows.append(["Total", "", "", "", f"${est.total:,.2f}"])
        out.table(
            [
                Column("ITEM", fit=WRAP),
                Column("QUANTITY", fit=WRAP),
                Column("FREE", drop=2),
                Column("LIST PRICE", drop=1, fit=WRAP),
                Column("MONTHLY"),
            ],
            rows,
        )
        out.line("")
        out.line(f"Assumptions (list prices as of {lib.PRICES_AS_OF}, USD):")
        for assumption in est.assumptions:
            out.line(f"  - {assumption}")
        out.line("Prices: " + ", ".join(lib.PRICE_SOURCES))

    out.emit(est.to_json(), human)
