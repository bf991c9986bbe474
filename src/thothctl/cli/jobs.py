"""`thothctl jobs`: the Cloud Scheduler jobs (issue: jobs)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Declare, apply, pause, resume and run Thoth's scheduler jobs.", no_args_is_help=True)
