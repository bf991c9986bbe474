"""`thothctl emulator`: run the local emulator and steer it (faults, call log)."""

from __future__ import annotations

import os
from typing import Any

import typer

import thothctl.cli.emulator_gitlab as emulator_gitlab
from thothctl.cli.context import get_ctx
from thothctl.errors import OperationError, UsageError
from thothctl.output import CUT, Column, plural

app = typer.Typer(
    help="Run the local emulator of the Google APIs and control its faults and call log.\n\n"
    "Examples: thothctl emulator serve --port 8085 · thothctl emulator calls -o json",
    no_args_is_help=True,
)
faults_app = typer.Typer(
    help="Inject latency and errors into a running emulator.\n\n"
    "Examples:\n"
    "  thothctl emulator faults set --fail-rate 0.3 --fault-seed 7\n"
    "  thothctl emulator faults clear",
    no_args_is_help=True,
)
app.add_typer(faults_app, name="faults")
app.add_typer(emulator_gitlab.app, name="gitlab")

_HOST_OPT = typer.Option(
    None,
    "--host-addr",
    envvar="THOTHCTL_EMULATOR_HOST",
    help="Emulator address (host:port).",
    show_default=False,
)


def _fault_args(
    latency_ms, fail_rate, fail_code, lost_rate, fault_methods, fault_seed, **shape
) -> dict:
    """The fault settings given on the command line (validated), without the ones left out.
    ``shape``: fail_shape and retry_delay_s (`faults set` only)."""
    from thothctl.emulator.faults import SHAPES, FaultConfig

    given = {
        "latency_ms": latency_ms,
        "fail_rate": fail_rate,
        "fail_code": fail_code.upper() if fail_code else None,
        "lost_rate": lost_rate,
        "methods": fault_methods,
        "seed": fault_seed,
        **shape,
    }
    implied = SHAPES.get(shape.get("fail_shape") or "plain")
    if implied and given["fail_code"] and given["fail_code"] != implied:
        raise UsageError(
            f"--fail-shape {shape['fail_shape']} answers {implied}; --fail-code "
            f"{given['fail_code']} contradicts it",
            hint="leave --fail-code out, or use --fail-shape plain",
        )
    args = {k: v for k, v in given.items() if v is not None}
    try:
        FaultConfig(**args).validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return args


LATENCY = typer.Option(
    None, "--latency-ms", min=0, help="Added latency per call, ms.", show_default=False
)


