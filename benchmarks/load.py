"""`secrets list` and `jobs list` with 1,000 secrets and 100 jobs in the emulator.

Prints, for each command (run in-process against an emulator on loopback): wall time, calls per
method, and the page sizes requested. Budget (issue #8): the lists are read with the largest page
the API allows (ListSecrets 25,000, ListJobs 500), so one List call each, and no per-item call for
the secrets and jobs that are not in the config. Exits 1 when the budget is missed.

    python benchmarks/load.py [--secrets 1000] [--jobs 100]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("HOME", tempfile.mkdtemp(prefix="thothctl-load-"))

P = "projects/thoth-local"
LOC = f"{P}/locations/us-central1"
APIS = [
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
]


def populate(emu, clients, secrets: int, jobs: int) -> None:
    emu.control_ops()["apis_set"]({"project": "thoth-local", "enable": APIS})
    for i in range(secrets):
        clients.secrets.create_secret(
            request={
                "parent": P,
                "secret_id": f"load-{i:04d}",
                "secret": {"replication": {"automatic": {}}},
            }
        )
    for i in range(jobs):
        clients.scheduler.create_job(
            request={
                "parent": LOC,
                "job": {
                    "name": f"{LOC}/jobs/load-{i:03d}",
                    "schedule": "0 3 * * *",
                    "http_target": {"uri": "https://example.com/sync"},
                },
            }
        )


def measure(emu, argv: list[str]) -> tuple[float, collections.Counter, int]:
    from typer.testing import CliRunner

    from thothctl.cli import app

    emu.calls.reset()
    start = time.perf_counter()
    result = CliRunner().invoke(app, argv, env={"THOTHCTL_EMULATOR_HOST": emu.address})
    wall = time.perf_counter() - start
    methods = collections.Counter(c.method.rsplit("/", 1)[-1] for c in emu.calls.snapshot())
    return wall, methods, result.exit_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()

    from thothctl.clients import Clients, ClientSettings
    from thothctl.emulator.server import Emulator

    emu = Emulator(seed=True, operation_ms=20)
    emu.start("127.0.0.1", 0)
    clients = Clients(ClientSettings(project="thoth-local", emulator_host=emu.address))
    ok = True
    try:
        t0 = time.perf_counter()
        populate(emu, clients, args.secrets, args.jobs)
        print(
            f"populated {args.secrets} secrets and {args.jobs} jobs in "
            f"{time.perf_counter() - t0:.1f}s"
        )
        for argv, lister, per_item in (
            (
                ["secrets", "list", "-o", "json"],
                "ListSecrets",
                ("GetSecret", "ListSecretVersions", "GetIamPolicy", "AccessSecretVersion"),
            ),
            (["jobs", "list", "-o", "json"], "ListJobs", ("GetJob",)),
        ):
            wall, methods, code = measure(emu, argv)
            calls = sum(methods.values())
            per = {m: methods.get(m, 0) for m in per_item}
            print(
                f"thothctl {' '.join(argv)}: exit {code}, {wall * 1000:.0f} ms, {calls} calls: "
                + ", ".join(f"{m} x{n}" for m, n in sorted(methods.items()))
            )
            # per-item calls are allowed only for the (at most 3) configured secrets
            if code != 0 or methods[lister] != 1 or any(n > 3 for n in per.values()):
                print(f"  BUDGET MISSED: one {lister} and at most 3 per-item calls expected")
                ok = False
    finally:
        clients.close()
        emu.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
