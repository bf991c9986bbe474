"""`thothctl init` against the emulator with 100 ms latency per call and 2 s API-enable operations.

Prints, for a fresh init --yes and for a re-run:
- wall time of the command (a separate process, interpreter start included),
- the critical path of its calls: the longest chain of calls that ran one after another
  (each starting after the previous ended), computed from the emulator's call log, where a
  long-running operation counts from the call that started it to the poll that saw it done,
- the sum of all call latencies (what a one-call-at-a-time script pays; an operation counts from
  its start to the poll that saw it done),
- calls, mutating calls and reads per method.

Budget (issue #5): fresh wall <= 1.3x critical path; re-run: zero mutating calls and at most one
read per resource. Exits 1 when a budget is missed.

    python benchmarks/init_bench.py [--latency-ms 100] [--operation-ms 2000]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import subprocess
import sys
import tempfile
import time

BUDGET = 1.3
RESOURCES = 11  # 4 APIs (one batch), SA, invoker grant, 2 secrets (+versions, grants), 2 jobs


LRO_STARTS = ("BatchEnableServices", "EnableService", "DisableService", "UpdateService")


@dataclasses.dataclass
class Interval:
    start: float
    end: float


def merge_operations(calls: list) -> list[Interval]:
    """A long-running operation is one link of the chain: from the call that started it to the
    poll that saw it done (the server-side duration is a dependency, not client overhead)."""
    ordered = sorted(calls, key=lambda c: c.start)
    out: list[Interval] = []
    current: Interval | None = None
    for c in ordered:
        method = c.method.rsplit("/", 1)[-1]
        if method in LRO_STARTS:
            current = Interval(c.start, c.end)
            out.append(current)
        elif method == "GetOperation" and current is not None and c.start >= current.start:
            current.end = max(current.end, c.end)
        else:
            out.append(Interval(c.start, c.end))
    return out


def critical_path(calls: list) -> float:
    """Longest chain of calls that ran one after another (ms), operations merged."""
    ordered = sorted(merge_operations(calls), key=lambda c: c.end)
    best: list[float] = []
    for i, c in enumerate(ordered):
        prev = max((best[j] for j in range(i) if ordered[j].end <= c.start + 1e-6), default=0.0)
        best.append(prev + (c.end - c.start) * 1000)
    return max(best, default=0.0)


def run_init(address: str, home: str) -> float:
    env = {
        **os.environ,
        "NO_GCE_CHECK": "true",
        "THOTHCTL_EMULATOR_HOST": address,
        "GITLAB_TOKEN": "benchmark-placeholder-token",
        "HOME": home,
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "thothctl", "init", "--yes", "--no-input", "-q"],
        env=env,
        capture_output=True,
        text=True,
        cwd=home,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"init failed with exit {proc.returncode}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--operation-ms", type=float, default=2000)
    args = parser.parse_args()

    from thothctl.emulator.faults import FaultConfig
    from thothctl.emulator.server import Emulator

    emu = Emulator(operation_ms=args.operation_ms, faults=FaultConfig(latency_ms=args.latency_ms))
    emu.start("127.0.0.1", 0)
    home = tempfile.mkdtemp(prefix="thothctl-bench-")
    ok = True
    try:
        print(
            f"emulator: {args.latency_ms:.0f} ms per call, {args.operation_ms:.0f} ms per API-enable operation"
        )
        for label in ("fresh init", "re-run"):
            emu.calls.reset()
            wall = run_init(emu.address, home)
            calls = emu.calls.snapshot()
            chain = critical_path(calls) / 1000
            total = sum(i.end - i.start for i in merge_operations(calls))
            api_wall = (max(c.end for c in calls) - min(c.start for c in calls)) if calls else 0.0
            mutating = [c for c in calls if c.mutating]
            reads = collections.Counter(
                c.method.rsplit("/", 1)[-1] for c in calls if not c.mutating
            )
            print(f"\n{label}:")
            print(
                f"  wall time            {wall:6.2f} s   (first call to last call: {api_wall:.2f} s)"
            )
            ratio = f"   wall / critical path = {wall / chain:.2f}" if label == "fresh init" else ""
            print(f"  critical path        {chain:6.2f} s{ratio}")
            print(
                f"  sum of call latency  {total:6.2f} s   (a one-call-at-a-time script; operations counted whole)"
            )
            if label == "fresh init":
                print(f"  speed-up over one-call-at-a-time: {total / api_wall:.2f}x on the calls")
            print(
                f"  calls {len(calls)}, mutating {len(mutating)}, reads {sum(reads.values())}: "
                + ", ".join(f"{m} {n}" for m, n in sorted(reads.items()))
            )
            if label == "fresh init" and chain and wall / chain > BUDGET:
                print(
                    f"  OVER BUDGET: wall is {wall / chain:.2f}x the critical path (budget {BUDGET}x)"
                )
                ok = False
            if label == "re-run":
                if mutating:
                    print(f"  OVER BUDGET: {len(mutating)} mutating calls on a converged project")
                    ok = False
                if sum(reads.values()) > RESOURCES:
                    print(f"  OVER BUDGET: {sum(reads.values())} reads for {RESOURCES} resources")
                    ok = False
        print("\nresult:", "OK" if ok else "OVER BUDGET")
    finally:
        emu.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
