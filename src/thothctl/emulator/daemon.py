"""The user's local emulator: one detached daemon per state file.

``thothctl --emulator`` (``clients.py``) calls :func:`ensure`: it finds the daemon serving the
state file and returns its status record, or starts one and waits until it serves. The daemon
outlives the command, so cron fires between commands, ``jobs run`` without ``--wait`` completes,
and ``logs -f`` in one terminal sees what another does; gcloud reaches it through the exports of
``thothctl emulator env-init`` (:func:`exports`).

Files beside the state file ``S``:

- ``S.lock``: an exclusive ``flock`` held by the process serving ``S`` (the daemon, or
  ``thothctl emulator serve --data S``), holding its status record (JSON: pid, addresses, build,
  state file, start time, idle timeout). The kernel releases it when that process dies, even by
  SIGKILL: a crashed daemon is never mistaken for a running one.
- ``S.log``: the daemon's stdout and stderr (it has no terminal).
- ``S.token``: a dummy access token for gcloud (``CLOUDSDK_AUTH_ACCESS_TOKEN_FILE``).

A daemon started by another build of thothctl (an upgrade, or an edited checkout) is stale: it is
stopped (SIGTERM, then SIGKILL) and replaced, never talked to. The daemon detaches fully: the
launcher runs it in a new session with stdin from /dev/null and stdout/stderr to ``S.log``, and it
(``daemon_main``) forks once more so no command waits on it, so ``$(thothctl --emulator secrets list)`` and CI
pipes never hang. It stops after ``idle timeout`` seconds without a call, unless a job's
execution is in flight (0: never), on SIGTERM, and on ``thothctl emulator stop``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_IDLE_TIMEOUT_S = 2 * 3600.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
IDLE_GRACE_S = 1.0  # after withdrawing its record, an idle daemon still answers this long
EXIT_HELD = 75  # the daemon found the state file held by another emulator
EXIT_STATE = 2  # the state file cannot be used
LOG_LIMIT_BYTES = 1 << 20
DUMMY_TOKEN = "thothctl-emulator-access-token\n"
GCLOUD_OFFLINE = {  # gcloud never phones home while it talks to the emulator
    "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
    "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
    "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
    "CLOUDSDK_SURVEY_DISABLE_PROMPTS": "true",
}
DEFAULT_PROJECT = "thoth-local"


class DaemonError(Exception):
    """The local emulator cannot be started, reached or stopped. ``usage`` is true when the
    caller can fix it (a state file that cannot be used, a bad idle timeout)."""

    def __init__(self, message: str, *, hint: str | None = None, usage: bool = False):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.usage = usage


@dataclass
class Record:
    """The status record a serving emulator publishes in its lock file."""

    pid: int
    address: str
    rest_address: str | None
    build: str
    version: str
    data_file: str
    started: float
    idle_timeout_s: float
    log_file: str | None
    mode: str = "daemon"  # or "serve" (in the foreground)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str) -> Record | None:
        """The record in a lock file; one of another thothctl (fields missing or added) still
        names its pid, and its unknown build makes it stale. None: no record (yet)."""
        try:
            raw = json.loads(text)
            pid = int(raw["pid"])
        except (ValueError, TypeError, KeyError):
            return None
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw and k != "pid"}
        defaults = {"address": "", "rest_address": None, "build": "unknown", "version": "unknown"}
        defaults |= {"data_file": "", "started": 0.0, "idle_timeout_s": 0.0, "log_file": None}
        try:
            return cls(pid=pid, **(defaults | known))
        except TypeError:
            return None


@dataclass
class Files:
    data: Path
    lock: Path
    log: Path
    token: Path


def files(data_file: str | os.PathLike[str]) -> Files:
    data = Path(data_file).expanduser().absolute()
    return Files(data, Path(f"{data}.lock"), Path(f"{data}.log"), Path(f"{data}.token"))


def default_data_file() -> str:
    """The user's state file (in the user state directory). A JSON state file of an earlier
    thothctl there (``emulator.json``) becomes it, and is converted when the emulator opens it."""
    import platformdirs

    base = Path(platformdirs.user_state_dir("thothctl"))
    current, legacy = base / "emulator.db", base / "emulator.json"
    if not current.exists() and legacy.exists() and not holder(legacy)[0]:
        with contextlib.suppress(OSError):
            os.replace(legacy, current)
            Path(f"{legacy}.lock").unlink(missing_ok=True)
    return str(current)


_BUILD: str | None = None


def build_id() -> str:
    """``VERSION+NEWEST-DIGEST``: this thothctl's version, the mtime of its newest source file and
    a digest of its source files (size, mtime), so an upgrade or an edited checkout is another
    build (see :func:`is_stale`)."""
    global _BUILD
    if _BUILD is None:
        import thothctl

        root = Path(thothctl.__file__).parent
        digest = hashlib.sha256(thothctl.__version__.encode())
        newest = 0
        for path in sorted(root.rglob("*.py")):
            stat = path.stat()
            newest = max(newest, stat.st_mtime_ns)
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        _BUILD = f"{thothctl.__version__}+{newest}-{digest.hexdigest()[:12]}"
    return _BUILD


def _order(build: str) -> tuple[tuple[int, ...], int] | None:
    version, _, rest = build.partition("+")
    newest = rest.split("-", 1)[0]
    numbers = tuple(int(n) for n in version.split(".") if n.isdigit())
    return (numbers, int(newest)) if numbers and newest.isdigit() else None


def is_stale(record: Record) -> bool:
    """Whether the emulator of ``record`` runs an older build than this thothctl (an older
    version, or older source files of this version): it is replaced, never talked to. One of a
    newer build is used as it is: a command started before an upgrade must not stop it."""
    mine = build_id()
    if record.build == mine:
        return False
    theirs, ours = _order(record.build), _order(mine)
    return theirs is None or ours is None or theirs < ours


# --- the lock and the record ---------------------------------------------------------------


def _fcntl() -> Any:
    try:
        import fcntl
    except ImportError:  # not POSIX
        raise DaemonError(
            "the local emulator daemon needs a POSIX system (Linux, macOS)",
            hint="serve one with `thothctl emulator serve` and set THOTHCTL_EMULATOR_HOST",
        ) from None
    return fcntl


class StateLock:
    """The exclusive lock on a state file, and the status record published in it."""

    def __init__(self, data_file: str | os.PathLike[str]):
        self.path = files(data_file).lock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def acquire(self) -> bool:
        fcntl = _fcntl()
        for attempt in range(5):  # a probe (holder()) holds a shared lock for microseconds
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 4:
                    return False
                time.sleep(0.01)
        self.held = True
        self.withdraw()  # a crashed holder's record is not ours
        return True

    def publish(self, record: Record) -> None:
        data = json.dumps(record.to_json()).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def withdraw(self) -> None:
        os.ftruncate(self._fd, 0)

    def release(self) -> None:
        if self._fd is not None:
            if self.held:  # never touch the record of the process that holds it
                with contextlib.suppress(OSError):
                    self.withdraw()
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd, self.held = None, False


def holder(data_file: str | os.PathLike[str]) -> tuple[bool, Record | None]:
    """Whether a live process holds the state file, and its record (None while it starts, or
    when it is an older thothctl that published no record)."""
    fcntl = _fcntl()
    path = files(data_file).lock
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False, None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            return True, Record.parse(text) if text else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, None
    finally:
        os.close(fd)


# --- attaching, starting, stopping -----------------------------------------------------------


def parse_idle_timeout(text: str | None) -> float:
    """``90``, ``45s``, ``30m``, ``2h``; 0 means never. None: the default (2 h)."""
    if text is None or not text.strip():
        return DEFAULT_IDLE_TIMEOUT_S
    raw = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    scale = units.get(raw[-1], 1)
    number = raw[:-1] if raw[-1] in units else raw
    try:
        value = float(number) * scale
    except ValueError:
        value = -1.0
    if not 0 <= value < 366 * 86400 or value != value:
        raise DaemonError(
            f"idle timeout {text!r} is not a duration",
            hint="give seconds or a number with s, m, h or d (e.g. 2h); 0 means never",
            usage=True,
        )
    return value


def ensure(data_file: str | os.PathLike[str], idle_timeout: str | None = None) -> Record:
    """The record of the emulator serving ``data_file``; starts the daemon when none does, and
    replaces one of another build."""
    f = files(data_file)
    timeout_s = parse_idle_timeout(idle_timeout)
    deadline = time.monotonic() + START_TIMEOUT_S
    launcher: subprocess.Popen | None = None
    while time.monotonic() < deadline:
        held, record = holder(f.data)
        if record is not None and not is_stale(record):
            if launcher is not None:
                launcher.wait(START_TIMEOUT_S)  # it exits once the daemon serves: reap it
            return record
        if record is not None:
            _retire(record, f)
            continue
        if not held and launcher is None:
            launcher = _launch(f, timeout_s)
        if launcher is not None and launcher.poll() is not None:
            if launcher.returncode not in (0, EXIT_HELD):
                raise _start_failed(f, launcher.returncode)
            launcher = None  # served, or another emulator won the race: read its record
        time.sleep(0.02)
    raise DaemonError(
        f"the emulator for {f.data} did not start within {START_TIMEOUT_S:.0f} s",
        hint=f"see {f.log}; another thothctl may hold {f.lock}",
    )


def _launch(f: Files, idle_timeout_s: float) -> subprocess.Popen:
    f.data.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if f.log.stat().st_size > LOG_LIMIT_BYTES:
            f.log.unlink()
    log = os.open(f.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    argv = ["--data", str(f.data), "--idle-timeout", repr(idle_timeout_s), "--build", build_id()]
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "thothctl.emulator.daemon_main", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            cwd=f.data.parent,
            env=env,
        )
    finally:
        os.close(log)


def _start_failed(f: Files, code: int) -> DaemonError:
    lines = []
    with contextlib.suppress(OSError):
        lines = [ln for ln in f.log.read_text(errors="replace").splitlines() if ln.strip()]
    why = next((ln.split("error: ", 1)[1] for ln in reversed(lines) if "error: " in ln), None)
    if code == EXIT_STATE and why:
        return DaemonError(
            why, hint="move the file away or point THOTHCTL_EMULATOR_DATA elsewhere", usage=True
        )
    return DaemonError(
        f"the emulator for {f.data} failed to start" + (f": {why}" if why else ""),
        hint=f"see {f.log}",
    )


def _looks_like_thothctl(pid: int) -> bool:
    try:
        return b"thothctl" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc: trust the lock holder's record
    except OSError:
        return False


def _retire(record: Record, f: Files) -> None:
    """Stop an emulator of another build that holds the state file (never talk to it)."""
    if record.mode == "serve":
        raise DaemonError(
            f"an emulator of another thothctl version ({record.version}, pid {record.pid}) "
            f"serves {f.data} in the foreground",
            hint="stop it (Ctrl-C in its terminal), or use another state file",
        )
    _terminate(record, f)


def _terminate(record: Record, f: Files) -> None:
    if record.pid <= 1 or record.pid == os.getpid() or not _looks_like_thothctl(record.pid):
        raise DaemonError(
            f"{f.lock} names pid {record.pid}, which is not a thothctl emulator",
            hint="stop the process that holds the lock",
        )
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if not holder(f.data)[0]:
                return
            time.sleep(0.02)
    raise DaemonError(f"the emulator (pid {record.pid}) did not stop", hint=f"see {f.log}")


def stop(data_file: str | os.PathLike[str]) -> Record | None:
    """Stop the emulator serving ``data_file`` (daemon or foreground). None: none was running."""
    f = files(data_file)
    held, record = holder(f.data)
    end = time.monotonic() + START_TIMEOUT_S
    while held and record is None and time.monotonic() < end:  # one that is starting
        time.sleep(0.05)
        held, record = holder(f.data)
    if not held:
        return None
    if record is None:
        raise DaemonError(f"another thothctl holds {f.lock} and published no record")
    _terminate(record, f)
    return record


def running(data_file: str | os.PathLike[str]) -> Record | None:
    """The record of the emulator serving ``data_file``, if one does."""
    return holder(data_file)[1]


def describe(data_file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What ``thothctl emulator status`` shows for the emulator serving ``data_file`` (its
    record, and what it says of itself unless it is stale); None when none runs."""
    held, record = holder(data_file)
    if not held:
        return None
    if record is None:
        return {"running": True, "starting": True, "data_file": str(files(data_file).data)}
    info: dict[str, Any] = {"running": True, **record.to_json()}
    info["stale"] = is_stale(record)
    if not info["stale"]:  # never talk to a stale one
        from thothctl.emulator import control

        try:
            live = control.call(record.address, "status")
        except control.ControlError as exc:
            raise DaemonError(exc.message, hint=f"see {record.log_file}") from None
        info.update({k: v for k, v in live.items() if v is not None or k not in info})
    return info


