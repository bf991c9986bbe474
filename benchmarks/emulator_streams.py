"""Open `logs -f` streams must not starve the emulator's other calls.

Serves `thothctl emulator serve` in a separate process, measures ListSecrets latency with no
stream open, then opens N TailLogEntries streams (what `thothctl logs -f` holds), checks that a
log entry written meanwhile reaches every one of them, and measures ListSecrets again while they
stay open. Prints the latencies side by side and their ratio.

Budget (issue #12, item 17): with 200 streams held, every ListSecrets answers in under a second.

    python benchmarks/emulator_streams.py [--streams 200] [--calls 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

os.environ.setdefault("NO_GCE_CHECK", "true")

PROJECT = "projects/thoth-local"
BUDGET_S = 1.0


def serve() -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "thothctl", "emulator", "serve", "--port", "0", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the emulator did not start: {proc.stderr.read()}")
    return proc, json.loads(line)["address"]


class Tail:
    """One open TailLogEntries stream; counts the entries it receives."""

    def __init__(self, transport) -> None:
        from google.cloud.logging_v2.types import TailLogEntriesRequest

        self.received = 0
        self._done = threading.Event()
        request = TailLogEntriesRequest(resource_names=[PROJECT])

        def requests():
            yield request
            self._done.wait()

        self._call = transport.tail_log_entries(requests())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self.received += len(response.entries)
        except Exception:
            pass

    def close(self) -> None:
        self._done.set()
        self._call.cancel()


def latencies(sm, calls: int) -> list[float]:
    from google.api_core import exceptions

    out = []
    for _ in range(calls):
        start = time.perf_counter()
        try:
            sm.list_secrets(request={"parent": PROJECT}, timeout=30, retry=None)
        except exceptions.DeadlineExceeded:
            pass  # starved: counted as the 30 s it waited
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()

    from thothctl.clients import Clients, ClientSettings
    from thothctl.emulator.control import call

    proc, address = serve()
    tails: list[Tail] = []
    bundle = None
    try:
        bundle = Clients(ClientSettings(project="thoth-local", emulator_host=address))
        call(address, "apis_set", project="thoth-local", enable=["secretmanager.googleapis.com"])
        sm, logging = bundle.secrets.raw, bundle.logging.raw
        latencies(sm, 3)  # warm up
        before = latencies(sm, args.calls)
        tails = [Tail(logging.transport) for _ in range(args.streams)]
        time.sleep(1.0)  # let every stream open
        during = latencies(sm, args.calls)
        call(
            address,
            "logs_write",
            project_id="thoth-local",
            log_id="bench",
            resource_type="global",
            text_payload="x",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(t.received for t in tails) < len(tails):
            time.sleep(0.1)
        delivered = sum(1 for t in tails if t.received)
    finally:
        for t in tails:
            t.close()
        if bundle is not None:
            bundle.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    def show(label: str, values: list[float]) -> None:
        print(
            f"{label}: ListSecrets median {statistics.median(values) * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms"
        )

    show("no stream open", before)
    show(f"{args.streams} streams open", during)
    print(f"ratio (median): {statistics.median(during) / statistics.median(before):.2f}x")
    print(f"streams that received the entry written meanwhile: {delivered}/{len(tails)}")
    ok = max(during) < BUDGET_S and delivered == len(tails)
    print("budget met" if ok else f"budget missed: every call under {BUDGET_S:.0f} s, all fed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
