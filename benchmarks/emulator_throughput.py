"""The emulator as a server: calls per second and p99 latency under concurrent clients, over
gRPC and over REST, and how it scales from 1 to 16 clients.

Serves `thothctl emulator serve --port 0` in a separate process (its gRPC port and its REST
listener), then for each transport and each number of clients runs closed-loop clients (each
waits for its answer before the next call, as thothctl does) for a fixed time. Every client has
its own official client library instance (its own channel or HTTP session). The unary mix is
what an operator's tools do: 80 % reads (GetSecret, AccessSecretVersion latest, ListSecrets) and
20 % writes (AddSecretVersion, UpdateSecret labels).

    python benchmarks/emulator_throughput.py [--seconds 3] [--clients 1,4,16]

Prints one line per run and a table; `-o json` prints the rows as JSON. The clients run as threads
of this process, so on a small machine they share its cores with the server: read the numbers
side by side (REST vs gRPC, 16 vs 1 client), not as absolute capacity.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

os.environ.setdefault("NO_GCE_CHECK", "true")

PARENT = "projects/thoth-local"
SECRETS = [f"bench-{i}" for i in range(8)]
MIX = [("get", 40), ("access", 25), ("list", 15), ("add", 12), ("label", 8)]


def serve() -> tuple[subprocess.Popen, dict]:
    env = {k: v for k, v in os.environ.items() if k != "THOTHCTL_EMULATOR_HOST"}
    argv = ["emulator", "serve", "--port", "0", "--operation-ms", "0", "-o", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "thothctl", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the emulator did not start: {proc.stderr.read()}")
    info = json.loads(line)
    if not info.get("rest_address"):
        raise SystemExit("the emulator serves no REST listener")
    return proc, info


def secret_client(info: dict, transport: str):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import secretmanager_v1
    from google.cloud.secretmanager_v1.services.secret_manager_service import transports

    if transport == "rest":
        return secretmanager_v1.SecretManagerServiceClient(
            credentials=AnonymousCredentials(),
            transport="rest",
            client_options=ClientOptions(api_endpoint=f"http://{info['rest_address']}"),
        )
    import grpc

    channel = grpc.insecure_channel(info["address"])
    return secretmanager_v1.SecretManagerServiceClient(
        transport=transports.SecretManagerServiceGrpcTransport(channel=channel)
    )


def prepare(info: dict) -> None:
    from thothctl.emulator import control

    control.call(
        info["address"], "apis_set", project="thoth-local", enable=["secretmanager.googleapis.com"]
    )
    sm = secret_client(info, "grpc")
    for sid in SECRETS:
        sm.create_secret(parent=PARENT, secret_id=sid, secret={"replication": {"automatic": {}}})
        sm.add_secret_version(parent=f"{PARENT}/secrets/{sid}", payload={"data": b"v0"})


def one_call(sm, op: str, rng: random.Random) -> None:
    name = f"{PARENT}/secrets/{rng.choice(SECRETS)}"
    if op == "get":
        sm.get_secret(name=name, retry=None)
    elif op == "access":
        sm.access_secret_version(name=f"{name}/versions/latest", retry=None)
    elif op == "list":
        sm.list_secrets(request={"parent": PARENT, "page_size": 10}, retry=None)
    elif op == "add":
        sm.add_secret_version(parent=name, payload={"data": b"bench"}, retry=None)
    else:
        sm.update_secret(
            secret={"name": name, "labels": {"n": str(rng.randrange(1000))}},
            update_mask={"paths": ["labels"]},
            retry=None,
        )


def run(info: dict, transport: str, clients: int, seconds: float) -> dict:
    ops = [op for op, weight in MIX for _ in range(weight)]
    stubs = [secret_client(info, transport) for _ in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        rng = random.Random(i)
        start.wait()
        while time.monotonic() < stop_at[0]:
            op = rng.choice(ops)
            began = time.perf_counter()
            try:
                one_call(stubs[i], op, rng)
            except Exception:
                errors[i] += 1
                continue
            latencies[i].append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    done = sorted(x for per in latencies for x in per)
    p99 = done[min(len(done) - 1, int(len(done) * 0.99))] if done else float("nan")
    for stub in stubs:
        stub.transport.close()
    return {
        "transport": transport,
        "clients": clients,
        "calls": len(done),
        "errors": sum(errors),
        "calls_per_s": round(len(done) / wall, 1),
        "p50_ms": round(statistics.median(done) * 1000, 2) if done else None,
        "p99_ms": round(p99 * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per run (default 3)")
    parser.add_argument("--clients", default="1,4,16", help="client counts (default 1,4,16)")
    parser.add_argument("-o", dest="output", default="table", choices=["table", "json"])
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    proc, info = serve()
    rows = []
    try:
        prepare(info)
        for transport in ("grpc", "rest"):
            run(info, transport, 1, 0.5)  # warm up: connections, imports, caches
            for clients in levels:
                row = run(info, transport, clients, args.seconds)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    if args.output == "json":
        print(json.dumps(rows, indent=2))
        return 0
    base = {r["transport"]: r["calls_per_s"] for r in rows if r["clients"] == levels[0]}
    print(f"{'transport':<9} {'clients':>7} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'scaling':>8} {'errors':>6}")  # fmt: skip
    for r in rows:
        scale = r["calls_per_s"] / base[r["transport"]] if base.get(r["transport"]) else 0
        print(
            f"{r['transport']:<9} {r['clients']:>7} {r['calls_per_s']:>9.1f} {r['p50_ms']:>8} "
            f"{r['p99_ms']:>8} {scale:>7.2f}x {r['errors']:>6}"
        )
    grpc = {r["clients"]: r["calls_per_s"] for r in rows if r["transport"] == "grpc"}
    rest = {r["clients"]: r["calls_per_s"] for r in rows if r["transport"] == "rest"}
    for n in levels:
        if grpc.get(n):
            print(f"REST/gRPC throughput at {n} client(s): {rest.get(n, 0) / grpc[n]:.2f}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
