"""The typer application: the root command's global options and the command groups.

The root group (:mod:`thothctl.cli.guard`) hoists global options and turns errors into one line;
:mod:`thothctl.cli.context` resolves the options into config, output and clients.
"""

from __future__ import annotations

from enum import StrEnum

import typer

from thothctl import __version__
from thothctl.cli.complete import complete_env_name, complete_output, register_complete_command
from thothctl.cli.context import AppContext, GlobalOptions
from thothctl.cli.guard import ThothGroup


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Transport(StrEnum):
    grpc = "grpc"
    rest = "rest"


def _version(value: bool) -> None:
    if value:
        from thothctl.output import Output

        Output().line(f"thothctl {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=ThothGroup,
    name="thothctl",
    help="Operate the Thoth sync service on Google Cloud: APIs, secrets, scheduler jobs, logs.\n\n"
    "Global options work before or after the subcommand (thothctl secrets list -o json).\n\n"
    "Examples:\n"
    "  thothctl --emulator init\n"
    "  thothctl doctor\n"
    "  thothctl secrets rotate gitlab-token\n"
    "  thothctl jobs run daily-sync --wait",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


@app.callback()
def root(
    ctx: typer.Context,
    project: str | None = typer.Option(
        None,
        "--project",
        "-p",
        help="Google Cloud project id. \\[env var: THOTHCTL_PROJECT]",
        show_default=False,
    ),
    region: str | None = typer.Option(
        None,
        "--region",
        "-r",
        help="Region of the Cloud Run service. \\[env var: THOTHCTL_REGION]",
        show_default=False,
    ),
    config: str | None = typer.Option(
        None,
        "--config",
        "-c",
        envvar="THOTHCTL_CONFIG",
        help="Config file (default: ./thothctl.toml).",
        show_default=False,
    ),
    env: str | None = typer.Option(
        None,
        "--env",
        "-e",
        envvar="THOTHCTL_ENV",
        help="Named environment from the config file (\\[env.NAME]).",
        show_default=False,
        autocompletion=complete_env_name,
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.table,
        "--output",
        "-o",
        envvar="THOTHCTL_OUTPUT",
        help="Output format.",
        case_sensitive=False,
        autocompletion=complete_output,
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Answer yes to confirmations."),
    no_input: bool = typer.Option(
        False,
        "--no-input",
        envvar="THOTHCTL_NO_INPUT",
        help="Never prompt (implied by CI=true or a non-TTY stdin).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print results and errors."),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Explain what happens: sources, API calls (payloads redacted).",
    ),
    impersonate_service_account: str | None = typer.Option(
        None,
        "--impersonate-service-account",
        envvar="THOTHCTL_IMPERSONATE_SERVICE_ACCOUNT",
        help="Act as this service account (needs roles/iam.serviceAccountTokenCreator).",
        show_default=False,
    ),
    access_token_file: str | None = typer.Option(
        None,
        "--access-token-file",
        envvar="CLOUDSDK_AUTH_ACCESS_TOKEN_FILE",
        help="Use the OAuth access token in this file, as gcloud's --access-token-file does "
        "(for CI that mints short-lived tokens).",
        show_default=False,
    ),
    transport: Transport = typer.Option(
        Transport.grpc,
        "--transport",
        envvar="THOTHCTL_TRANSPORT",
        help="Wire transport for Google APIs.",
        case_sensitive=False,
    ),
    emulator: bool = typer.Option(
        False,
        "--emulator",
        envvar="THOTHCTL_EMULATOR",
        help="Use the local emulator ($THOTHCTL_EMULATOR_HOST, else your local one: a daemon, "
        "started when none runs, whose state persists in your user state directory).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    opts = GlobalOptions(
        project=project,
        region=region,
        config=config,
        env=env,
        output=output.value,
        yes=yes,
        no_input=no_input,
        quiet=quiet,
        verbose=verbose,
        impersonate_service_account=impersonate_service_account,
        access_token_file=access_token_file,
        transport=transport.value,
        emulator=emulator,
    )
    app_ctx = AppContext(opts)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


def _register() -> None:
    from thothctl.cli import (
        apis,
        cost,
        doctor,
        emulator,
        emulator_gitlab,
        exec,
        init,
        jobs,
        logs,
        secrets,
    )
    from thothctl.cli import config as config_cli

    app.command("init", rich_help_panel="Setup")(init.init_command)
    app.add_typer(config_cli.app, name="config", rich_help_panel="Setup")
    app.add_typer(apis.app, name="apis", rich_help_panel="Setup")
    app.add_typer(secrets.app, name="secrets", rich_help_panel="Secrets")
    app.command(
        "exec",
        rich_help_panel="Secrets",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(exec.exec_command)
    app.add_typer(jobs.app, name="jobs", rich_help_panel="Jobs")
    app.command("logs", rich_help_panel="Observe")(logs.logs_command)
    app.command("doctor", rich_help_panel="Observe")(doctor.doctor_command)
    app.command("cost", rich_help_panel="Observe")(cost.cost_command)
    emulator.app.add_typer(emulator_gitlab.app, name="gitlab")
    app.add_typer(emulator.app, name="emulator", rich_help_panel="Local emulator")
    register_complete_command(app)


_register()
