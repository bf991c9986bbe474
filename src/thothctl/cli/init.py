"""`thothctl init`: plan, ask once, apply — the headline command. Also the plan runner that
`thothctl jobs apply` shares (``run_plan``)."""

from __future__ import annotations

import threading
from typing import Any

import typer

from thothctl.cli.context import get_ctx
from thothctl.cli.prompts import ask_value
from thothctl.errors import Cancelled
from thothctl.lazy import lazy
from thothctl.output import WRAP, Column, Styled, plural

initplan = lazy("thothctl.init.plan")
planlib = lazy("thothctl.plan")

ACTION_STYLE = {"create": "green", "update": "yellow", "unchanged": "dim"}
# The plan table's KIND column, short enough for 80 columns (-o json keeps the step's kind).
KIND_LABEL = {"service-account": "account", "secret-version": "version", "iam": "grant"}


def init_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and change nothing."),
    only: list[str] | None = typer.Option(
        None,
        "--only",
        metavar="SCOPE",
        help="Limit to apis, secrets, iam or jobs (repeatable, or comma-separated).",
        show_default=False,
    ),
    jobs_concurrency: int = typer.Option(
        8, "--parallel", min=1, max=32, help="Steps applied at once."
    ),
    no_verify: bool = typer.Option(
        False,
        "--no-verify",
        help="Store a first gitlab-token without asking GitLab about it (air-gapped setups).",
    ),
) -> None:
    """Set up Thoth in a project: APIs, secrets, grants, scheduler account and jobs.

    Reads live state and shows a plan (create / update / unchanged for every resource), then asks
    for the secret values the plan needs, confirms once and applies independent steps
    concurrently. A token is typed hidden, twice; the GitLab URL visibly, once; a JSON key is
    pasted or read from a path. With --no-input (or CI) the values come from their env vars. A
    secret that already has versions is never given a new one (use `secrets rotate`). Safe to run
    again at any time: a converged project asks nothing and changes nothing, and an interrupted
    run is finished by running it again.

    Examples:
      thothctl --emulator init
      thothctl init --dry-run -o json
      GITLAB_TOKEN=... thothctl init --yes --no-input
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    scopes = initplan.parse_scopes(only)
    cfg, clients = app_ctx.config, app_ctx.clients

    with out.spinner(f"Reading {app_ctx.project}…"):
        state = initplan.read_state(cfg, clients)
        draft = initplan.draft_init(
            cfg,
            clients,
            state,
            only=scopes,
            environ=app_ctx.environ,
            can_prompt=app_ctx.can_prompt,
            dry_run=dry_run,
        )
    plan = draft.plan
    if out.json_mode and (dry_run or not plan.pending):
        out.json(planlib.report(plan, dry_run=dry_run))
        return
    if not out.json_mode:
        _render_plan(out, plan)
    if not plan.pending:
        out.success(f"Nothing to do: {plan.project} matches the configuration.")
        return
    if dry_run:
        out.info(f"Dry run: {plural(len(plan.pending), 'change')} planned, nothing applied.")
        out.next_steps(["thothctl init"])
        return
    plan = _ask_values(out, draft, verify=not no_verify)
    if not app_ctx.confirm(
        f"Apply {plural(len(plan.pending), 'change')} to {plan.project}?", default=True
    ):
        raise Cancelled()

    result = run_plan(out, plan, jobs_concurrency, echo=True)
    out.emit(
        planlib.report(plan, dry_run=False, applied=result), lambda: _summary(out, plan, result)
    )
    if not result.ok:
        raise typer.Exit(1)


def _ask_values(out: Any, draft: Any, *, verify: bool) -> Any:
    """Ask for the values the shown plan needs (each checked, a mistake asked again), then the
    plan to apply; a skipped optional secret leaves it."""
    answers = {}
    for need in draft.asks:
        on_empty = (lambda n=need: n.from_answer("")) if need.empty_ok else None
        answers[need.name] = ask_value(out, need.spec, label=need.label, on_empty=on_empty)
        if answers[need.name] is None:
            out.info(f"Skipped {need.name}: it is optional.")
    return initplan.finish_init(draft, answers, verify=verify)


def _detail(step: Any) -> str:
    if step.kind == "apis" and step.changes:
        return "enable " + ", ".join(c.field.removesuffix(".googleapis.com") for c in step.changes)
    if step.action == "update":
        return "; ".join(f"{c.field}: {_short(c.live)} → {_short(c.desired)}" for c in step.changes)
    if step.kind == "iam":
        return (step.note or "").removeprefix("serviceAccount:")
    return step.note or ""


def _render_plan(out: Any, plan: Any) -> None:
    rows = [
        [
            Styled(s.action, ACTION_STYLE[s.action]),
            KIND_LABEL.get(s.kind, s.kind),
            s.resource,
            _detail(s),
        ]
        for s in plan.steps
    ]
    counts = plan.counts()
    out.table(
        [
            Column("ACTION"),
            Column("KIND"),
            Column("RESOURCE", fit=WRAP),
            Column("DETAIL", fit=WRAP, style="dim"),
        ],
        rows,
        title=f"Plan for {plan.project}: {counts['create']} to create, {counts['update']} to "
        f"update, {counts['unchanged']} unchanged",
    )


def _short(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def run_plan(out: Any, plan: Any, parallel: int, *, echo: bool) -> Any:
    """Apply the plan's pending steps under a spinner naming the running ones. ``echo``: a line
    per finished step; failures and skips are always shown."""
    lock = threading.Lock()
    running: list[str] = []
    with out.spinner(f"Applying {plural(len(plan.pending), 'change')}…") as update:

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
    """One line per finished step: the resource and what was done (``apis: enabled 3 APIs``)."""
    kind = KIND_LABEL.get(step.kind, step.kind)
    what = kind if step.kind == "apis" else f"{kind} {step.resource}"
    if result.status == "failed":
        out.error(f"{step.action} {what} failed: {result.detail}", result.hint)
    elif result.status == "skipped":
        out.warn(f"skipped {what}: it {result.detail}")
    elif echo:
        out.success(f"{what}: {result.detail} ({result.seconds:.1f}s)")


def _summary(out: Any, plan: Any, result: Any) -> None:
    done = [r for r in result.results if r.status == "done"]
    failed = result.failed
    if failed:
        out.error(
            f"{len(failed)} of {plural(len(result.results), 'step')} failed and "
            f"{len(done)} applied",
            hint="fix the cause, then run `thothctl init` again: it picks up where this run stopped",
        )
        return
    out.success(f"Applied {plural(len(done), 'change')} to {plan.project}.")
    job = next((s.id.split(":", 1)[1] for s in plan.steps if s.kind == "job"), None)
    run = [f"thothctl jobs run {job} --wait", "thothctl logs jobs"] if job else []
    out.next_steps(["thothctl doctor", *run])
