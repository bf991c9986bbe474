"""The emulator's one state store: tables in memory, every acknowledged change in SQLite.

Tables are dicts keyed by resource name (strings). Values may be proto-plus messages, raw protobuf
messages, bytes, sets, or JSON values (nested dicts/lists). Every access happens under
``store.lock``; the dispatcher holds it around each unary handler.

Durability: a table records the keys written, deleted or read (a value read may be changed in
place) while the lock is held. A section that called ``touch()`` commits those rows to the SQLite
database in one transaction when the lock is released for the last time, that is before the
dispatcher answers: an acknowledged write survives ``kill -9``. The database runs in WAL mode with
an exclusive lock, so no second process can open it meanwhile, and nothing but the database and
its own write-ahead log ever holds a payload on disk.

Messages are saved under their proto full name (``google.cloud.secretmanager.v1.Secret``), never
a Python class path, and read back through the protobuf descriptor pool and the registry of
proto-plus types the services declare (``EmulatedService.stored_types``): loading never imports
a module named in the file. The JSON state files of earlier versions (formats 1 and 2) are read
and converted in place (docs/emulator.md, "State file").
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from thothctl.emulator.statefile import FORMAT_VERSION, StateFileError

__all__ = ["FORMAT_VERSION", "StateFileError", "Store", "Table", "TypeRegistry"]


class TypeRegistry:
    """Proto-plus wrapper classes by proto full name, and (for format 1 files) the full names of
    known classes by their old ``module:qualname`` path."""

    def __init__(self) -> None:
        self.wrappers: dict[str, type] = {}
        self.legacy: dict[str, str] = {}
        self._plus: dict[type, str] = {}  # proto-plus class -> full name, once seen

    def register(self, cls: type) -> None:
        raw = cls.pb() if _is_plus_class(cls) else cls
        full_name = raw.DESCRIPTOR.full_name
        if raw is not cls:
            self.wrappers[full_name] = cls
        for known in (cls, raw):
            self.legacy[f"{known.__module__}:{known.__qualname__}"] = full_name

    def encode(self, value: Any) -> dict[str, str] | None:
        """The JSON form of a message, or None when ``value`` is not one."""
        if isinstance(value, _pb_message()):
            return {"$pb": value.DESCRIPTOR.full_name, "b64": _b64(value.SerializeToString())}
        cls = type(value)
        name = self._plus.get(cls)
        if name is None:
            if not (_is_plus_class(cls) and hasattr(value, "_pb")):
                return None
            self.register(cls)
            name = self._plus[cls] = cls.pb().DESCRIPTOR.full_name
        return {"$proto": name, "b64": _b64(cls.pb(value).SerializeToString())}

    def decode(self, kind: str, name: str, data: str) -> Any:
        if not isinstance(name, str) or not isinstance(data, str):
            raise StateFileError(f"a stored message is malformed ({kind}: {name!r})")
        if ":" in name:  # format 1: a Python class path
            if name not in self.legacy:
                raise StateFileError(f"unknown message class {name!r}")
            name = self.legacy[name]
        try:
            raw = _message_class(name).FromString(base64.b64decode(data))
        except (ValueError, TypeError) as exc:  # bad base64, DecodeError
            raise StateFileError(f"a stored {name} cannot be decoded: {exc}") from None
        if kind == "$pb":
            return raw
        wrapper = self.wrappers.get(name)
        if wrapper is None:
            raise StateFileError(f"no emulated service stores {name!r}")
        return wrapper.wrap(raw)


_PLAIN = frozenset({str, int, float, bool})


def _is_plus_class(cls: type) -> bool:
    return callable(getattr(cls, "pb", None)) and hasattr(cls, "wrap")


@functools.cache
def _pb_message() -> type:
    from google.protobuf.message import Message

    return Message


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _message_class(full_name: str) -> Any:
    from google.protobuf import descriptor_pool, message_factory

    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise StateFileError(f"unknown message type {full_name!r}") from None
    return message_factory.GetMessageClass(descriptor)


class Table(dict):
    """A table that remembers which rows a locked section wrote, deleted or read (a value read
    may be changed in place), so the section's commit writes just those rows."""

    def __init__(self, store: Store, *args: Any) -> None:
        super().__init__(*args)
        self._store = store
        self.changed: set[str] = set()
        self.seen: set[str] = set()

    def _saw(self, key: Any) -> None:
        if self._store.lock.owned():
            self.seen.add(key)

    def __getitem__(self, key: Any) -> Any:
        self._saw(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._saw(key)
        return super().get(key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self.changed.add(key)
        return super().setdefault(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.changed.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self.changed.add(key)
        super().__delitem__(key)

    def pop(self, key: Any, *default: Any) -> Any:
        self.changed.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        self.changed.add(key)
        return key, value

    def update(self, *args: Any, **kwargs: Any) -> None:
        other = dict(*args, **kwargs)
        self.changed.update(other)
        super().update(other)

    def clear(self) -> None:
        self.changed.update(self.keys())
        super().clear()

    def values(self):  # every value may be changed in place by the caller
        if self._store.lock.owned():
            self.seen.update(self.keys())
        return super().values()

    def items(self):
        if self._store.lock.owned():
            self.seen.update(self.keys())
        return super().items()


class StoreLock:
    """A reentrant lock; releasing it for the last time commits what the section touched."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    def owned(self) -> bool:
        return self._owner == threading.get_ident()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        self._owner = threading.get_ident()
        self._depth += 1
        return True

    def release(self) -> None:
        try:
            if self._depth == 1:
                self._store._end_section()
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
            self._lock.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class Store:
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path else None
        self.lock = StoreLock(self)
        self.tables: dict[str, Table] = {}
        self.types = TypeRegistry()
        self._db: Any = None
        self._touched = False
        self._rewrite = False
        self._persisted: set[str] = set()
        self._watchers: dict[str, list[Callable[[], None]]] = {}

    def table(self, name: str) -> Table:
        with self.lock:
            tbl = self.tables.get(name)
            if tbl is None:
                tbl = self.tables[name] = Table(self)
            return tbl

    def next_id(self, counter: str) -> int:
        with self.lock:
            counters = self.table("_counters")
            counters[counter] = dict.get(counters, counter, 0) + 1
            return counters[counter]

    def clear(self) -> None:
        """Empty every table (the next commit rewrites the database)."""
        with self.lock:
            self.tables.clear()
            self._rewrite = True
            self._touched = True

    def watch(self, table: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` (with the lock held) after each commit that touched ``table``."""
        self._watchers.setdefault(table, []).append(callback)

    def touch(self) -> None:
        """The current section changed state: commit it when the lock is released."""
        with self.lock:
            self._touched = True

    # --- commits ---------------------------------------------------------------------------
    def _end_section(self) -> None:
        """Called by the lock on its last release, with the lock still held."""
        if not self._touched:
            for tbl in self.tables.values():
                tbl.seen.clear()
            return
        self._touched = False
        rewrite, self._rewrite = self._rewrite, False
        touched = {name for name, tbl in self.tables.items() if tbl.changed or tbl.seen}
        gone = self._persisted - set(self.tables)
        if self._db is not None:
            self._commit(rewrite, gone)
        for tbl in self.tables.values():
            tbl.changed, tbl.seen = set(), set()
        self._persisted = set(self.tables)
        for name in touched | gone:
            for callback in self._watchers.get(name, ()):
                callback()

    def _commit(self, rewrite: bool, gone: set[str]) -> None:
        """Write the rows the section touched (every row for a rewrite) in one transaction."""
        upserts: list[tuple[str, str, str]] = []
        deletes: list[tuple[str, str]] = []
        for name, tbl in self.tables.items():
            keys = set(dict.keys(tbl)) if rewrite else tbl.changed | tbl.seen
            for key in keys:
                if dict.__contains__(tbl, key):
                    upserts.append((name, str(key), self._dumps(dict.__getitem__(tbl, key))))
                else:
                    deletes.append((name, str(key)))
        with self._transaction() as db:
            if rewrite:
                db.execute("DELETE FROM rows")
            db.executemany("DELETE FROM rows WHERE tbl = ? AND key = ?", deletes)
            db.executemany("DELETE FROM rows WHERE tbl = ?", [(g,) for g in gone])
            db.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", upserts)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _dumps(self, value: Any) -> str:
        return json.dumps(self._encode(value), separators=(",", ":"))

    # --- encoding ------------------------------------------------------------------------
    def _encode(self, value: Any) -> Any:
        if value is None or type(value) in _PLAIN:
            return value
        if type(value) is dict:
            return {str(k): self._encode(v) for k, v in value.items()}
        message = self.types.encode(value)
        if message is not None:
            return message
        if isinstance(value, bytes | bytearray):
            return {"$bytes": _b64(bytes(value))}
        if isinstance(value, dict):
            return {str(k): self._encode(v) for k, v in dict.items(value)}
        if isinstance(value, list | tuple):
            return [self._encode(v) for v in value]
        if isinstance(value, set | frozenset):
            return {"$set": [self._encode(v) for v in sorted(value)]}
        return value

    def _decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            for kind in ("$pb", "$proto"):
                if kind in value:
                    return self.types.decode(kind, value[kind], value.get("b64"))
            if "$bytes" in value:
                return base64.b64decode(value["$bytes"])
            if "$set" in value:
                return {self._decode(v) for v in value["$set"]}
            return {k: self._decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        return value

    # --- the file ------------------------------------------------------------------------
    def load(self) -> bool:
        """Open the state file (creating it when missing) and load it. Returns whether there was
        state to load. Raises StateFileError, without touching the file, when it cannot be used."""
        if not self.path:
            return False
        from thothctl.emulator import statefile

        try:
            tables, db = statefile.open_state(self.path, self._decode_rows, self._dumps)
        except StateFileError as exc:
            raise StateFileError(f"cannot use emulator state {self.path}: {exc}") from None
        with self.lock:
            self._db = db
            self.tables = {name: Table(self, rows) for name, rows in tables.items()}
            self._persisted = set(self.tables)
        return bool(tables)

    def _decode_rows(self, rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: {k: self._decode(v) for k, v in tbl.items()} for name, tbl in rows.items()}

    def flush(self) -> None:
        """Rewrite every row now (the commits already hold every acknowledged change)."""
        with self.lock:
            self._rewrite = self._touched = True

    def start_flusher(self, interval: float = 0.2) -> None:
        """Nothing to do: every section commits when it ends (kept for callers)."""

    def stop(self) -> None:
        """Write everything and close the database (which removes its write-ahead log)."""
        if self._db is None:
            return
        self.flush()
        with self.lock:
            self._db.close()
            self._db = None
