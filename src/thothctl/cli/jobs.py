"""`thothctl jobs`: the Cloud Scheduler jobs (issue: jobs)."""

from __future__ import annotations

from typing import Any

import typer

from thothctl import validate
from thothctl.cli.complete import complete_job_name
from thothctl.cli.context import get_ctx
from thothctl.cli.init import run_plan
from thothctl.errors import Cancelled, OperationError, UsageError
from thothctl.lazy import lazy
from thothctl.output import CUT, WRAP, Column, iso, relative_time

lib = lazy("thothctl.jobs")
schedule = lazy("thothctl.schedule")
initplan = lazy("thothctl.init.plan")
planlib = lazy("thothctl.plan")

app = typer.Typer(
    help="Declare, apply, pause, resume and run Thoth's scheduler jobs (daily full sync, hourly "
    "incremental sync), called with an OIDC token of the scheduler service account.\n\n"
    "Examples:\n"
    "  thothctl jobs list\n"
    "  thothctl jobs apply --dry-run\n"
    "  thothctl jobs run daily-sync --wait",
    no_args_is_help=True,
)

NAME_HELP = "Job short name (daily-sync) or job id (thoth-daily-sync)."


def _when(out: Any, value: Any) -> str:
    if value is None:
        return "-"
    return relative_time(value) if out.is_tty else iso(value)


def _last(out: Any, attempt: lib.Attempt | None) -> str:
    if attempt is None:
        return "never"
    return f"{_when(out, attempt.time)} {attempt.summary}"


def _show_changes(out: Any, changes: list[Any], indent: str = "    ") -> None:
    for c in changes:
        out.line(f"{indent}{c.field}: {c.live!r} -> {c.desired!r}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the configured and existing jobs, with state, schedule, last result and drift.

    Jobs in the config but missing in Cloud Scheduler show as MISSING; a live job that differs
    from the config shows which fields drifted (fix it with `thothctl jobs apply`).

    Example: thothctl jobs list -o json
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    rows = lib.list_jobs(app_ctx.clients, app_ctx.config)

    def human() -> None:
        out.table(
            [
                Column("NAME"),
                Column("JOB ID", drop=2),
                Column("STATE"),
                Column("SCHEDULE", fit=WRAP),
                Column("NEXT RUN", drop=3),
                Column("LAST ATTEMPT", fit=WRAP),
                Column("TARGET", drop=1, fit=CUT),
                Column("DRIFT", fit=WRAP),
            ],
            [
                [
                    r.name or "(not in config)",
                    r.job_id,
                    r.state,
                    f"{r.schedule_human} ({r.schedule})",
                    _when(out, r.next_run),
                    _last(out, r.last),
                    r.target,
                    ", ".join(c.field for c in r.drift) or "-",
                ]
                for r in rows
            ],
            empty="no jobs configured or found",
        )
        missing = [r.name for r in rows if not r.exists]
        drifted = [r.name for r in rows if r.drift]
        if missing or drifted:
            out.info(f"{len(missing)} missing, {len(drifted)} drifted from the config.")
            out.next_steps(["thothctl jobs apply"])

    out.emit([r.to_json() for r in rows], human)


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
) -> None:
    """Show one job in full: schedule, target, identity, retry config, last attempt, drift.

    Compares the live job with the configuration and lists each field that differs; a job that is
    configured but missing is shown as such.

    Example: thothctl jobs describe daily-sync
    """
    app_ctx = get_ctx(ctx)
    lib.resolve(app_ctx.config, name)
    out = app_ctx.out
    row = lib.describe(app_ctx.clients, app_ctx.config, name)
    data = row.to_json()
    if row.live is not None:
        data["live"] = lib.live_fields(row.live)

    def human() -> None:
        pairs: list[tuple[str, Any]] = [
            ("name", row.name or "(not in config)"),
            ("job id", row.job_id),
            ("state", row.state),
            ("schedule", f"{row.schedule_human} ({row.schedule}, {row.time_zone})"),
            ("next run", _when(out, row.next_run)),
            ("last attempt", _last(out, row.last)),
            ("target", row.target),
        ]
        if row.live is not None:
            live = lib.live_fields(row.live)
            pairs += [
                ("method", live["method"]),
                ("service account", live["service_account"] or "-"),
                ("audience", live["audience"] or "-"),
                ("attempt deadline", validate.format_duration(live["attempt_deadline"])),
                (
                    "retries",
                    f"{live['retry_count']} (backoff {validate.format_duration(live['min_backoff'])}-"
                    f"{validate.format_duration(live['max_backoff'])}, {live['max_doublings']} doublings)",
                ),
            ]
        if row.last and not row.last.ok and row.last.message:
            pairs.append(("last error", row.last.message))
        pairs.append(("drift", ", ".join(c.field for c in row.drift) or "none"))
        out.fields(pairs)
        if row.drift:
            _show_changes(out, row.drift, "  ")

    out.emit(data, human)


