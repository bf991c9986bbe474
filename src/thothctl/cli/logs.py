"""`thothctl logs`: scheduler executions, service requests and secret access (issue: logs)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Show what the sync did: scheduler attempts, service logs, secret access.")
