"""Deferred module imports for the CLI layer.

``lib = lazy("thothctl.secrets")`` binds a name now and imports the module on first attribute
access, so building the command tree (``--help``, completion) does not pay for library modules a
command only needs when it runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded"
        return f"<lazy module {self._name} ({state})>"


def lazy(name: str) -> Any:
    return _LazyModule(name)
