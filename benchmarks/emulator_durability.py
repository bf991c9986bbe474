"""The emulator's state file under writes and `kill -9`.

Serves `thothctl emulator serve --data FILE` in a separate process, then:

- throughput: acknowledged AddSecretVersion calls per second, one client and 8 concurrent
  clients (each call waits for its answer, as thothctl does);
- durability: after the last acknowledged write, `kill -9` the emulator at once, serve the same
  file again and count the versions that came back: every acknowledged write must be there;
- leftovers: files beside the state file that hold a payload after the kill (temporary copies
  of the state), other than the state file itself and the database's own journal.

    python benchmarks/emulator_durability.py [--writes 400] [--rounds 3]

Exits 1 when an acknowledged write was lost or a payload was left in a stray file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("NO_GCE_CHECK", "true")

PROJECT = "projects/thoth-local"
SECRETS = 10  # writes go round-robin over this many secrets (a secret's versions live in it)
MARK = b"durability-canary-"
# the state file and what SQLite keeps beside it (the write-ahead log is the store itself)
OWN_SUFFIXES = ("", "-wal", "-shm", "-journal", ".lock", ".log")


def serve(data: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    argv = ["emulator", "serve", "--port", "0", "--data", str(data), "--operation-ms", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "thothctl", *argv, "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the emulator did not start: {proc.stderr.read()}")
    return proc, json.loads(line)["address"]


def client(address: str):
    from google.cloud import secretmanager_v1

    from thothctl.clients import Clients, ClientSettings

    bundle = Clients(ClientSettings(project="thoth-local", emulator_host=address))
    return bundle, secretmanager_v1.SecretManagerServiceClient(
        transport=bundle.secrets.raw.transport
    )


def setup(address: str, sm) -> None:
    from thothctl.emulator.control import call

    call(address, "apis_set", project="thoth-local", enable=["secretmanager.googleapis.com"])
    for i in range(SECRETS):
        sm.create_secret(
            request={
                "parent": PROJECT,
                "secret_id": f"durable-{i}",
                "secret": {"replication": {"automatic": {}}},
            }
        )


def add_versions(sm, count: int, workers: int, tag: str) -> tuple[int, float]:
    """``count`` acknowledged AddSecretVersion calls over ``workers`` threads: (acked, seconds)."""
    acked = [0] * workers

    def work(i: int) -> None:
        for n in range(i, count, workers):
            payload = MARK + f"{tag}-{n}".encode() + b"x" * 512
            secret = f"{PROJECT}/secrets/durable-{n % SECRETS}"
            sm.add_secret_version(
                request={"parent": secret, "payload": {"data": payload}}, retry=None
            )
            acked[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(acked), time.perf_counter() - start


def count_versions(sm) -> int:
    return sum(
        sum(1 for _ in sm.list_secret_versions(request={"parent": s.name, "page_size": 25000}))
        for s in sm.list_secrets(request={"parent": PROJECT})
    )


def stray_payload_files(directory: Path, data: Path) -> list[str]:
    own = {data.name + s for s in OWN_SUFFIXES}
    stray = []
    for path in directory.iterdir():
        if path.name in own or not path.is_file():
            continue
        if MARK in path.read_bytes():
            stray.append(path.name)
    return stray


def round_(directory: Path, writes: int) -> dict:
    data = directory / "state.db"
    proc, address = serve(data)
    bundle, sm = client(address)
    try:
        setup(address, sm)
        _, one_s = add_versions(sm, writes // 2, 1, "seq")
        acked_many, many_s = add_versions(sm, writes - writes // 2, 8, "par")
        acked = writes // 2 + acked_many
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # right after the last acknowledged write
        proc.wait()
        bundle.close()
    stray = stray_payload_files(directory, data)
    proc, address = serve(data)
    bundle, sm = client(address)
    try:
        found = count_versions(sm)
    finally:
        bundle.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    return {
        "acked": acked,
        "found": found,
        "lost": max(0, acked - found),
        "writes_per_s_1_client": (writes // 2) / one_s,
        "writes_per_s_8_clients": acked_many / many_s,
        "stray_payload_files": stray,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="thothctl-durability-") as tmp:
            results.append(round_(Path(tmp), args.writes))
    for i, r in enumerate(results, 1):
        print(
            f"round {i}: {r['acked']} acknowledged, {r['found']} back after kill -9, "
            f"lost {r['lost']}; {r['writes_per_s_1_client']:.0f} writes/s (1 client), "
            f"{r['writes_per_s_8_clients']:.0f} writes/s (8 clients); "
            f"stray files with payloads: {r['stray_payload_files'] or 'none'}"
        )
    lost = sum(r["lost"] for r in results)
    stray = sum(len(r["stray_payload_files"]) for r in results)
    print(f"total lost: {lost}; stray payload files: {stray}")
    return 1 if lost or stray else 0


if __name__ == "__main__":
    sys.exit(main())
