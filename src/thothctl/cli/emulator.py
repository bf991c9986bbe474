"""`thothctl emulator`: run the local emulator and steer it (faults, call log)."""

from __future__ import annotations

import contextlib
from typing import Any

import typer

from thothctl.cli.context import get_ctx
from thothctl.errors import OperationError, UsageError
from thothctl.output import CUT, Column, plural

app = typer.Typer(
    help="Run the local emulator of the Google APIs and control its faults and call log.\n\n"
    "Any `thothctl --emulator` command starts your local emulator (a daemon) when none runs; "
    "control commands steer it with --emulator, or the one at $THOTHCTL_EMULATOR_HOST.\n\n"
    "Examples:\n"
    '  eval "$(thothctl emulator env-init)"\n'
    "  thothctl emulator status\n"
    "  thothctl --emulator emulator calls -o json\n"
    "  thothctl emulator serve --port 8085",
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
    rest_port: int | None = typer.Option(
        None,
        "--rest-port",
        min=0,
        max=65535,
        help="Port of Google's REST (HTTP/JSON) surface, for gcloud, curl and --transport rest "
        "(default: --port + 1; any free port with --port 0).",
        show_default=False,
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Persist state to this file (SQLite; survives restarts and kill -9). One emulator "
        "per file: a second one refuses to start.",
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
    from thothctl.emulator import daemon
    from thothctl.emulator.faults import FaultConfig

    faults = FaultConfig(
        **_fault_args(latency_ms, fail_rate, fail_code, lost_rate, fault_methods, fault_seed)
    )
    out = get_ctx(ctx).out
    with contextlib.ExitStack() as stack:
        lock = _daemon(stack.enter_context, daemon.serving_lock(data)) if data else None
        rest = rest_port if rest_port is not None else (port + 1 if port else 0)
        emu = _started(
            host, port, data, rest, seed=not no_seed, operation_ms=operation_ms, faults=faults
        )
        if lock is not None:
            daemon.publish_serving(lock, emu)
        if out.json_mode:
            out.json_line({**emu.info(), "address": emu.address})
        else:
            out.line(f"thothctl emulator listening on {emu.address} (REST: {emu.rest_address})")
            out.info(f"Its state is kept in {data}." if data else "Its state is in memory only.")
            out.info("Point another shell at it, then Ctrl-C here stops it:")
            out.info(f"  export THOTHCTL_EMULATOR_HOST={emu.address}")
        emu.serve_until_interrupted()
    out.info("emulator stopped")


def _started(host: str, port: int, data: str | None, rest_port: int = 0, **options: Any) -> Any:
    """An Emulator serving on ``host:port``; a state file or an address it cannot use is a
    usage error (one line, nothing written)."""
    from thothctl.emulator.server import Emulator
    from thothctl.emulator.store import StateFileError

    try:
        emu = Emulator(data_file=data, **options)
    except StateFileError as exc:
        raise UsageError(str(exc), hint="move the file away, or pass another --data") from None
    try:
        emu.start(host, port, rest_port=rest_port)
    except (OSError, RuntimeError) as exc:
        emu.stop()
        raise UsageError(
            f"cannot start the emulator on {host}:{port} (REST {rest_port}): {exc}",
            hint="choose another --port or --rest-port (0: any free one)",
        ) from None
    return emu


def _daemon(fn: Any, *args: Any) -> Any:
    """Call into thothctl.emulator.daemon; its errors become thothctl's."""
    from thothctl.emulator.daemon import DaemonError

    try:
        return fn(*args)
    except DaemonError as exc:
        raise (UsageError if exc.usage else OperationError)(exc.message, hint=exc.hint) from None


def _local_data(ctx: typer.Context) -> str:
    """The user's state file: THOTHCTL_EMULATOR_DATA, else the one in the user state directory."""
    from thothctl.emulator import daemon

    return get_ctx(ctx).environ.get("THOTHCTL_EMULATOR_DATA") or daemon.default_data_file()


def _local(ctx: typer.Context, idle_timeout: str | None = None) -> Any:
    """The record of the user's local emulator, started (detached) when none runs."""
    from thothctl.clients import local_emulator

    environ = get_ctx(ctx).environ
    return local_emulator(
        _local_data(ctx), idle_timeout or environ.get("THOTHCTL_EMULATOR_IDLE_TIMEOUT")
    )


def _target(ctx: typer.Context, host: str | None) -> str:
    """The emulator a control command steers: --host-addr / $THOTHCTL_EMULATOR_HOST, else with
    --emulator the local one (started when none runs), else none ("" : the control client says
    what to do)."""
    if host:
        return host
    return _local(ctx).address if get_ctx(ctx).opts.emulator else ""


def _call(ctx: typer.Context, host: str | None, op: str, **args: Any) -> Any:
    """One control-plane operation on the emulator ``_target`` picks; its errors become
    thothctl's."""
    from thothctl.emulator import control

    try:
        return control.call(_target(ctx, host), op, **args)
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
    result = _call(ctx, host, "faults_set", **args)
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
    _call(ctx, host, "faults_clear")
    out = get_ctx(ctx).out
    out.emit({"cleared": True}, lambda: out.success("faults cleared"))


@faults_app.command("show")
def faults_show(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Show the running emulator's faults and how many were injected.

    The counters say how many calls failed before applying and how many responses were lost since
    the faults were last set.

    Example: thothctl emulator faults show -o json
    """
    result = _call(ctx, host, "faults_get")
    out = get_ctx(ctx).out
    out.emit(result, lambda: out.fields([(k, v) for k, v in result.items()]))


@app.command("calls")
def calls(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """List the calls the running emulator has served (method, status, ms, mutating).

    Every RPC is recorded with its gRPC method, status code, duration, whether it mutates state, and
    any injected fault; benchmarks compute critical paths from it.

    Example: thothctl emulator calls -o json | jq 'map(select(.mutating)) | length'
    """
    result = _call(ctx, host, "calls")
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
    _call(ctx, host, "reset_calls")
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
    result = _call(ctx, host, "stub_behave", status=status, delay_s=delay, times=times)
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
    result = _call(ctx, host, "stub_requests")
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
    _call(ctx, host, "stub_reset")
    out = get_ctx(ctx).out
    out.emit({"reset": True}, lambda: out.success("stub reset"))


# --- the local emulator: status, start, stop, env-init ---------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if not seconds:
        return "never" if seconds == 0 else "0s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
    )


@app.command("status")
def status(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Show the emulator: address, state file, uptime, scheduled jobs and the next fire.

    Without $THOTHCTL_EMULATOR_HOST it is your local emulator, the daemon serving your state file
    ($THOTHCTL_EMULATOR_DATA, else the user state directory); exits 1 when none runs.

    Example: thothctl emulator status -o json
    """
    from thothctl.emulator import daemon

    if host:
        result = {"running": True, **_call(ctx, host, "status")}
    else:
        data = _local_data(ctx)
        result = _daemon(daemon.describe, data) or {"running": False, "data_file": data}
    out = get_ctx(ctx).out

    def human() -> None:
        if not result["running"]:
            out.line(f"no emulator is running for {result['data_file']}")
            out.info("any `thothctl --emulator` command starts one (or `thothctl emulator start`)")
            return
        if result.get("stale"):
            out.warn(
                f"it was started by another thothctl build ({result.get('version')}); the next "
                "`thothctl --emulator` command replaces it"
            )
        nxt = result.get("next_fire")
        out.fields(
            [
                ("address", result.get("address", "")),
                ("REST address", result.get("rest_address") or ""),
                ("state file", result.get("data_file") or "(in memory)"),
                ("pid", result.get("pid", "")),
                ("mode", result.get("mode", "")),
                ("uptime", _duration(result.get("uptime_s"))),
                ("idle timeout", _duration(result.get("idle_timeout_s"))),
                ("open streams", result.get("streams", "")),
                ("jobs scheduled", result.get("jobs_scheduled", "")),
                ("next fire", f"{nxt} ({result.get('next_job')})" if nxt else "none"),
                ("log", result.get("log_file") or ""),
            ]
        )

    out.emit(result, human)
    if not result["running"]:
        raise typer.Exit(1)


@app.command("start")
def start(
    ctx: typer.Context,
    idle_timeout: str | None = typer.Option(
        None,
        "--idle-timeout",
        help="Stop after this long without a call (e.g. 30m, 2h; 0: never). Default "
        "$THOTHCTL_EMULATOR_IDLE_TIMEOUT, else 2h.",
        show_default=False,
    ),
) -> None:
    """Start your local emulator in the background (a daemon), unless it runs already.

    Any `thothctl --emulator` command does this too. The daemon serves your state file until it
    has been idle for the idle timeout, or until `thothctl emulator stop`.

    Example: thothctl emulator start --idle-timeout 8h
    """
    record = _local(ctx, idle_timeout)
    out = get_ctx(ctx).out
    out.emit(
        record.to_json(),
        lambda: (
            out.success(f"emulator serving {record.data_file} at {record.address}"),
            out.info('point gcloud and thothctl at it: `eval "$(thothctl emulator env-init)"`'),
        ),
    )


@app.command("stop")
def stop(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Stop the emulator (its state stays in its state file).

    Without $THOTHCTL_EMULATOR_HOST it stops your local emulator; stopping one that does not run
    is not an error.

    Example: thothctl emulator stop
    """
    from thothctl.emulator import control, daemon

    out = get_ctx(ctx).out
    if host:
        try:
            result = {"stopped": True, **control.shutdown(host)}
        except control.ControlError as exc:
            raise (UsageError if exc.usage else OperationError)(
                exc.message, hint=exc.hint
            ) from None
    else:
        data = _local_data(ctx)
        record = _daemon(daemon.stop, data)
        result = {"stopped": record is not None, "data_file": data}
        if record is not None:
            result.update(pid=record.pid, address=record.address)
    out.emit(
        result,
        lambda: (
            out.success(f"stopped the emulator at {result['address']} (pid {result['pid']})")
            if result["stopped"]
            else out.info(f"no emulator was running for {result['data_file']}")
        ),
    )


@app.command("env-init")
def env_init(ctx: typer.Context, host: str | None = _HOST_OPT) -> None:
    """Print the shell exports that point thothctl and gcloud at the emulator.

    THOTHCTL_EMULATOR_HOST for thothctl; for gcloud, CLOUDSDK_API_ENDPOINT_OVERRIDES_* (Secret
    Manager, Cloud Scheduler, Cloud Run, IAM, Service Usage, Logging) at its REST address, a dummy
    access token file, the project, and settings that keep gcloud offline. Starts your local
    emulator when none runs (or uses the one at $THOTHCTL_EMULATOR_HOST).

    Example: thothctl emulator env-init (in a shell: eval "$(thothctl emulator env-init)")
    """
    import shlex

    from thothctl.emulator import daemon

    app_ctx = get_ctx(ctx)
    if host:
        st = _call(ctx, host, "status")
        address, rest, data = host, st.get("rest_address"), st.get("data_file")
    else:
        record = _local(ctx)
        address, rest, data = record.address, record.rest_address, record.data_file
    env = daemon.exports(address, rest, data, app_ctx.opts.project)
    out = app_ctx.out
    out.emit(env, lambda: [out.line(f"export {k}={shlex.quote(v)}") for k, v in env.items()])
