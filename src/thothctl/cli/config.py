"""`thothctl config`: show the effective configuration, write a starter file."""

from __future__ import annotations

from pathlib import Path

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import UsageError
from thothctl.lazy import lazy
from thothctl.output import WRAP, Column

cfglib = lazy("thothctl.config")

app = typer.Typer(
    help="Show or write the thothctl configuration (thothctl.toml, named environments, sources).\n\n"
    "Examples:\n"
    "  thothctl config init\n"
    "  thothctl --env prod config show",
    no_args_is_help=True,
)


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective configuration and where each value came from.

    Sources: built-in default, thothctl.toml, [env.NAME], $THOTHCTL_*, flags, gcloud config.

    Example: thothctl --env prod config show
    """
    app_ctx = get_ctx(ctx)
    cfg = app_ctx.config
    out = app_ctx.out
    rows = cfglib.show_rows(cfg)
    if out.json_mode:
        out.json(
            {
                "config_file": str(cfg.config_file) if cfg.config_file else None,
                "env": cfg.env_name,
                "environments": list(cfg.environments),
                "values": {key: {"value": value, "source": source} for key, value, source in rows},
            }
        )
        return
    if cfg.config_file:
        out.info(
            f"config file: {cfg.config_file}" + (f" (env {cfg.env_name})" if cfg.env_name else "")
        )
    else:
        out.info(
            "No thothctl.toml found, so these are the built-in defaults; "
            "`thothctl config init` writes them to a file."
        )
    out.table(
        [Column("KEY"), Column("VALUE", fit=WRAP), Column("SOURCE", drop=1, fit=WRAP, style="dim")],
        [[k, _show(v), s] for k, v, s in rows],
    )


def _show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@app.command("init")
def init(
    ctx: typer.Context,
    path: Path = typer.Option(Path("thothctl.toml"), "--path", help="Where to write the file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented thothctl.toml holding the built-in defaults.

    Refuses to overwrite an existing file unless --force.

    Example: thothctl config init --project thoth-prod
    """
    app_ctx = get_ctx(ctx)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    project = app_ctx.opts.project
    path.write_text(cfglib.render_template(project))
    app_ctx.out.success(f"Wrote {path}. Check it with `thothctl config show`.")
    if app_ctx.out.json_mode:
        app_ctx.out.json({"path": str(path), "written": True})
