"""`thothctl doctor`: is everything set up, safe, and working?"""

from __future__ import annotations

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import UsageError
from thothctl.lazy import lazy
from thothctl.output import WRAP, Column, Output, Styled, plural

lib = lazy("thothctl.doctor")

LEVEL_CELL = {
    "ok": Styled("✓ ok", "green"),
    "warning": Styled("! warning", "yellow"),
    "problem": Styled("✗ problem", "bold red"),
    "unchecked": Styled("? unchecked", "magenta"),
}
MARKDOWN_ICON = {"ok": "✅", "warning": "⚠️", "problem": "❌"}
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

    Examples:
      thothctl doctor
      thothctl doctor --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    if fmt not in FORMATS:
        raise UsageError(
            f"--format {fmt!r} is not one of {', '.join(FORMATS)}", hint="for JSON, use -o json"
        )
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    with out.spinner(f"Checking {app_ctx.project}…"):
        report = lib.run(app_ctx.config, app_ctx.clients)
    if out.json_mode:
        out.json(report.to_json())
    elif fmt == "markdown":
        _markdown(out, report)
    else:
        _table(out, report, problems_only=problems_only)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _table(out: Output, report: lib.Report, *, problems_only: bool) -> None:
    """One row per finding; its fix command, whole and runnable here, on the line under it."""
    shown = [
        f for f in [*report.findings, *report.unchecked] if not (problems_only and f.level == "ok")
    ]
    out.table(
        [Column(""), Column("CHECK"), Column("FINDING", fit=WRAP)],
        [[LEVEL_CELL[f.level], f.check, out.prose(f.message)] for f in shown],
        notes=[f"fix: {out.command(f.fix)}" if f.fix else None for f in shown],
    )
    warnings = plural(len(report.warnings), "warning")
    if report.problems:
        out.error(f"{plural(len(report.problems), 'problem')} and {warnings} in {report.project}")
    elif report.unchecked:
        out.warn(
            f"could not check everything in {report.project}: "
            f"{plural(len(report.unchecked), 'check')} failed"
        )
    else:
        out.success(f"{report.project} is healthy, {warnings}.")


def _markdown(out: Output, report: lib.Report) -> None:
    """For a CI step summary: a heading, the verdict, and one table row per finding."""
    warnings = plural(len(report.warnings), "warning")
    if report.problems:
        headline = f"❌ **{plural(len(report.problems), 'problem')}**, {warnings}"
    elif report.unchecked:
        headline = (
            f"⚠️ **could not check everything**: {plural(len(report.unchecked), 'check')} failed"
        )
    else:
        headline = f"✅ **healthy**, {warnings}"
    for text in (f"## thothctl doctor: `{report.project}`", "", headline, ""):
        out.line(text)
    out.markdown_table(
        ["", "Check", "Finding", "Fix"],
        [
            [MARKDOWN_ICON.get(f.level, "❔"), f.check, f.message, f"`{f.fix}`" if f.fix else ""]
            for f in [*report.findings, *report.unchecked]
        ],
    )
