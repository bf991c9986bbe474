"""Opening the emulator's state file: an SQLite database (format 3), or a JSON file of an earlier
version (formats 1 and 2), converted in place.

Whatever cannot be read is refused with :class:`StateFileError` and left as it is: an empty file,
JSON that is not a state (``[]``, ``null``), a truncated or damaged file, a format this version
does not know, another program's SQLite database, or a database another emulator process holds.
A new database is built under a temporary name and renamed into place, so a crash never leaves a
half-made state file; temporary files of a crashed run are removed at the next start.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT_VERSION = 3  # SQLite
JSON_VERSIONS = (1, 2)
SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE rows (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (tbl, key)) WITHOUT ROWID",
)
Rows = dict[str, dict[str, Any]]
BUSY_TIMEOUT_S = 0.5


class StateFileError(RuntimeError):
    """The state file cannot be used: not an emulator state file, damaged, of a format this
    version does not read, or in use by another emulator. It is never overwritten."""


def open_state(
    path: Path, decode: Callable[[Rows], Rows], dumps: Callable[[Any], str]
) -> tuple[Rows, sqlite3.Connection]:
    """The tables stored in ``path`` (decoded) and an open connection to write to it."""
    try:
        return _open(path, decode, dumps)
    except OSError as exc:  # a directory it may not write to, a full disk, ...
        raise StateFileError(f"{exc.strerror or exc} ({exc.filename or path})") from None


def _open(
    path: Path, decode: Callable[[Rows], Rows], dumps: Callable[[Any], str]
) -> tuple[Rows, sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    if not path.exists():
        _create(path, {})
        return {}, _connect(path)
    if _sniff(path) == "json":
        tables = decode(_read_json(path))
        _create(path, tables, dumps, replace=True)
        return tables, _connect(path)
    db = _connect(path)
    try:
        raw: Rows = {}
        for tbl, key, value in db.execute("SELECT tbl, key, value FROM rows"):
            raw.setdefault(tbl, {})[key] = json.loads(value)
        return decode(raw), db
    except (sqlite3.DatabaseError, ValueError) as exc:
        db.close()
        raise StateFileError(f"the database is damaged ({exc})") from None
    except BaseException:
        db.close()
        raise


def _sniff(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StateFileError(exc.strerror or str(exc)) from None
    if not head:
        raise StateFileError("the file is empty, so it is not an emulator state file")
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.lstrip()[:1] in (b"{", b"[", b"n", b'"') or head.strip().isdigit():
        return "json"
    raise StateFileError("it is neither an emulator database nor a JSON state file")


def _read_json(path: Path) -> Rows:
    try:
        raw = json.loads(path.read_bytes())
    except UnicodeDecodeError:
        raise StateFileError("it is neither an emulator database nor a JSON state file") from None
    except ValueError as exc:
        raise StateFileError(f"the JSON is damaged or truncated ({exc})") from None
    if not isinstance(raw, dict) or "version" not in raw:
        shown = "null" if raw is None else type(raw).__name__
        raise StateFileError(f"it holds JSON ({shown}) that is not an emulator state")
    if raw["version"] not in JSON_VERSIONS:
        raise StateFileError(
            f"its format version {raw['version']!r} is not one this thothctl reads "
            f"(JSON {', '.join(map(str, JSON_VERSIONS))} or the database format "
            f"{FORMAT_VERSION}); a newer thothctl may have written it"
        )
    tables = raw.get("tables", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise StateFileError("its tables are not a mapping of tables")
    return tables


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != str(FORMAT_VERSION):
            found = "no format" if row is None else f"format {row[0]!r}"
            raise StateFileError(
                f"the database has {found}; this thothctl reads format {FORMAT_VERSION}"
            )
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("BEGIN IMMEDIATE")  # take the exclusive lock now, not at the first write
        db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        db.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StateFileError("another emulator process has it open") from None
        if "no such table" in str(exc):
            raise StateFileError("it is an SQLite database, but not an emulator's") from None
        raise StateFileError(f"the database cannot be read ({exc})") from None
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StateFileError(f"the database is damaged ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.new-{os.getpid()}")


def _create(
    path: Path, tables: Rows, dumps: Callable[[Any], str] | None = None, *, replace: bool = False
) -> None:
    """Build the database under a temporary name (only this user may read it), then move it
    into place: atomically over a JSON file being converted, or only if nothing is there."""
    tmp = _temporary(path)
    _remove(tmp)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
            if dumps is not None:
                db.executemany(
                    "INSERT INTO rows VALUES (?, ?, ?)",
                    [(n, str(k), dumps(v)) for n, tbl in tables.items() for k, v in tbl.items()],
                )
            db.execute("PRAGMA journal_mode = WAL")
        finally:
            db.close()
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # made meanwhile by someone else: _connect checks it
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary databases left by a process that crashed while building one."""
    for tmp in path.parent.glob(f".{path.name}.new-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove(tmp)
        except PermissionError:
            pass