# --- what env-init prints ------------------------------------------------------------------


def token_file(data_file: str | os.PathLike[str] | None) -> Path:
    """The dummy access token gcloud sends to the emulator (created when missing)."""
    if data_file:
        path = files(data_file).token
    else:
        import platformdirs

        path = Path(platformdirs.user_state_dir("thothctl")) / "emulator.token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(DUMMY_TOKEN)
    return path


def exports(
    address: str, rest_address: str | None, data_file: str | None, project: str | None = None
) -> dict[str, str]:
    """The environment that points thothctl and gcloud at the emulator (``env-init``): its
    gRPC address for thothctl; for gcloud, the REST listener as endpoint overrides and proxy
    (``rest.gcloud_env``), a dummy access token, the project, and no phoning home."""
    env = {"THOTHCTL_EMULATOR_HOST": address}
    if rest_address:
        from thothctl.emulator.rest import gcloud_env

        env.update(gcloud_env(rest_address))
    env["CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"] = str(token_file(data_file))
    env["CLOUDSDK_CORE_PROJECT"] = project or DEFAULT_PROJECT
    env.update(GCLOUD_OFFLINE)
    return env


def record_of(emu: Any, build: str, idle_timeout_s: float) -> Record:
    """The status record of ``emu``, serving as this process."""
    from thothctl import __version__

    return Record(
        pid=os.getpid(),
        address=emu.address,
        rest_address=emu.rest_address,
        build=build,
        version=__version__,
        data_file=str(files(emu.store.path).data),
        started=time.time(),
        idle_timeout_s=idle_timeout_s,
        log_file=str(files(emu.store.path).log),
    )


@contextlib.contextmanager
def serving_lock(data_file: str | os.PathLike[str]) -> Iterator[StateLock]:
    """Hold the state file for ``thothctl emulator serve`` (in the foreground), as the daemon
    does; raises DaemonError naming the emulator that holds it already."""
    lock = StateLock(data_file)
    if not lock.acquire():
        _, record = holder(data_file)
        lock.release()
        who = f" (pid {record.pid}, {record.address})" if record else ""
        raise DaemonError(
            f"another emulator{who} already serves {files(data_file).data}",
            hint="stop it with `thothctl emulator stop`, or choose another --data",
            usage=True,
        )
    try:
        yield lock
    finally:
        lock.release()


def publish_serving(lock: StateLock, emu: Any, idle_timeout_s: float = 0.0) -> None:
    """Publish the record of a foreground emulator, so `--emulator` and `status` find it."""
    record = record_of(emu, build_id(), idle_timeout_s)
    record.mode, record.log_file = "serve", None  # it logs to its terminal
    lock.publish(record)
