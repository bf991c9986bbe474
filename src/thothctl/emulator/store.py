"""The emulator's one state store: in memory, optionally persisted to a JSON file.

Tables are plain dicts keyed by resource name. Values may be proto-plus messages, raw protobuf
messages, bytes, or JSON values (nested dicts/lists). Every access happens under ``store.lock``
(the dispatcher holds it for each unary RPC). Persistence is debounced: mutations mark the store
dirty and a background thread writes the file atomically; ``flush()`` writes at once.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


def _encode(value: Any) -> Any:
    from google.protobuf.message import Message as PbMessage

    if isinstance(value, PbMessage):
        cls = type(value)
        return {
            "$pb": f"{cls.__module__}:{cls.__qualname__}",
            "b64": base64.b64encode(value.SerializeToString()).decode(),
        }
    if hasattr(type(value), "pb") and hasattr(value, "_pb"):
        cls = type(value)
        return {
            "$proto": f"{cls.__module__}:{cls.__qualname__}",
            "b64": base64.b64encode(cls.serialize(value)).decode(),
        }
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"$set": [_encode(v) for v in sorted(value)]}
    return value


def _resolve(path: str) -> Any:
    module, _, qual = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$pb" in value:
            return _resolve(value["$pb"]).FromString(base64.b64decode(value["b64"]))
        if "$proto" in value:
            return _resolve(value["$proto"]).deserialize(base64.b64decode(value["b64"]))
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if "$set" in value:
            return {_decode(v) for v in value["$set"]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class Store:
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path else None
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Any]] = {}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self.loaded = False

    def table(self, name: str) -> dict[str, Any]:
        with self.lock:
            tbl = self.tables.get(name)
            if tbl is None:
                tbl = self.tables[name] = {}
            return tbl

    def clear(self) -> None:
        with self.lock:
            self.tables.clear()
            self.touch()

    def next_id(self, counter: str) -> int:
        with self.lock:
            counters = self.table("_counters")
            counters[counter] = counters.get(counter, 0) + 1
            return counters[counter]

    # --- persistence ---------------------------------------------------------------------
    def load(self) -> bool:
        """Load the file if it exists. Returns whether state was loaded."""
        if not self.path or not self.path.exists():
            return False
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read emulator state {self.path}: {exc}") from None
        if raw.get("version") != FORMAT_VERSION:
            return False
        with self.lock:
            self.tables = {name: _decode(tbl) for name, tbl in raw.get("tables", {}).items()}
        self.loaded = True
        return True

    def touch(self) -> None:
        if self.path:
            self._dirty.set()

    def flush(self) -> None:
        if not self.path:
            return
        with self.lock:
            data = {"version": FORMAT_VERSION, "tables": _encode(self.tables)}
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
