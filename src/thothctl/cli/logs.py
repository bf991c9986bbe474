"""`thothctl logs [SOURCE]`: scheduler executions, service logs and secret access, from the
terminal, live with --follow."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

from thothctl.cli.complete import complete_job_name
from thothctl.cli.context import get_ctx
from thothctl.lazy import lazy
from thothctl.output import iso

lib = lazy("thothctl.logs")
logquery = lazy("thothctl.logquery")

_STYLES = {
    "DEBUG": "dim",
    "NOTICE": "cyan",
    "WARNING": "yellow",
    "ERROR": "red",
    "CRITICAL": "bold red",
    "ALERT": "bold red",
    "EMERGENCY": "bold red",
}


class Source(StrEnum):
    all = "all"
    jobs = "jobs"
    service = "service"
    secrets = "secrets"


def _text_option(*names: str, help: str, **kwargs: Any) -> Any:
    """An option that takes text and has no default."""
    return typer.Option(None, *names, help=help, show_default=False, **kwargs)


def _render(out, line: lib.LogLine) -> None:
    if out.json_mode:
        out.json_line(line.to_json())
        return
    when = line.timestamp.strftime("%Y-%m-%d %H:%M:%S") if line.timestamp else "-" * 19
    text = f"{when}  {line.severity:<8} {line.source:<8} {line.message}"
    out.line(text, _STYLES.get(line.severity))


def logs_command(
    ctx: typer.Context,
    source: Source = typer.Argument(
        Source.all,
        help="jobs (scheduler executions), service (Cloud Run requests, stdout/stderr), "
        "secrets (secret access audit entries) or all.",
        case_sensitive=False,
        show_default=True,
    ),
    job: str | None = _text_option(
        "--job",
        "-j",
        help="Only this job's scheduler entries (name like daily-sync, or job id).",
        autocompletion=complete_job_name,
    ),
    since: str | None = _text_option(
        "--since",
        "-s",
        help="Start: a duration ago (30m, 1h, 2d) or a time (2026-11-28T02:00Z). Default: 1d; "
        "with --follow, only new entries unless given.",
    ),
    until: str | None = _text_option(
        "--until", "-u", help="End: a duration ago (10m) or a time (2026-11-28T03:00Z)."
    ),
    severity: str | None = _text_option(
        "--severity", help="Minimum severity: DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL…"
    ),
    filter_: str | None = _text_option(
        "--filter",
        help="Logging query language expression ANDed to the built filter, "
        "e.g. 'httpRequest.status>=500'.",
    ),
    limit: int = typer.Option(
        logquery.DEFAULT_LIMIT, "--limit", "-n", help="Show at most the newest N entries.", min=1
    ),
    follow: bool = typer.Option(
        False,
        "--follow",
        "-f",
        help="Keep streaming new entries as they are written (Ctrl-C stops).",
    ),
) -> None:
    """Show what the sync did: scheduler attempts, the service's logs, who read the secrets.

    One line per entry, oldest first: time, severity, source, short message.

    A scheduler attempt is spelled out: "daily-sync: POST …/sync → 503 after 2.1s, will retry".

    -o json prints one JSON object per line. --follow streams new entries until Ctrl-C.

    --verbose shows the filter sent. Bad durations and filters are reported before any call.

    Examples:
      thothctl logs jobs --job daily-sync --since 10m
      thothctl logs --severity WARNING -f
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    query = logquery.build_query(
        app_ctx.config,
        source.value,
        job=job,
        since=since,
        until=until,
        severity=severity,
        extra_filter=filter_,
        limit=limit,
        follow=follow,
    )
    out.verbose(f"filter: {query.filter}")
    clients = app_ctx.clients
    if follow:
        _follow(app_ctx, clients, query, backlog=since is not None)
        return
    lines, more = lib.read(clients, app_ctx.config, query)
    if not lines:
        what = "log entries" if query.source == "all" else f"{query.source} log entries"
        since = f" since {iso(query.since)}" if query.since else ""
        out.info(f"No {what} match{since}.")
        return
    for line in lines:
        _render(out, line)
    if more:
        out.info(f"Showing the newest {query.limit} entries; use --limit or --since for more.")


def _follow(app_ctx, clients, query: logquery.Query, *, backlog: bool) -> None:
    out = app_ctx.out
    stream = lib.follow(
        clients,
        app_ctx.config,
        query,
        backlog=backlog,
        on_open=lambda: out.info("Following new log entries (Ctrl-C to stop)…"),
    )
    try:
        for line in stream:
            _render(out, line)
    except KeyboardInterrupt:
        out.info("stopped")
    finally:
        stream.close()
