"""`thothctl doctor`: is everything set up, safe, and working?"""

from __future__ import annotations

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import UsageError
from thothctl.lazy import lazy

lib = lazy("thothctl.doctor")

LEVEL_STYLE = {
    "ok": ("✓", "green"),
    "warning": ("!", "yellow"),
    "problem": ("✗", "bold red"),
    "unchecked": ("?", "magenta"),
}
FORMATS = ("table", "markdown")


def doctor_command(
    ctx: typer.Context,
    fmt: str = typer.Option(
        "table",
        "--format",
        "-f",
        help="table or markdown (for a CI step summary); -o json for JSON.",
    ),
    problems_only: bool = typer.Option(
        False, "--problems-only", help="Hide the checks that passed."
    ),
) -> None:
    """Check the Thoth setup and explain each problem with the command that fixes it.

    Checks the APIs, the Cloud Run service (URL, runtime account, secret env vars, public access),
    the scheduler account and its invoker grant, every secret (exists, latest version enabled,
    the runtime account can read it, not public, disabled versions piling up) and every job
    (exists, enabled, targets the service with the right OIDC audience and account, drift, last
    attempt). Exit 0 when healthy (warnings allowed), 3 when there is a problem, 1 when it could
    not check.

    Examples: thothctl doctor · thothctl doctor --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    if fmt not in FORMATS:
        raise UsageError(
            f"--format {fmt!r} is not one of {', '.join(FORMATS)} (use -o json for JSON)"
        )
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    with out.spinner(f"Checking {app_ctx.project}…"):
        report = lib.run(app_ctx.config, app_ctx.clients)
    if out.json_mode:
        out.json(report.to_json())
    elif fmt == "markdown":
        out.line(report.to_markdown().rstrip("\n"))
    else:
        from rich.text import Text

        rows = []
        for f in [*report.findings, *report.unchecked]:
            if problems_only and f.level == "ok":
                continue
            mark, style = LEVEL_STYLE[f.level]
            rows.append([Text(f"{mark} {f.level}", style=style), f.check, f.message, f.fix or ""])
        out.table(["", "CHECK", "FINDING", "FIX"], rows)
        if report.problems:
            out.error(
                f"{len(report.problems)} problem(s), {len(report.warnings)} warning(s) in {report.project}"
            )
        elif report.unchecked:
            out.warn(
                f"could not check everything in {report.project}: {len(report.unchecked)} check(s) failed"
            )
        else:
            out.success(f"{report.project} is healthy ({len(report.warnings)} warning(s))")
    if report.exit_code:
        raise typer.Exit(report.exit_code)