def _rate_option(flag: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(None, flag, min=0.0, max=1.0, help=help, show_default=False)


FAIL_RATE = _rate_option("--fail-rate", "Share of calls failing before they apply.")
FAIL_CODE = typer.Option(
    None,
    "--fail-code",
    help="gRPC status for injected failures (default UNAVAILABLE).",
    show_default=False,
)
LOST_RATE = _rate_option("--lost-rate", "Share of calls applied whose response is then lost.")
METHODS = typer.Option(
    None,
    "--fault-methods",
    help="Glob(s) of methods the faults apply to, e.g. '*AddSecretVersion'.",
    show_default=False,
)
SEED = typer.Option(
    None, "--fault-seed", help="Random seed for reproducible faults.", show_default=False
)
SHAPE = typer.Option(
    None,
    "--fail-shape",
    help="What an injected failure looks like: plain (--fail-code, default), or the error Google "
    "sends: service-disabled, billing, quota (with a retry delay), org-policy (on a grant), "
    "auth-expired, auth-revoked (token refresh refused).",
    show_default=False,
)
RETRY_DELAY = typer.Option(
    None,
    "--retry-delay",
    min=0.0,
    max=3600.0,
    help="Seconds the quota shape asks clients to wait (RetryInfo; default 1).",
    show_default=False,
)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (loopback by default)."
    ),
    port: int = typer.Option(8085, "--port", min=0, max=65535, help="Port (0: any free port)."),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Persist state to this JSON file (survives restarts).",
        show_default=False,
    ),
    no_seed: bool = typer.Option(
        False, "--no-seed", help="Start without the seeded Cloud Run service and runtime account."
    ),
    operation_ms: int = typer.Option(
        500, "--operation-ms", min=0, help="How long long-running operations take, ms."
    ),
    latency_ms: float | None = LATENCY,
    fail_rate: float | None = FAIL_RATE,
    fail_code: str | None = FAIL_CODE,
    lost_rate: float | None = LOST_RATE,
    fault_methods: str | None = METHODS,
    fault_seed: int | None = SEED,
) -> None:
    """Serve the emulated Google APIs over gRPC until interrupted.

    Seeded with project thoth-local, its Cloud Run service thoth-mcp-server (us-central1) and the
    runtime service account. Point thothctl at it with THOTHCTL_EMULATOR_HOST=HOST:PORT.

    Example: thothctl emulator serve --port 8085 --data ./emulator.json
    """
    from thothctl.emulator.faults import FaultConfig
    from thothctl.emulator.server import Emulator

    faults = FaultConfig(
        **_fault_args(latency_ms, fail_rate, fail_code, lost_rate, fault_methods, fault_seed)
    )
    out = get_ctx(ctx).out
    try:
        emu = Emulator(data_file=data, seed=not no_seed, operation_ms=operation_ms, faults=faults)
        bound = emu.start(host, port)
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot start the emulator on {host}:{port}: {exc}") from None
    address = f"{host}:{bound}"
    if out.json_mode:
        out.json_line({"address": address, **emu.info()})
    else:
        out.line(f"thothctl emulator listening on {address}")
        out.info(f"export THOTHCTL_EMULATOR_HOST={address}")
        if data:
            out.info(f"state persists in {data}")
    emu.serve_until_interrupted()
    out.info("emulator stopped")


def _call(host: str | None, op: str, **args: Any) -> Any:
    """One control-plane operation on the running emulator; its errors become thothctl's."""
    from thothctl.emulator import control

    try:
        return control.call(host or os.environ.get("THOTHCTL_EMULATOR_HOST", ""), op, **args)
    except control.ControlError as exc:
        raise (UsageError if exc.usage else OperationError)(exc.message, hint=exc.hint) from None


@faults_app.command("set")
def faults_set(
    ctx: typer.Context,
    latency_ms: float | None = LATENCY,
    fail_rate: float | None = FAIL_RATE,
    fail_code: str | None = FAIL_CODE,
    lost_rate: float | None = LOST_RATE,
    fault_methods: str | None = METHODS,
    fault_seed: int | None = SEED,
    fail_shape: str | None = SHAPE,
    retry_delay: float | None = RETRY_DELAY,
    host: str | None = _HOST_OPT,
) -> None:
    """Replace the running emulator's faults.

    Faults apply to the methods matching --fault-methods (globs on the full method name, the
    Service/Method or the bare method). --fail-rate fails calls before they apply; --lost-rate
    applies them and then fails the response. --fault-seed makes the draws reproducible.
    --fail-shape makes a failure the error Google really sends, with its details.

    Example: thothctl emulator faults set --fail-rate 0.3 --fault-seed 7

    Example: thothctl emulator faults set --fail-rate 1 --fail-shape quota --retry-delay 30
    """
    args = _fault_args(
        latency_ms,
        fail_rate,
        fail_code,
        lost_rate,
        fault_methods,
        fault_seed,
        fail_shape=fail_shape.lower() if fail_shape else None,
        retry_delay_s=retry_delay,
    )
    result = _call(host, "faults_set", **args)
    out = get_ctx(ctx).out
    out.emit(
        result,
        lambda: out.success("faults set: " + ", ".join(f"{k}={v}" for k, v in result.items())),
    )


