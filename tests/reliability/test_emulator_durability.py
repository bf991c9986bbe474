"""`kill -9` of the emulator right after acknowledged writes: every acknowledged write is there
when it serves the state file again, and no file beside the state holds a payload."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

PARENT = "projects/thoth-local"
CANARY = b"durability-canary-"
THE_STATE_AND_ITS_JOURNAL = {"state.db", "state.db-wal", "state.db-shm", "state.db.lock"}


def serve(data):
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thothctl",
            "emulator",
            "serve",
            "--port",
            "0",
            "--data",
            str(data),
            "--operation-ms",
            "0",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)["address"]


def clients_at(address):
    from thothctl.clients import Clients, ClientSettings

    return Clients(ClientSettings(project="thoth-local", emulator_host=address))


def test_acknowledged_writes_survive_kill_9_and_leave_no_payload_behind(tmp_path):
    from thothctl.emulator.control import call

    data = tmp_path / "state.db"
    proc, address = serve(data)
    acked: list[str] = []
    try:
        call(address, "apis_set", enable=["secretmanager.googleapis.com"])
        c = clients_at(address)
        sm = c.secrets.raw
        for n in range(4):
            secret = {"replication": {"automatic": {}}}
            sm.create_secret(request={"parent": PARENT, "secret_id": f"s{n}", "secret": secret})

        def writer(n: int) -> None:  # four clients at once, as concurrent commands would
            for i in range(40):
                payload = {"data": CANARY + f"{n}-{i}".encode()}
                version = sm.add_secret_version(
                    request={"parent": f"{PARENT}/secrets/s{n}", "payload": payload}, retry=None
                )
                acked.append(version.name)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # right after the last acknowledged write
        proc.wait()
    c.close()
    assert len(acked) == 160
    left = {p.name for p in tmp_path.iterdir()}
    assert left <= THE_STATE_AND_ITS_JOURNAL, f"a temporary copy of the state was left: {left}"

    proc, address = serve(data)
    c = clients_at(address)
    try:
        found = {
            v.name
            for n in range(4)
            for v in c.secrets.raw.list_secret_versions(
                request={"parent": f"{PARENT}/secrets/s{n}"}
            )
        }
        assert set(acked) <= found, f"{len(set(acked) - found)} acknowledged writes lost"
        latest = c.secrets.raw.access_secret_version(
            request={"name": f"{PARENT}/secrets/s3/versions/latest"}
        )
        assert latest.payload.data == CANARY + b"3-39"
    finally:
        c.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert {p.name for p in tmp_path.iterdir()} == {"state.db", "state.db.lock"}
