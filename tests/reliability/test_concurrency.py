"""Two people (or a CI matrix) run thothctl at once: separate processes against one emulator on
loopback. Every binding must be present at the end, none lost, and no error surfaced that a
retry could have absorbed (etag conflicts are re-read and retried, creations read back)."""

from __future__ import annotations

import pytest
from reliability_helpers import SERVICE, TOKEN_ENV, P, duplicates, enable_all, snapshot, spawn

SCHEDULER = "serviceAccount:thoth-scheduler@thoth-local.iam.gserviceaccount.com"


def _finish(procs, timeout: float = 60.0):
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out.decode(), err.decode()))
    return results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_grants_on_one_secret_keep_every_member(enabled_apis, clients, tmp_path, n):
    enable_all(enabled_apis)
    clients.secrets.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    members = [f"user:dev{i}@example.com" for i in range(n)]
    # Each read-modify-write takes half a second; n of them outlast the spread of the processes'
    # start-up on this machine divided by n: their windows must overlap, so the etag race is
    # exercised for real rather than by luck.
    from thothctl.emulator.faults import FaultConfig

    enabled_apis.faults.set(FaultConfig(latency_ms=250, methods="*IamPolicy"))
    enabled_apis.calls.reset()
    procs = [
        spawn(enabled_apis, "secrets", "grant", "gitlab-token", m, "-o", "json", cwd=str(tmp_path))
        for m in members
    ]
    results = _finish(procs)
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    policy = clients.secrets.get_iam_policy(request={"resource": f"{P}/secrets/gitlab-token"})
    accessors = [
        m
        for b in policy.bindings
        if b.role == "roles/secretmanager.secretAccessor"
        for m in b.members
    ]
    assert sorted(accessors) == sorted(members)
    # the race really happened: some writes lost the etag check and were re-read and retried
    codes = [c.code for c in enabled_apis.calls.snapshot() if c.method.endswith("SetIamPolicy")]
    if n == 8:
        assert "ABORTED" in codes, codes


def test_init_racing_jobs_apply_converges_without_duplicates(emulator, clients, tmp_path):
    init = spawn(emulator, "init", "--yes", "--no-input", cwd=str(tmp_path), env=TOKEN_ENV)
    # jobs apply needs the scheduler and IAM APIs, which init is enabling right now: retry it
    # the way an operator would, until init has enabled them, while init is still applying.
    attempts = []
    for _ in range(20):
        apply = spawn(emulator, "jobs", "apply", "--yes", cwd=str(tmp_path))
        (code, _out, err) = _finish([apply])[0]
        attempts.append((code, err))
        if code == 0:
            break
        assert "not enabled" in err, err  # the only acceptable failure: APIs not on yet
    assert attempts[-1][0] == 0, attempts
    (code, _out, err) = _finish([init])[0]
    assert code == 0, err
    assert "Traceback" not in err
    snap = snapshot(clients)
    assert duplicates(snap) == []
    assert sorted(snap["jobs"]) == ["thoth-daily-sync", "thoth-hourly-incremental-sync"]
    assert dict(snap["run_policy"])["roles/run.invoker"].count(SCHEDULER) == 1
    assert snap["accounts"].count("thoth-scheduler@thoth-local.iam.gserviceaccount.com") == 1
    assert SERVICE.startswith(P)


def test_two_inits_at_once_converge_without_duplicates(emulator, clients, tmp_path):
    procs = [
        spawn(emulator, "init", "--yes", "--no-input", cwd=str(tmp_path), env=TOKEN_ENV)
        for _ in range(2)
    ]
    for code, _out, err in _finish(procs):
        assert code == 0, err
    snap = snapshot(clients)
    assert duplicates(snap) == []
    # both may have added version 1 at once: the race is settled, one value stays enabled and
    # a simultaneous identical version, if any, is destroyed by the writer that added it
    live = [v for v in snap["secrets"]["gitlab-token"]["versions"] if v[1] == "ENABLED"]
    assert len(live) == 1
    assert all(
        state in ("ENABLED", "DESTROYED")
        for _, state, _ in snap["secrets"]["gitlab-token"]["versions"]
    )
    assert len(snap["jobs"]) == 2


def test_two_writers_adding_the_same_value_at_once_leave_one_version(enabled_apis, clients):
    """Both pass the 'already holds this value' check (slow reads make sure of it), both add;
    the race is settled: the lowest version wins, the other writer destroys its duplicate."""
    import threading

    from thothctl import secrets
    from thothctl.emulator.faults import FaultConfig

    enable_all(enabled_apis)
    secrets.create(clients, "gitlab-token")
    secrets.versions(clients, "gitlab-token")  # warm the client up: both threads start even
    enabled_apis.faults.set(FaultConfig(latency_ms=500, methods="ListSecretVersions"))
    value = secrets.SecretValue(b"glpat-same-value-twice", "test")
    results = []
    barrier = threading.Barrier(2)

    def writer():
        barrier.wait()
        results.append(secrets.add_version(clients, "gitlab-token", value))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    enabled_apis.faults.clear()
    adds = [c for c in enabled_apis.calls.snapshot() if c.method.endswith("/AddSecretVersion")]
    assert len(adds) == 2, "both writers really added"
    states = {
        int(v.name.rsplit("/", 1)[-1]): v.state.name
        for v in clients.secrets.list_secret_versions(
            request={"parent": f"{P}/secrets/gitlab-token"}
        )
    }
    assert states == {1: "ENABLED", 2: "DESTROYED"}
    assert sorted((r.version, r.added) for r in results) == [(1, False), (1, True)]
    assert "destroyed" in next(r.note for r in results if not r.added)
