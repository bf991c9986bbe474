"""The daemon process behind ``thothctl --emulator`` (``python -m thothctl.emulator.daemon_main``,
started by :func:`thothctl.emulator.daemon.ensure`).

It forks once more (the launcher exits, with how starting went, as soon as the emulator serves, so
nobody waits on the daemon), takes the state file's lock, serves the state file on loopback ports,
publishes its status record, and serves until its idle timeout passes without a call (unless a
job's execution is in flight), until SIGTERM/SIGINT/SIGHUP, or until the control op ``shutdown``.
It writes nothing but its log (stderr, which the launcher pointed at ``STATE.log``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from typing import Any

from thothctl.emulator.daemon import (
    DEFAULT_IDLE_TIMEOUT_S,
    EXIT_HELD,
    EXIT_STATE,
    IDLE_GRACE_S,
    StateLock,
    build_id,
    record_of,
    token_file,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thothctl.emulator.daemon_main")
    parser.add_argument("--data", required=True)
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S)
    parser.add_argument("--build", default=None)
    args = parser.parse_args(argv)
    read, write = os.pipe()
    if os.fork():  # the launcher: exit once the daemon serves, with how it went
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            answer = pipe.read().decode(errors="replace")
        return int(answer) if answer.isdigit() else 1
    os.close(read)
    report = _Report(write)
    code = 1
    try:
        code = _daemon(args, report)
    finally:
        report(code)
    return code


class _Report:
    """Tells the launcher, once, how starting went (an exit code), then closes the pipe."""

    def __init__(self, fd: int):
        self._fd: int | None = fd

    def __call__(self, code: int) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.write(fd, str(code).encode())
        os.close(fd)


def _log(message: str) -> None:
    """A line in the daemon's log file (its stderr)."""
    import logging

    logging.getLogger("thothctl.emulator.daemon").warning(message)


def _daemon(args: argparse.Namespace, ready: _Report) -> int:
    """Serve the state file until idle, stopped or signalled. Reports to ``ready`` once serving."""
    import logging

    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s [{os.getpid()}] %(name)s: %(message)s"
    )
    lock = StateLock(args.data)
    if not lock.acquire():
        _log(f"another emulator serves {args.data}")
        return EXIT_HELD
    try:
        emu = _start(args)
    except _StartError as exc:
        lock.release()
        _log(f"error: {exc}")
        return exc.code
    build = args.build or build_id()
    lock.publish(record_of(emu, build, args.idle_timeout))
    emu.activity.touch()  # idle from now, not from before it served
    _log(f"serving {args.data} on {emu.address} (REST {emu.rest_address}), build {build}")
    ready(0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *a: emu.shutdown_requested.set())
    try:
        reason = _serve(emu, lock, build, args.idle_timeout)
        _log(f"stopping: {reason}")
    finally:
        lock.withdraw()
        emu.stop()
        lock.release()
    return 0


class _StartError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _start(args: argparse.Namespace) -> Any:
    try:
        from thothctl.emulator.server import Emulator
        from thothctl.emulator.store import StateFileError

        try:
            emu = Emulator(data_file=args.data)
        except StateFileError as exc:
            raise _StartError(str(exc), EXIT_STATE) from None
        emu.start("127.0.0.1", 0)
        token_file(args.data)
        return emu
    except _StartError:
        raise
    except Exception as exc:
        import logging

        logging.getLogger("thothctl.emulator.daemon").exception("the emulator failed to start")
        raise _StartError(f"{type(exc).__name__}: {exc}", 1) from None


def _busy(emu: Any) -> bool:
    """A job's execution is in flight, or one is due: the daemon is not idle."""
    for svc in emu.services:
        executor = getattr(svc, "executor", None)
        if executor is not None and executor.running():
            return True
    return False


def _serve(emu: Any, lock: StateLock, build: str, idle_timeout_s: float) -> str:
    """Wait until stopped, or idle for ``idle_timeout_s`` (0: never). Returns why it ended."""
    while True:
        if idle_timeout_s <= 0:
            if emu.shutdown_requested.wait(3600):
                return "stop requested"
            continue
        idle = 0.0 if _busy(emu) else emu.activity.idle_for()
        if idle < idle_timeout_s:
            if emu.shutdown_requested.wait(idle_timeout_s - idle):
                return "stop requested"
            continue
        lock.withdraw()  # new callers wait for a new daemon; one that just read the record...
        if emu.shutdown_requested.wait(IDLE_GRACE_S):
            return "stop requested"
        if emu.activity.idle_for() >= IDLE_GRACE_S and not _busy(emu):
            return f"idle for {idle_timeout_s:g} s"
        lock.publish(record_of(emu, build, idle_timeout_s))  # ...was served: keep going


if __name__ == "__main__":
    sys.exit(main())
