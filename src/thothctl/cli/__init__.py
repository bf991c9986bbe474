"""The typer application: global options, command groups, and the one error translator."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import typer
from typer.core import TyperGroup

from thothctl import __version__
from thothctl.cli.complete import complete_env_name, complete_output, register_complete_command
from thothctl.cli.context import AppContext, GlobalOptions
from thothctl.errors import EXIT_INTERRUPTED, EXIT_USAGE, ThothError, is_google_error

# Global options that may also follow the subcommand (like gcloud): name -> takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {
    "--project": True,
    "-p": True,
    "--region": True,
    "-r": True,
    "--config": True,
    "-c": True,
    "--env": True,
    "-e": True,
    "--output": True,
    "-o": True,
    "--yes": False,
    "-y": False,
    "--no-input": False,
    "--quiet": False,
    "-q": False,
    "--verbose": False,
    "-v": False,
    "--impersonate-service-account": True,
    "--transport": True,
    "--emulator": False,
}


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """Move global options found after the subcommand to the front, so that
    ``thothctl secrets list -o json`` means ``thothctl -o json secrets list``.
    Stops at ``--`` (everything after it belongs to `exec`)."""
    args = list(args)
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            rest.extend(args[i:])
            break
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok
        if name in GLOBAL_OPTIONS:
            hoisted.append(tok)
            if GLOBAL_OPTIONS[name] and "=" not in tok and i + 1 < len(args):
                hoisted.append(args[i + 1])
                i += 1
        else:
            rest.append(tok)
        i += 1
    return hoisted + rest


# `thothctl --help` groups commands the way a newcomer meets them (issue #7).
PANEL_ORDER = ("Setup", "Secrets", "Jobs", "Observe", "Local emulator")


class ThothGroup(TyperGroup):
    """Root group: hoists global options and turns every expected error into one line + code."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in PANEL_ORDER (registration order within a panel; unknown panels last)."""
        names = super().list_commands(ctx)

        def rank(name: str) -> int:
            panel = getattr(self.commands.get(name), "rich_help_panel", None)
            return PANEL_ORDER.index(panel) if panel in PANEL_ORDER else len(PANEL_ORDER)

        return sorted(names, key=rank)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = hoist_global_options(sys.argv[1:] if args is None else args)
        code = run_guarded(
            lambda: super(ThothGroup, self).main(
                argv, prog_name or "thothctl", complete_var, standalone_mode=False, **extra
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code


def _stderr_output():
    from thothctl.output import Output

    return Output()


def run_guarded(fn) -> int:
    from typer import _click

    try:
        rv = fn()
        if rv == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent Exit(130)
            _stderr_output().interrupted()
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    except _click.exceptions.NoArgsIsHelpError as exc:
        # A group called without its command: the help was shown (rich prints it while
        # formatting). Bare `thothctl` asked for nothing else: 0; `thothctl secrets`: usage, 2.
        if exc.format_message().strip():
            _stderr_output().line(exc.format_message())
        return 0 if exc.ctx is None or exc.ctx.parent is None else EXIT_USAGE
    except _click.exceptions.ClickException as exc:
        msg = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        hint = f"see `{ctx.command_path} --help`" if ctx is not None else "see `thothctl --help`"
        _stderr_output().error(msg, hint)
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except ThothError as exc:
        _stderr_output().error(exc)
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        _stderr_output().interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if is_google_error(exc):
            from thothctl.errors import translate_google_error

            err = translate_google_error(exc)
            _stderr_output().error(err)
            return err.exit_code
        raise


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Transport(StrEnum):
    grpc = "grpc"
    rest = "rest"


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"thothctl {__version__}\n")
        raise typer.Exit()


app = typer.Typer(
    cls=ThothGroup,
    name="thothctl",
    help="Operate the Thoth sync service on Google Cloud: APIs, secrets, scheduler jobs, logs.\n\n"
    "Global options work before or after the subcommand (thothctl secrets list -o json).\n\n"
    "Examples: thothctl --emulator init · thothctl doctor · thothctl secrets rotate gitlab-token · "
    "thothctl jobs run daily-sync --wait",
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
        help="Use the local emulator ($THOTHCTL_EMULATOR_HOST, else an embedded one "
        "whose state persists in your user state directory).",
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
        transport=transport.value,
        emulator=emulator,
    )
    app_ctx = AppContext(opts)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


def get_ctx(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def _register() -> None:
    from thothctl.cli import (
        apis,
        config_cmd,
        cost_cmd,
        doctor_cmd,
        emulator_cmd,
        init_cmd,
        jobs,
        logs,
        secrets,
    )

    app.command("init", rich_help_panel="Setup")(init_cmd.init_command)
    app.add_typer(config_cmd.app, name="config", rich_help_panel="Setup")
    app.add_typer(apis.app, name="apis", rich_help_panel="Setup")
    app.add_typer(secrets.app, name="secrets", rich_help_panel="Secrets")
    from thothctl.cli import exec_cmd

    app.command(
        "exec",
        rich_help_panel="Secrets",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(exec_cmd.exec_command)
    app.add_typer(jobs.app, name="jobs", rich_help_panel="Jobs")
    app.command("logs", rich_help_panel="Observe")(logs.logs_command)
    app.command("doctor", rich_help_panel="Observe")(doctor_cmd.doctor_command)
    app.command("cost", rich_help_panel="Observe")(cost_cmd.cost_command)
    app.add_typer(emulator_cmd.app, name="emulator", rich_help_panel="Local emulator")
    register_complete_command(app)


_register()
