"""Fixtures of the reliability suite (helpers live in reliability_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reliability_helpers import OnMutatingCall


@pytest.fixture
def on_mutating_call(emulator, monkeypatch):
    def install(
        n: int, action: Callable[[str], None], apply: bool = True, method: str = "*"
    ) -> OnMutatingCall:
        hook = OnMutatingCall(emulator, n, action, apply, method)
        monkeypatch.setattr(emulator, "faults", hook)
        return hook

    return install


@pytest.fixture
def fast_emulator(enabled_apis):
    """Short operations and a scheduler that does not fire on its own."""
    enabled_apis.operation_ms = 20
    ops = enabled_apis.control_ops()
    if "scheduler_config" in ops:
        ops["scheduler_config"]({"auto": False, "time_scale": 0.01})
    return enabled_apis
