"""The application context: global options resolved lazily into config, output and clients.

Like gh's factory: building it does no I/O, so ``--help`` and usage errors never touch the config
file, credentials or the network.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from thothctl.errors import UsageError
from thothctl.output import Output

if TYPE_CHECKING:
    import typer

    from thothctl.config import Config


@dataclass
class GlobalOptions:
    project: str | None = None
    region: str | None = None
    config: str | None = None
    env: str | None = None
    output: str = "table"
    yes: bool = False
    no_input: bool = False
    quiet: bool = False
    verbose: bool = False
    impersonate_service_account: str | None = None
    access_token_file: str | None = None
    transport: str = "grpc"
    emulator: bool = False


# Global options that choose where a command acts: (flag, GlobalOptions field, its env var).
CONTEXT_OPTIONS = (
    ("--project", "project", None),
    ("--region", "region", None),
    ("--config", "config", "THOTHCTL_CONFIG"),
    ("--env", "env", "THOTHCTL_ENV"),
    ("--impersonate-service-account", "impersonate_service_account", None),
)


def command_prefix(opts: GlobalOptions, environ: Mapping[str, str]) -> str:
    """How a printed ``thothctl`` command starts so that it runs where this one did: the global
    options given as flags (``--emulator``, ``--env prod``, ``--project p``, …). One set from its
    env var needs no repeating: the shell still has it."""
    words = ["thothctl"]
    if opts.emulator and environ.get("THOTHCTL_EMULATOR", "").lower() not in ("1", "true", "yes"):
        words.append("--emulator")
    for flag, field, envvar in CONTEXT_OPTIONS:
        value = getattr(opts, field)
        if value and (envvar is None or environ.get(envvar) != value):
            words += [flag, shlex.quote(value)]
    return " ".join(words)


# The invocation's context, for what is printed after it ends (the guard's one error line).
_CURRENT: ContextVar[AppContext | None] = ContextVar("thothctl_app_context", default=None)


def current_output() -> Output:
    """The running invocation's Output (its terminal, its command prefix), else a plain one."""
    app_ctx = _CURRENT.get()
    return app_ctx.out if app_ctx is not None else Output()


def forget_current() -> None:
    """Start an invocation with no context (the root callback sets the new one)."""
    _CURRENT.set(None)


class AppContext:
    def __init__(self, opts: GlobalOptions, environ: Mapping[str, str] | None = None):
        self.opts = opts
        self.environ = os.environ if environ is None else environ
        self.out = Output(
            opts.output,
            quiet=opts.quiet,
            verbose=opts.verbose,
            command_prefix=command_prefix(opts, self.environ),
        )
        self._clients = None
        _CURRENT.set(self)

    @property
    def emulator_host(self) -> str | None:
        from thothctl.config import emulator_host

        return emulator_host(self.environ)  # "" or not HOST:PORT: refused (never real Google)

    @property
    def emulated(self) -> bool:
        return self.opts.emulator or bool(self.emulator_host)

    @property
    def can_prompt(self) -> bool:
        if self.opts.no_input or self.environ.get("CI", "").lower() in ("1", "true", "yes"):
            return False
        try:
            return sys.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    @cached_property
    def config(self) -> Config:
        from thothctl.config import load_config, refuse_empty_inputs

        refuse_empty_inputs(
            {"--impersonate-service-account": self.opts.impersonate_service_account},
            self.environ,
            emulated=self.emulated,
        )
        cfg = load_config(
            config_path=self.opts.config,
            env_name=self.opts.env,
            flags={"project": self.opts.project, "region": self.opts.region},
            environ=self.environ,
            emulator=self.emulated,
        )
        if cfg.config_file:
            self.out.verbose(f"config file {cfg.config_file}")
        return cfg

    @cached_property
    def project(self) -> str:
        cfg = self.config
        if cfg.project:
            self.out.verbose(f"project {cfg.project} (from {cfg.source_of('project')})")
            return cfg.project
        from thothctl.clients import adc_project

        project = adc_project()
        if project:
            cfg.project = project
            cfg.sources["project"] = "ADC"
            self.out.verbose(f"project {project} (from application default credentials)")
            return project
        raise UsageError(
            "no Google Cloud project given",
            hint='pass --project, set THOTHCTL_PROJECT, put project = "..." in thothctl.toml, '
            "or run `gcloud config set project PROJECT`",
        )

    @property
    def clients(self) -> Any:
        if self._clients is None:
            from thothctl.clients import Clients, ClientSettings

            if self.opts.transport not in ("grpc", "rest"):
                raise UsageError(f"--transport {self.opts.transport!r} is not one of grpc, rest")
            settings = ClientSettings(
                project=self.project,
                region=self.config.region,
                transport=self.opts.transport,
                impersonate_service_account=self.opts.impersonate_service_account,
                access_token_file=self.opts.access_token_file,
                quota_project=self.environ.get("THOTHCTL_QUOTA_PROJECT")
                or self.environ.get("GOOGLE_CLOUD_QUOTA_PROJECT"),
                emulator_host=self.emulator_host,
                embedded_emulator=self.opts.emulator and not self.emulator_host,
                emulator_data=self.environ.get("THOTHCTL_EMULATOR_DATA"),
                emulator_idle_timeout=self.environ.get("THOTHCTL_EMULATOR_IDLE_TIMEOUT"),
                environ=self.environ,
            )
            if settings.emulator_host:
                self.out.verbose(f"emulator at {settings.emulator_host}")
            elif settings.embedded_emulator:
                self.out.verbose("the local emulator (a daemon; `thothctl emulator status`)")
            tracer = self.out.verbose if self.opts.verbose else None
            self._clients = Clients(settings, tracer=tracer)
        return self._clients

    def confirm(self, question: str, default: bool = False) -> bool:
        return self.out.confirm(
            question, can_prompt=self.can_prompt, assume_yes=self.opts.yes, default=default
        )

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()
            self._clients = None


def get_ctx(ctx: typer.Context) -> AppContext:
    """The invocation's AppContext, set by the root callback (``thothctl.cli.root``)."""
    return ctx.find_root().obj
