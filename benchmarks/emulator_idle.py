"""How much CPU an idle emulator burns between cron fires.

Starts `thothctl emulator serve --data FILE` (the same emulator the `--emulator` daemon runs),
creates two scheduler jobs that will not fire during the measurement (as `thothctl init` does),
then leaves it alone for --seconds and reads its CPU time (user + system, /proc/PID/stat) before
and after. Prints the CPU seconds used and the share of one core.

Budget (issue 15, item 8): ~0 between fires, here under 0.5 % of a core.

    python benchmarks/emulator_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("NO_GCE_CHECK", "true")

LOC = "projects/thoth-local/locations/us-central1"
BUDGET = 0.005


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    from thothctl.clients import Clients, ClientSettings
    from thothctl.emulator.control import call

    tmp = tempfile.mkdtemp(prefix="thothctl-idle-")
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
            os.path.join(tmp, "state.db"),
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        address = json.loads(proc.stdout.readline())["address"]
        call(address, "apis_set", project="thoth-local", enable=["cloudscheduler.googleapis.com"])
        clients = Clients(ClientSettings(project="thoth-local", emulator_host=address))
        for name, cron in (("daily", "0 2 * * *"), ("hourly", "0 * * * *")):
            job = {"name": f"{LOC}/jobs/{name}", "schedule": cron}
            job["http_target"] = {"uri": "http://127.0.0.1:9/sync"}
            clients.scheduler.create_job(request={"parent": LOC, "job": job})
        clients.close()
        time.sleep(2.0)  # let the start-up settle
        before = cpu_seconds(proc.pid)
        time.sleep(args.seconds)
        used = cpu_seconds(proc.pid) - before
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    share = used / args.seconds
    print(f"idle for {args.seconds:.0f} s: {used:.2f} CPU s ({share * 100:.2f} % of a core)")
    return 0 if share < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
