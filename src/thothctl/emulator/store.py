"""The emulator's one state store: in memory, optionally persisted to a JSON file.

Tables are plain dicts keyed by resource name. Values may be proto-plus messages, raw protobuf
messages, bytes, or JSON values (nested dicts/lists). Every access happens under ``store.lock``
(the dispatcher holds it for each unary RPC). Persistence is debounced: mutations mark the store
dirty and a background thread writes the file atomically; ``flush()`` writes at once.

Messages are saved under their proto full name (``google.cloud.secretmanager.v1.Secret``), never
a Python class path, and read back through the protobuf descriptor pool and the registry of
proto-plus types the services declare (``EmulatedService.stored_types``): loading never imports
a module named in the file. Files of format 1 (which named Python classes) are still read, for
the classes the registry knows (docs/emulator.md, "State file").
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


class StateFileError(RuntimeError):
    """The state file cannot be read (unreadable JSON, or a message type the emulator does not
    know)."""


class TypeRegistry:
    """Proto-plus wrapper classes by proto full name, and (for format 1 files) the full names of
    known classes by their old ``module:qualname`` path."""

    def __init__(self) -> None:
        self.wrappers: dict[str, type] = {}
        self.legacy: dict[str, str] = {}

    def register(self, cls: type) -> None:
        raw = cls.pb() if _is_plus_class(cls) else cls
        full_name = raw.DESCRIPTOR.full_name
        if raw is not cls:
            self.wrappers[full_name] = cls
        for known in (cls, raw):
            self.legacy[f"{known.__module__}:{known.__qualname__}"] = full_name

    def encode(self, value: Any) -> dict[str, str] | None:
        """The JSON form of a message, or None when ``value`` is not one."""
        from google.protobuf.message import Message as PbMessage

        if isinstance(value, PbMessage):
            return {"$pb": value.DESCRIPTOR.full_name, "b64": _b64(value.SerializeToString())}
        cls = type(value)
        if _is_plus_class(cls) and hasattr(value, "_pb"):
            self.register(cls)
            raw = cls.pb(value)
            return {"$proto": raw.DESCRIPTOR.full_name, "b64": _b64(raw.SerializeToString())}
        return None

    def decode(self, kind: str, name: str, data: str) -> Any:
        if ":" in name:  # format 1: a Python class path
            if name not in self.legacy:
                raise StateFileError(f"unknown message class {name!r}")
            name = self.legacy[name]
        raw = _message_class(name).FromString(base64.b64decode(data))
        if kind == "$pb":
            return raw
        wrapper = self.wrappers.get(name)
        if wrapper is None:
            raise StateFileError(f"no emulated service stores {name!r}")
        return wrapper.wrap(raw)


def _is_plus_class(cls: type) -> bool:
    return callable(getattr(cls, "pb", None)) and hasattr(cls, "wrap")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _message_class(full_name: str) -> Any:
    from google.protobuf import descriptor_pool, message_factory

    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise StateFileError(f"unknown message type {full_name!r}") from None
    return message_factory.GetMessageClass(descriptor)


class Store:
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path else None
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Any]] = {}
        self.types = TypeRegistry()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    def table(self, name: str) -> dict[str, Any]:
        with self.lock:
            tbl = self.tables.get(name)
            if tbl is None:
                tbl = self.tables[name] = {}
            return tbl

    def next_id(self, counter: str) -> int:
        with self.lock:
            counters = self.table("_counters")
            counters[counter] = counters.get(counter, 0) + 1
            return counters[counter]

    # --- encoding ------------------------------------------------------------------------
    def _encode(self, value: Any) -> Any:
        message = self.types.encode(value)
        if message is not None:
            return message
        if isinstance(value, bytes | bytearray):
            return {"$bytes": _b64(bytes(value))}
        if isinstance(value, dict):
            return {str(k): self._encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._encode(v) for v in value]
        if isinstance(value, set | frozenset):
            return {"$set": [self._encode(v) for v in sorted(value)]}
        return value

    def _decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            for kind in ("$pb", "$proto"):
                if kind in value:
                    return self.types.decode(kind, value[kind], value["b64"])
            if "$bytes" in value:
                return base64.b64decode(value["$bytes"])
            if "$set" in value:
                return {self._decode(v) for v in value["$set"]}
            return {k: self._decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        return value

    # --- persistence ---------------------------------------------------------------------
    def load(self) -> bool:
        """Load the file if it exists. Returns whether state was loaded."""
        if not self.path or not self.path.exists():
            return False
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise StateFileError(f"cannot read emulator state {self.path}: {exc}") from None
        if raw.get("version") not in READABLE_VERSIONS:
            return False
        try:
            tables = {name: self._decode(tbl) for name, tbl in raw.get("tables", {}).items()}
        except StateFileError as exc:
            raise StateFileError(f"cannot read emulator state {self.path}: {exc}") from None
        with self.lock:
            self.tables = tables
        return True

    def touch(self) -> None:
        if self.path:
            self._dirty.set()

    def flush(self) -> None:
        if not self.path:
            return
        with self.lock:
            data = {"version": FORMAT_VERSION, "tables": self._encode(self.tables)}
            self._dirty.clear()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".emulator-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def start_flusher(self, interval: float = 0.2) -> None:
        if not self.path or self._flusher is not None:
            return

        def loop():
            while not self._stop.is_set():
                if self._dirty.wait(interval) and not self._stop.is_set():
                    self._stop.wait(interval)  # debounce bursts
                    self.flush()

        self._flusher = threading.Thread(target=loop, name="emulator-flusher", daemon=True)
        self._flusher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        if self.path:
            self.flush()
