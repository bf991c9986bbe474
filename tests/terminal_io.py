"""Reading what a real thothctl process writes to a pipe or a pseudo-terminal, for the tests that
drive one (signals, prompts): importable from every test folder (tests/ is on sys.path through
its conftest)."""

from __future__ import annotations

import os
import select
import time


def read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    """Everything read from ``fd`` until ``needle`` shows up, the stream ends, or ``timeout``."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf
