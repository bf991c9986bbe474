"""`thothctl init`: plan, ask once, apply — the headline command. Also the plan runner that
`thothctl jobs apply` shares (``run_plan``)."""

from __future__ import annotations

import threading
from typing import Any

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import Cancelled
from thothctl.lazy import lazy
from thothctl.output import Styled

initplan = lazy("thothctl.init.plan")
planlib = lazy("thothctl.plan")

ACTION_STYLE = {"create": "green", "update": "yellow", "unchanged": "dim"}


def init_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and change nothing."),
    only: list[str] | None = typer.Option(
        None, "--only", help="Limit to apis, secrets, iam or jobs (repeatable).", show_default=False
    ),
    jobs_concurrency: int = typer.Option(
        8, "--parallel", min=1, max=32, help="Steps applied at once."
    ),
) -> None:
    """Set up Thoth in a project: APIs, secrets, grants, scheduler account and jobs.

    Reads live state, shows a plan (create / update / unchanged for every resource), asks once,
    then applies independent steps concurrently. Safe to run again at any time: a converged
    project makes no change, and an interrupted run is finished by running it again. Secret values
    are prompted for (hidden, twice), or read from their env vars with --no-input / CI; a secret
    that already has versions is never given a new one (use `secrets rotate`).

    Examples: thothctl --emulator init · thothctl init --dry-run -o json · GITLAB_TOKEN=... thothctl init --yes --no-input
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    scopes = initplan.parse_scopes(only)
    cfg, clients = app_ctx.config, app_ctx.clients

    with out.spinner(f"Reading {app_ctx.project}…"):
        state = initplan.read_state(cfg, clients)
    plan = initplan.plan_init(
        cfg,
        clients,
        state,
        only=scopes,
        environ=app_ctx.environ,
        can_prompt=app_ctx.can_prompt,
        dry_run=dry_run,
        ask=lambda need: out.prompt_secret(need.label, empty_ok=need.empty_ok),
    )

    pending = plan.pending
    if out.json_mode and (dry_run or not pending):
        out.json(planlib.report(plan, dry_run=dry_run))
        return
    if not out.json_mode:
        _render_plan(out, plan)
    if not pending:
        out.success(f"Nothing to do: {plan.project} matches the configuration.")
        return
    if dry_run:
        out.info(f"Dry run: {len(pending)} change(s) planned, nothing applied.")
        return
    if not app_ctx.confirm(f"Apply {len(pending)} change(s) to {plan.project}?", default=True):
        raise Cancelled()

    result = run_plan(out, plan, jobs_concurrency, echo=True)
    out.emit(
        planlib.report(plan, dry_run=False, applied=result), lambda: _summary(out, plan, result)
    )
    if not result.ok:
        raise typer.Exit(1)


def _detail(step: Any) -> str:
    if step.kind == "apis" and step.changes:
        return "enable " + ", ".join(c.field for c in step.changes)
    if step.action == "update":
        return "; ".join(f"{c.field}: {_short(c.live)} → {_short(c.desired)}" for c in step.changes)
    return step.note or ""


def _render_plan(out: Any, plan: Any) -> None:
    rows = [
        [Styled(s.action, ACTION_STYLE[s.action]), s.kind, s.resource, _detail(s)]
        for s in plan.steps
    ]
    counts = plan.counts()
    out.table(
        ["ACTION", "KIND", "RESOURCE", "DETAIL"],
        rows,
        title=f"Plan for {plan.project}: {counts['create']} to create, {counts['update']} to "
        f"update, {counts['unchanged']} unchanged",
    )


def _short(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _message(result: Any) -> str:
    return result.detail + (f" ({result.hint})" if result.hint else "")


def run_plan(out: Any, plan: Any, parallel: int, *, echo: bool) -> Any:
    """Apply the plan's pending steps under a spinner naming the running ones. ``echo``: a line
    per finished step; failures and skips are always shown."""
    lock = threading.Lock()
    running: list[str] = []
    with out.spinner(f"Applying {len(plan.pending)} change(s)…") as update:

        def on_event(kind: str, step: Any, result: Any) -> None:
            with lock:
                if kind == "start":
                    running.append(step.id)
                else:
                    if step.id in running:
                        running.remove(step.id)
                    _echo(out, step, result, echo)
                update("Applying: " + ", ".join(running) if running else "Applying…")

        return planlib.execute(plan.pending, max_workers=parallel, on_event=on_event)


def _echo(out: Any, step: Any, result: Any, echo: bool) -> None:
    what = f"{step.action} {step.kind} {step.resource}"
    if result.status == "failed":
        out.error(f"{what} failed: {_message(result)}")
    elif result.status == "skipped":
        out.warn(f"skipped {step.id}: {result.detail}")
    elif echo:
        out.success(f"{what}: {_message(result)} ({result.seconds:.1f}s)")


def _summary(out: Any, plan: Any, result: Any) -> None:
    done = [r for r in result.results if r.status == "done"]
    failed = result.failed
    if failed:
        out.error(
            f"{len(failed)} of {len(result.results)} step(s) failed; {len(done)} applied",
            hint="fix the cause and run `thothctl init` again: it picks up where this run stopped",
        )
        return
    out.success(f"Applied {len(done)} change(s) to {plan.project}.")
    out.info(
        "Next: `thothctl doctor` · `thothctl jobs run daily-sync --wait` · `thothctl logs jobs`"
    )
