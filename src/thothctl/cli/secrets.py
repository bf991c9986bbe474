"""`thothctl secrets`: the Secret Manager lifecycle (issue: secrets)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Create, set, rotate, read and grant access to Thoth's secrets.", no_args_is_help=True)
