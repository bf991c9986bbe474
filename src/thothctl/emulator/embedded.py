"""The embedded emulator behind ``thothctl --emulator``, shared between concurrent invocations.

The first ``--emulator`` process to need it takes an exclusive lock next to the state file, starts
an in-process emulator on a loopback port and publishes that address in the lock file. Another
``--emulator`` process that starts meanwhile (``logs -f`` in one terminal, ``jobs run`` in
another) finds the lock held and talks to that emulator instead of starting a second one over
the same state file, whose writes would overwrite each other. The kernel releases the lock when
the owner exits, even by SIGKILL, so a stale lock never blocks anyone.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WAIT_FOR_ADDRESS_S = 10.0


class EmbeddedEmulatorError(Exception):
    """Another invocation holds the lock but never published its emulator's address."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class EmbeddedEmulator:
    address: str
    owner: bool
    emulator: Any = None
    _fd: int | None = None

    def close(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                _unlock(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _start(data_file: str) -> Any:
    from thothctl.emulator.server import Emulator

    emu = Emulator(data_file=data_file)
    emu.start("127.0.0.1", 0)
    return emu


def attach_or_start(data_file: str) -> EmbeddedEmulator:
    """Talk to the emulator another invocation is running on this state file, or start one."""
    try:
        import fcntl  # noqa: F401 - POSIX only; elsewhere every invocation runs its own
    except ImportError:
        emu = _start(data_file)
        return EmbeddedEmulator(emu.address, owner=True, emulator=emu)

    lock_path = Path(f"{data_file}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    if _try_lock(fd):
        try:
            emu = _start(data_file)
        except BaseException:
            _unlock(fd)
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, emu.address.encode(), 0)
        return EmbeddedEmulator(emu.address, owner=True, emulator=emu, _fd=fd)
    try:
        deadline = time.monotonic() + WAIT_FOR_ADDRESS_S
        while time.monotonic() < deadline:
            address = os.pread(fd, 256, 0).decode(errors="replace").strip()
            if address:
                return EmbeddedEmulator(address, owner=False)
            if _try_lock(fd):  # the owner went away before publishing: take over
                _unlock(fd)
                os.close(fd)
                fd = -1
                return attach_or_start(data_file)
            time.sleep(0.05)
    finally:
        if fd >= 0:
            os.close(fd)
    raise EmbeddedEmulatorError(
        f"another thothctl --emulator process holds {lock_path} but published no address",
        hint="wait for it to finish, or share one emulator with `thothctl emulator serve`",
    )
