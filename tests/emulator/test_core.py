"""The emulator core: faults (seeded), lost responses, the call log, persistence, the control plane.

The state file itself (format, conversion, refusals): test_store.py."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from thothctl.emulator.control import ControlClient
from thothctl.emulator.faults import FaultConfig, method_matches
from thothctl.emulator.server import Emulator

PARENT = "projects/thoth-local"
RUN = f"{PARENT}/services/run.googleapis.com"


def get_raw(clients):
    # the raw GAPIC client: no thothctl retry policy, so injected faults surface
    return clients.serviceusage.raw


def test_fail_rate_is_seeded_and_reproducible(emulator, clients):
    def pattern():
        emulator.faults.set(FaultConfig(fail_rate=0.5, seed=42, methods="GetService"))
        out = []
        for _ in range(20):
            try:
                get_raw(clients).get_service(request={"name": RUN}, retry=None)
                out.append("ok")
            except exceptions.ServiceUnavailable:
                out.append("fail")
        return out

    first, second = pattern(), pattern()
    assert first == second
    assert 3 < first.count("fail") < 17
    codes = [c.code for c in emulator.calls.snapshot() if c.method.endswith("/GetService")]
    assert codes.count("UNAVAILABLE") == first.count("fail") * 2


def test_fail_code_and_method_targeting(emulator, clients):
    emulator.faults.set(
        FaultConfig(fail_rate=1.0, fail_code="PERMISSION_DENIED", methods="*BatchGet*")
    )
    with pytest.raises(exceptions.PermissionDenied):
        get_raw(clients).batch_get_services(request={"parent": PARENT, "names": [RUN]}, retry=None)
    assert get_raw(clients).get_service(request={"name": RUN}, retry=None).state.name == "ENABLED"


def test_lost_response_applies_the_change_then_fails(emulator, clients):
    emulator.operation_ms = 0
    emulator.faults.set(FaultConfig(lost_rate=1.0, methods="BatchEnableServices"))
    with pytest.raises(exceptions.ServiceUnavailable):
        get_raw(clients).batch_enable_services(
            request={"parent": PARENT, "service_ids": ["pubsub.googleapis.com"]}, retry=None
        )
    emulator.faults.clear()
    svc = clients.serviceusage.get_service(
        request={"name": f"{PARENT}/services/pubsub.googleapis.com"}
    )
    assert svc.state.name == "ENABLED"
    call = [c for c in emulator.calls.snapshot() if c.method.endswith("BatchEnableServices")][-1]
    assert call.fault == "lost" and call.code == "UNAVAILABLE" and call.mutating


def test_latency_is_added_to_each_matching_call(emulator, clients):
    emulator.faults.set(FaultConfig(latency_ms=120, methods="GetService"))
    clients.serviceusage.get_service(request={"name": RUN})
    call = emulator.calls.snapshot()[-1]
    assert call.ms >= 120


def test_the_retry_policy_absorbs_transient_faults(emulator, clients):
    emulator.faults.set(FaultConfig(fail_rate=0.6, seed=3, methods="GetService"))
    for _ in range(5):
        assert clients.serviceusage.get_service(request={"name": RUN}).state.name == "ENABLED"
    assert clients.stats.retries > 0


def test_call_log_records_method_code_duration_and_mutation(emulator, clients):
    emulator.calls.reset()
    clients.serviceusage.get_service(request={"name": RUN})
    with pytest.raises(exceptions.NotFound):
        clients.serviceusage.get_service(
            request={"name": "projects/nope-project/services/run.googleapis.com"}
        )
    calls = emulator.calls.snapshot()
    assert [(c.method, c.code, c.mutating) for c in calls] == [
        ("/google.api.serviceusage.v1.ServiceUsage/GetService", "OK", False),
        ("/google.api.serviceusage.v1.ServiceUsage/GetService", "NOT_FOUND", False),
    ]
    assert all(c.ms >= 0 and c.end >= c.start for c in calls)


def test_control_plane_over_grpc(emulator, clients):
    with ControlClient(emulator.address) as control:
        control.call("reset_calls")
        clients.serviceusage.get_service(request={"name": RUN})
        calls = control.call("calls")
        assert calls[0]["method"] == "/google.api.serviceusage.v1.ServiceUsage/GetService"
        assert set(calls[0]) >= {"method", "code", "ms", "mutating"}
        applied = control.call("faults_set", fail_rate=1.0, methods="GetService", seed=1)
        assert applied["fail_rate"] == 1.0
        with pytest.raises(exceptions.ServiceUnavailable):
            get_raw(clients).get_service(request={"name": RUN}, retry=None)
        control.call("faults_clear")
        assert get_raw(clients).get_service(request={"name": RUN}, retry=None)


def test_state_persists_across_a_restart(tmp_path):
    data = tmp_path / "emu.json"
    first = Emulator(data_file=data, operation_ms=0)
    first.start("127.0.0.1", 0)
    from thothctl.clients import Clients, ClientSettings

    c1 = Clients(ClientSettings(project="thoth-local", emulator_host=first.address))
    c1.wait(
        c1.serviceusage.enable_service(request={"name": f"{PARENT}/services/pubsub.googleapis.com"})
    )
    c1.close()
    first.stop()

    second = Emulator(data_file=data)
    second.start("127.0.0.1", 0)
    c2 = Clients(ClientSettings(project="thoth-local", emulator_host=second.address))
    try:
        svc = c2.serviceusage.get_service(
            request={"name": f"{PARENT}/services/pubsub.googleapis.com"}
        )
        assert svc.state.name == "ENABLED"
    finally:
        c2.close()
        second.stop()


def test_no_seed_starts_empty(tmp_path):
    emu = Emulator(seed=False)
    assert emu.store.table("serviceusage.enabled") == {}
    assert "thoth-local" in emu.store.table("projects")


def test_method_globs():
    full = "/google.cloud.secretmanager.v1.SecretManagerService/AddSecretVersion"
    assert method_matches("*AddSecretVersion", full)
    assert method_matches("AddSecretVersion", full)
    assert method_matches("SecretManagerService/*", full)
    assert method_matches("GetSecret,AddSecret*", full)
    assert not method_matches("*Scheduler*", full)


def test_bad_fault_settings_are_rejected():
    with pytest.raises(ValueError):
        FaultConfig(fail_rate=1.5).validate()
    with pytest.raises(ValueError):
        FaultConfig(fail_code="NOPE").validate()
