"""Transient faults: the network drops 30% of calls (UNAVAILABLE, not applied) or loses 10% of
responses (applied, then the client sees UNAVAILABLE). Every command must exit 0 and leave the
project exactly as a fault-free run does: no duplicate secret version, job, account or binding.

Each test prints the fault rate held and the extra calls the faults cost (run pytest with -s or
-rA to see them).
"""

from __future__ import annotations

import pytest
from reliability_helpers import (
    TOKEN_ENV,
    duplicates,
    enable_all,
    fault_report,
    snapshot,
)

from thothctl.emulator.faults import FaultConfig

WRITES = "Create*,Add*,Set*,Update*,BatchEnable*,Disable*,Enable*,Destroy*,Delete*"
FAULTS = {
    "30% unavailable": FaultConfig(fail_rate=0.3, seed=8),
    "10% lost responses": FaultConfig(lost_rate=0.1, seed=8),
    # The hard case, made frequent: half of all writes take effect but their answer is lost.
    "50% of writes lost": FaultConfig(lost_rate=0.5, seed=8, methods=WRITES),
}
# Faults on every thothctl call, not on the read-back the test does afterwards.
SEEDS = (8, 21)


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n  [faults] {line}")


def _faulted(name: str, seed: int) -> FaultConfig:
    cfg = FAULTS[name]
    return FaultConfig(
        fail_rate=cfg.fail_rate, lost_rate=cfg.lost_rate, methods=cfg.methods, seed=seed
    )


def _run_twice(emulator, clients, prepare, command, fault: FaultConfig):
    """Run ``command`` on a freshly prepared emulator without faults, then again with them;
    return both snapshots and the two call counts."""
    emulator.reset(seed=True)
    prepare()
    emulator.calls.reset()
    first = command()
    assert first.exit_code == 0, first.output
    clean_calls = len(emulator.calls.snapshot())
    clean = snapshot(clients)

    emulator.reset(seed=True)
    prepare()
    emulator.calls.reset()
    emulator.faults.set(fault)
    second = command()
    held = fault_report(emulator, "", clean_calls)
    injected = dict(emulator.faults.injected)
    emulator.faults.clear()
    assert second.exit_code == 0, second.output
    assert "Traceback" not in second.output
    assert sum(injected.values()) > 0, f"the faults must actually hit (seed {fault.seed})"
    faulty = snapshot(clients)
    return clean, faulty, held


@pytest.mark.parametrize("kind", list(FAULTS))
@pytest.mark.parametrize("seed", SEEDS)
def test_init_under_faults_ends_like_a_fault_free_run(cli, emulator, clients, capsys, kind, seed):
    clean, faulty, held = _run_twice(
        emulator,
        clients,
        lambda: None,
        lambda: cli("init", "--yes", "--no-input", env=TOKEN_ENV),
        _faulted(kind, seed),
    )
    _report(capsys, f"init, {kind}, seed {seed}{held}")
    assert faulty == clean
    assert duplicates(faulty) == []
    assert len(faulty["secrets"]["gitlab-token"]["versions"]) == 1
    assert len(faulty["jobs"]) == 2
    # and a re-run finds nothing to do
    plan = cli("init", "--dry-run", "-o", "json").json()["plan"]
    assert plan["summary"]["create"] == 0 and plan["summary"]["update"] == 0


@pytest.mark.parametrize("kind", list(FAULTS))
def test_rotate_under_faults_adds_one_version_and_disables_the_same_ones(
    cli, enabled_apis, clients, capsys, kind
):
    def prepare():
        enable_all(enabled_apis)
        assert cli("secrets", "create", "gitlab-token").exit_code == 0
        for i in range(3):
            assert cli("secrets", "set", "gitlab-token", "-", input=f"old-{i}\n").exit_code == 0

    clean, faulty, held = _run_twice(
        enabled_apis,
        clients,
        prepare,
        lambda: cli("secrets", "rotate", "gitlab-token", "--yes", "-", input="rotated-value\n"),
        _faulted(kind, 6),
    )
    _report(capsys, f"secrets rotate, {kind}{held}")
    assert faulty == clean
    assert duplicates(faulty) == []
    states = [s for _, s, _ in faulty["secrets"]["gitlab-token"]["versions"]]
    assert states == ["DISABLED", "DISABLED", "ENABLED", "ENABLED"]


@pytest.mark.parametrize("kind", list(FAULTS))
def test_jobs_apply_under_faults_creates_each_job_once(cli, enabled_apis, clients, capsys, kind):
    clean, faulty, held = _run_twice(
        enabled_apis,
        clients,
        lambda: enable_all(enabled_apis),
        lambda: cli("jobs", "apply", "--yes"),
        _faulted(kind, 3),
    )
    _report(capsys, f"jobs apply, {kind}{held}")
    assert faulty == clean
    assert duplicates(faulty) == []
    assert sorted(faulty["jobs"]) == ["thoth-daily-sync", "thoth-hourly-incremental-sync"]
    invokers = dict(faulty["run_policy"])["roles/run.invoker"]
    assert invokers.count("serviceAccount:thoth-scheduler@thoth-local.iam.gserviceaccount.com") == 1


@pytest.mark.parametrize("kind", list(FAULTS))
def test_grant_under_faults_adds_each_member_once(cli, enabled_apis, clients, capsys, kind):
    members = [f"user:dev{i}@example.com" for i in range(6)]

    def prepare():
        enable_all(enabled_apis)
        assert cli("secrets", "create", "gitlab-token").exit_code == 0

    def grant_all():
        for m in members:
            r = cli("secrets", "grant", "gitlab-token", m)
            if r.exit_code:
                return r
        return r

    clean, faulty, held = _run_twice(enabled_apis, clients, prepare, grant_all, _faulted(kind, 7))
    _report(capsys, f"secrets grant x{len(members)}, {kind}{held}")
    assert faulty == clean
    assert duplicates(faulty) == []
    accessors = dict(faulty["secrets"]["gitlab-token"]["bindings"])[
        "roles/secretmanager.secretAccessor"
    ]
    assert accessors == sorted(members)


def test_the_fault_rate_is_held_over_a_whole_init(cli, emulator, capsys):
    """The injector's seeded rate is what the calls saw: not a test of thothctl, a test of the
    test (so a lucky run with no faults cannot pass the ones above)."""
    emulator.faults.set(FaultConfig(fail_rate=0.3, seed=99))
    result = cli("init", "--yes", "--no-input", env=TOKEN_ENV)
    calls = emulator.calls.snapshot()
    emulator.faults.clear()
    assert result.exit_code == 0, result.output
    rate = sum(1 for c in calls if c.fault) / len(calls)
    _report(capsys, f"init at 30% unavailable held {rate:.0%} over {len(calls)} calls")
    assert 0.15 < rate < 0.45