@faults_app.command("clear")
def faults_clear(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Remove every injected fault.

    Latency, error rates and lost responses all go back to zero; the call log is kept.

    Example: thothctl emulator faults clear
    """
    _call(host, "faults_clear")
    out = get_ctx(ctx).out
    out.emit({"cleared": True}, lambda: out.success("faults cleared"))


@faults_app.command("show")
def faults_show(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Show the running emulator's faults and how many were injected.

    The counters say how many calls failed before applying and how many responses were lost since
    the faults were last set.

    Example: thothctl emulator faults show -o json
    """
    result = _call(host, "faults_get")
    out = get_ctx(ctx).out
    out.emit(result, lambda: out.fields([(k, v) for k, v in result.items()]))


@app.command("calls")
def calls(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """List the calls the running emulator has served (method, status, ms, mutating).

    Every RPC is recorded with its gRPC method, status code, duration, whether it mutates state, and
    any injected fault; benchmarks compute critical paths from it.

    Example: thothctl emulator calls -o json | jq 'map(select(.mutating)) | length'
    """
    result = _call(host, "calls")
    out = get_ctx(ctx).out
    out.emit(
        result,
        lambda: out.table(
            [Column("METHOD"), Column("CODE"), Column("MS"), Column("MUTATING", drop=1)],
            [[c["method"], c["code"], f"{c['ms']:.1f}", c["mutating"]] for c in result],
            empty="no calls recorded",
        ),
    )


@app.command("reset-calls")
def reset_calls(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Empty the running emulator's call log.

    Use it before a command to see exactly the calls that command makes.

    Example: thothctl emulator reset-calls
    """
    _call(host, "reset_calls")
    out = get_ctx(ctx).out
    out.emit({"reset": True}, lambda: out.success("call log emptied"))


stub_app = typer.Typer(
    help="Steer the stub sync service behind the seeded thoth-mcp-server URL.\n\n"
    "Examples:\n"
    "  thothctl emulator stub set --status 503\n"
    "  thothctl emulator stub requests",
    no_args_is_help=True,
)
app.add_typer(stub_app, name="stub")


@stub_app.command("set")
def stub_set(
    ctx: typer.Context,
    status: int = typer.Option(200, "--status", min=100, max=599, help="HTTP status to answer."),
    delay: float = typer.Option(0.0, "--delay", min=0.0, help="Seconds to wait before answering."),
    times: int | None = typer.Option(
        None, "--times", min=1, help="Only the next N requests (default: all).", show_default=False
    ),
    host: str | None = _HOST_OPT,
) -> None:
    """Make the stub sync service answer slowly or with an error.

    Examples:
      thothctl emulator stub set --status 503 --times 2
      thothctl emulator stub set --delay 5
    """
    result = _call(host, "stub_behave", status=status, delay_s=delay, times=times)
    out = get_ctx(ctx).out
    out.emit(
        result,
        lambda: out.success(
            f"stub answers {status} after {delay:g}s"
            + (f" for {plural(times, 'request')}" if times else "")
        ),
    )


@stub_app.command("requests")
def stub_requests(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """List the requests the stub sync service received (method, path, status, caller).

    Example: thothctl emulator stub requests -o json
    """
    result = _call(host, "stub_requests")
    out = get_ctx(ctx).out

    def human() -> None:
        import datetime as dt

        from thothctl.output import iso

        rows = [
            [
                iso(dt.datetime.fromtimestamp(r["time"], dt.UTC)) if r.get("time") else "",
                r.get("method", ""),
                r.get("path", ""),
                r.get("status", ""),
                r.get("email") or r.get("reason", ""),
            ]
            for r in result
        ]
        out.table(
            [
                Column("TIME", drop=2),
                Column("METHOD"),
                Column("PATH", fit=CUT),
                Column("STATUS"),
                Column("CALLER", drop=1, fit=CUT),
            ],
            rows,
            empty="No requests yet.",
        )

    out.emit(result, human)


@stub_app.command("reset")
def stub_reset(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Forget the recorded requests and answer 200 again.

    Example: thothctl emulator stub reset
    """
    _call(host, "stub_reset")
    out = get_ctx(ctx).out
    out.emit({"reset": True}, lambda: out.success("stub reset"))
