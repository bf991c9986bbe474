"""`thothctl init`: plan, ask once, apply — the headline command."""

from __future__ import annotations

import threading

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import ThothError, UsageError, is_google_error, translate_google_error
from thothctl.lazy import lazy

secretlib = lazy("thothctl.secrets")
setup = lazy("thothctl.setup")
planlib = lazy("thothctl.plan")

CREATE, UPDATE = "create", "update"
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
    scopes = _scopes(only)
    cfg = app_ctx.config
    clients = app_ctx.clients

    with out.spinner(f"Reading {app_ctx.project}…"):
        state = setup.read_state(cfg, clients)
    values = _collect_values(app_ctx, state, scopes, dry_run)
    plan = setup.build_plan(cfg, clients, state, values, only=scopes)
    pending = plan.pending
    if any(s.id == "grant:invoker" for s in pending) and not dry_run:
        setup.check_permissions(cfg, clients, state)

    if out.json_mode and (dry_run or not pending):
        out.json({"dry_run": dry_run, "changed": False, "plan": plan.to_json()})
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
        raise typer.Exit(1)

    result = _apply(out, plan, jobs_concurrency)
    if out.json_mode:
        out.json(
            {"dry_run": False, "changed": True, "plan": plan.to_json(), "applied": result.to_json()}
        )
    else:
        _summary(out, plan, result)
    if not result.ok:
        raise typer.Exit(1)


def _scopes(only: list[str] | None) -> set[str] | None:
    if not only:
        return None
    scopes = set()
    for item in only:
        for part in item.split(","):
            part = part.strip()
            if part not in setup.SCOPES:
                raise UsageError(f"--only {part!r} is not one of {', '.join(setup.SCOPES)}")
            scopes.add(part)
    return scopes


def _collect_values(
    app_ctx, state, scopes, dry_run: bool
) -> dict[str, secretlib.SecretValue | None]:
    """First versions: prompt when we can, else env var, else default; fail before any change
    when a required one is missing."""
    out = app_ctx.out
    values: dict[str, secretlib.SecretValue | None] = {}
    for spec in setup.secrets_needing_values(state, scopes):
        env_value = app_ctx.environ.get(spec.env)
        if env_value is not None:
            values[spec.name] = secretlib.value_from_env(spec, app_ctx.environ)
        elif dry_run:
            values[spec.name] = (
                secretlib.SecretValue(spec.default.encode(), "the default")
                if spec.default
                else None
            )
        elif app_ctx.can_prompt:
            values[spec.name] = _prompt(out, spec)
        elif spec.default is not None:
            values[spec.name] = secretlib.SecretValue(spec.default.encode(), "the default")
        elif not spec.required:
            values[spec.name] = None
        else:
            raise UsageError(
                f"no value for secret {spec.name}: ${spec.env} is not set and prompting is off",
                hint=f"set {spec.env} (or run interactively); nothing was changed",
            )
    return values


def _prompt(out, spec) -> secretlib.SecretValue | None:
    label = f"{spec.description} ({spec.name})"
    if spec.default:
        label += f" [Enter: {spec.default}]"
    elif not spec.required:
        label += " [Enter: skip]"
    for _ in range(3):
        first = out.prompt_secret(label, confirm=False)
        if not first:
            if spec.default:
                return secretlib.SecretValue(spec.default.encode(), "the default")
            if not spec.required:
                return None
            out.warn(f"{spec.name} is required")
            continue
        second = out.prompt_secret(f"{label} (again)", confirm=False)
        if first != second:
            out.warn("the two values differ; try again")
            continue
        return secretlib.value_from_prompt(spec, first)
    raise UsageError(f"no value for {spec.name} after three tries", hint="nothing was changed")


def _render_plan(out, plan) -> None:
    from rich.text import Text

    rows = []
    for step in plan.steps:
        detail = step.note
        if step.changes:
            detail = "; ".join(
                f"{c.field}: {_short(c.old)} → {_short(c.new)}" for c in step.changes
            )
            if step.action == CREATE and step.kind == "apis":
                detail = "enable " + ", ".join(c.field for c in step.changes)
        rows.append(
            [
                Text(step.action, style=ACTION_STYLE[step.action]),
                step.kind,
                step.resource,
                detail or "",
            ]
        )
    counts = plan.counts()
    out.table(
        ["ACTION", "KIND", "RESOURCE", "DETAIL"],
        rows,
        title=f"Plan for {plan.project}: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
        f"{counts['unchanged']} unchanged",
    )


def _short(value) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _message(result) -> str:
    exc = result.error
    if exc is None:
        return result.detail
    if isinstance(exc, ThothError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    if is_google_error(exc):
        err = translate_google_error(exc)
        return err.message + (f" ({err.hint})" if err.hint else "")
    return f"{type(exc).__name__}: {exc}"


def _apply(out, plan, parallel: int):
    lock = threading.Lock()
    running: list[str] = []
    with out.spinner(f"Applying {len(plan.pending)} change(s)…") as update:

        def on_event(kind, step, result):
            with lock:
                if kind == "start":
                    running.append(step.id)
                else:
                    if step.id in running:
                        running.remove(step.id)
                    line = f"{step.action} {step.kind} {step.resource}: {_message(result)} ({result.seconds:.1f}s)"
                    if result.status == "done":
                        out.success(line)
                    elif result.status == "skipped":
                        out.warn(f"skipped {step.id}: {result.detail}")
                    else:
                        out.error(
                            f"{step.action} {step.kind} {step.resource} failed: {_message(result)}"
                        )
                update("Applying: " + ", ".join(running) if running else "Applying…")

        return planlib.execute(plan.pending, max_workers=parallel, on_event=on_event)


def _summary(out, plan, result) -> None:
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