@app.command("next")
def next_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
    count: int = typer.Option(5, "-n", "--count", help="How many run times to show (1-100)."),
) -> None:
    """Show the next run times of a configured job, computed locally from its cron and time zone.

    Makes no Google call.

    Example: thothctl jobs next hourly-incremental-sync -n 3
    """
    app_ctx = get_ctx(ctx)
    if not 1 <= count <= 100:
        raise UsageError(f"-n {count} is out of range", hint="give 1 to 100, e.g. -n 5")
    spec = app_ctx.config.job(name)
    times = schedule.next_runs(spec.schedule, spec.time_zone, count)
    out = app_ctx.out
    data = {
        "name": spec.name,
        "job_id": spec.id,
        "schedule": spec.schedule,
        "time_zone": spec.time_zone,
        "schedule_human": schedule.describe_schedule(spec.schedule, spec.time_zone),
        "next_runs": times,
        "next_runs_local": [t.isoformat() for t in times],
    }

    def human() -> None:
        out.info(f"{spec.name}: {data['schedule_human']} ({spec.schedule})")
        for t in times:
            out.line(t.isoformat())

    out.emit(data, human)


@app.command("apply")
def apply(
    ctx: typer.Context,
    names: list[str] | None = typer.Argument(
        None,
        help="Jobs to apply (default: all configured).",
        show_default=False,
        autocompletion=complete_job_name,
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the changes; make none."),
) -> None:
    """Create or update the jobs so they match the config.

    The target is the live Cloud Run service URL plus the job's path, called with an OIDC token
    of the scheduler service account (audience: the service URL). The account is created if
    missing and given roles/run.invoker on the service only. Only differing fields are updated.

    Examples:
      thothctl jobs apply
      thothctl jobs apply daily-sync --dry-run
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    with out.spinner("Reading the service, the scheduler account and the jobs…"):
        plan = initplan.plan_jobs(app_ctx.config, app_ctx.clients, names or (), dry_run=dry_run)
    if dry_run or not plan.pending:
        out.emit(planlib.report(plan, dry_run=dry_run), lambda: _render_apply(out, plan, None))
        return
    result = run_plan(out, plan, 8, echo=False)
    out.emit(
        planlib.report(plan, dry_run=False, applied=result),
        lambda: _render_apply(out, plan, result),
    )
    if not result.ok:
        raise typer.Exit(1)


def _render_apply(out: Any, plan: Any, result: Any) -> None:
    """One line per step: what would change (``result`` None: a dry run) or what did."""
    dry_run = result is None
    done = set() if dry_run else {r.step.id for r in result.results if r.status == "done"}
    for step in plan.steps:
        shown = dry_run or step.id in done
        if step.kind == "job":
            _render_job_step(out, step, dry_run, shown)
        elif step.pending and shown:
            _render_access_step(out, step, dry_run)
    if not plan.pending:
        out.success("Nothing to do: the jobs match the configuration.")
    elif dry_run:
        out.info("Dry run: nothing was changed.")


def _render_access_step(out: Any, step: Any, dry_run: bool) -> None:
    """The scheduler account, or its invoker grant on the service."""
    if step.kind == "service-account":
        what, verbs = f"service account {step.resource}", ("would create", "created")
    else:
        what, verbs = f"{step.resource} to {step.note}", ("would grant", "granted")
    if dry_run:
        out.info(f"{verbs[0]} {what}")
    else:
        out.success(f"{verbs[1]} {what}")


def _render_job_step(out: Any, step: Any, dry_run: bool, shown: bool) -> None:
    if step.action == "unchanged":
        out.line(f"= {step.resource} unchanged")
    elif not shown:
        return
    elif step.action == "create":
        out.line(f"+ {step.resource} {'would create' if dry_run else 'created'}")
        for c in step.changes if dry_run else ():
            out.line(f"    {c.field}: {c.desired!r}")
    else:
        fields = ", ".join(c.field for c in step.changes)
        out.line(f"~ {step.resource} {'would update' if dry_run else 'updated'}: {fields}")
        _show_changes(out, step.changes)


def _state_command(ctx: typer.Context, name: str, fn: Any, verb: str) -> None:
    app_ctx = get_ctx(ctx)
    lib.resolve(app_ctx.config, name)
    result = fn(app_ctx.clients, app_ctx.config, name)
    out = app_ctx.out

    def human() -> None:
        if result.changed:
            out.success(f"{verb.capitalize()} {result.job_id}.")
        else:
            out.info(f"{result.job_id} is already {result.state.lower()}; nothing to do.")

    out.emit(result.to_json(), human)


@app.command("pause")
def pause(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
) -> None:
    """Pause a job: it stops firing on its schedule until resumed.

    A paused job is still billed as a job. `jobs run` refuses to run it unless --force.

    Example: thothctl jobs pause hourly-incremental-sync
    """
    _state_command(ctx, name, lib.pause, "paused")


@app.command("resume")
def resume(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
) -> None:
    """Resume a paused job: it fires on its schedule again.

    The next run is the next time its cron schedule matches; missed runs are not replayed.

    Example: thothctl jobs resume hourly-incremental-sync
    """
    _state_command(ctx, name, lib.resume, "resumed")


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
) -> None:
    """Delete a job from Cloud Scheduler (asks first; --yes to skip).

    `thothctl jobs apply` creates it again from the config.

    Example: thothctl jobs delete daily-sync --yes
    """
    app_ctx = get_ctx(ctx)
    _spec, job_id = lib.resolve(app_ctx.config, name)
    if not app_ctx.confirm(f"Delete scheduler job {job_id}?"):
        raise Cancelled()
    deleted = lib.delete(app_ctx.clients, app_ctx.config, name)
    out = app_ctx.out
    out.emit({"job_id": deleted, "deleted": True}, lambda: out.success(f"Deleted job {deleted}."))


@app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP, autocompletion=complete_job_name),
    wait: bool = typer.Option(False, "--wait", help="Wait for the attempt and report its result."),
    timeout: str = typer.Option("5m", "--timeout", help="How long --wait waits (e.g. 90s, 5m)."),
    force: bool = typer.Option(
        False, "--force", help="Run even if the job is paused (it stays paused)."
    ),
) -> None:
    """Run a job now. With --wait, show its result and exit 1 if the attempt failed.

    Cloud Scheduler dispatches the job at once (even if it is already running). With --wait a
    spinner runs until the job's last attempt is newer than the request, then the HTTP status and
    time are printed. A paused job is refused with a hint (resume first) unless --force.

    Example: thothctl jobs run daily-sync --wait --timeout 5m
    """
    app_ctx = get_ctx(ctx)
    try:
        seconds = validate.check_duration_range(timeout, 1, 86400)
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None
    lib.resolve(app_ctx.config, name)
    out = app_ctx.out
    with out.spinner(f"Running {name}…") as update:
        if wait:
            update(
                f"Running {name}; waiting for the attempt (up to {validate.format_duration(seconds)})…"
            )
        result = lib.run(
            app_ctx.clients, app_ctx.config, name, force=force, wait=wait, timeout=seconds
        )
    attempt = result.attempt

    def human() -> None:
        if attempt is None:
            out.success(f"Asked Cloud Scheduler to run {result.job_id}; --wait shows the result.")
        elif attempt.ok:
            when, answer = _at(attempt.time), attempt.summary
            out.success(f"{result.job_id} ran at {when}: the service answered {answer}.")

    out.emit(result.to_json(), human)
    if attempt is not None and not attempt.ok:
        raise OperationError(
            f"{result.job_id} ran at {_at(attempt.time)} and {attempt.summary}",
            hint=attempt.hint or f"see what it logged: `thothctl logs --job {name} --since 1h`",
        )


def _at(when: Any) -> str:
    return iso(when).replace("T", " ").replace("Z", " UTC") if when else "an unknown time"
