"""Two people rotate the same secret at once, as separate thothctl processes against one emulator
(slow calls make their windows overlap): both succeed, and the aliases and the Cloud Run pin end
on the newest enabled version, in order, with `doctor` agreeing. The deterministic replays of
each interleaving are in tests/lib/test_secrets_races.py; this is the same story end to end."""

from __future__ import annotations

import threading

from reliability_helpers import SERVICE, P, enable_all, spawn

from thothctl import doctor
from thothctl.config import load_config
from thothctl.emulator.faults import FaultConfig, method_matches

SECRET = f"{P}/secrets/gitlab-token"


class BothArrive:
    """The emulator's fault injector, except that the first call of ``method`` is held (up to
    10 s) until a second one arrives: two writers that each passed their checks write together."""

    def __init__(self, inner, method: str) -> None:
        self.inner, self.method = inner, method
        self.barrier = threading.Barrier(2, timeout=10)

    def decide(self, method: str):
        if method_matches(self.method, method) and not self.barrier.broken:
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                pass
            self.barrier.abort()  # only the first two meet
        return self.inner.decide(method)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def rotate_at_once(emulator, cwd, *runs: tuple[bytes, tuple[str, ...]]) -> list[tuple]:
    procs = []
    for i, (value, flags) in enumerate(runs):
        path = f"{cwd}/value-{i}"
        with open(path, "wb") as fh:
            fh.write(value)
        args = ("secrets", "rotate", "gitlab-token", "--from-file", path, *flags)
        procs.append(spawn(emulator, *args, cwd=cwd))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out.decode(), err.decode()))
    return results


def enabled_versions(clients) -> list[int]:
    versions = clients.secrets.list_secret_versions(
        request={"parent": SECRET, "filter": "state:ENABLED"}
    )
    return sorted((int(v.name.rsplit("/", 1)[-1]) for v in versions), reverse=True)


def test_concurrent_rotations_leave_aliases_and_the_pin_on_the_newest_version(
    enabled_apis, clients, tmp_path, monkeypatch
):
    enable_all(enabled_apis)
    (tmp_path / "thothctl.toml").write_text(
        '[secrets.gitlab-token]\naliases = ["current", "previous"]\n'
    )
    clients.secrets.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    clients.secrets.add_secret_version(
        request={"parent": SECRET, "payload": {"data": b"glpat-round-0"}}
    )
    svc = clients.run.get_service(request={"name": SERVICE})
    for env in svc.template.containers[0].env:
        if env.name == "GITLAB_TOKEN":
            env.value_source.secret_key_ref.version = "1"
    clients.wait(clients.run.update_service(request={"service": svc}))

    # 1: the same value twice: both add, the later duplicate is destroyed, aliases skip it
    faults = enabled_apis.faults
    monkeypatch.setattr(enabled_apis, "faults", BothArrive(faults, "AddSecretVersion"))
    same = b"glpat-round-1"
    for code, _out, err in rotate_at_once(enabled_apis, str(tmp_path), (same, ()), (same, ())):
        assert code == 0 and "Traceback" not in err, err

    # 2: a slow rotate --update-service against a plain rotate of another value
    assert sorted(
        v.state.name for v in clients.secrets.list_secret_versions(request={"parent": SECRET})
    ) == [
        "DESTROYED",
        "ENABLED",
        "ENABLED",
    ]  # both added: the race really happened, and was settled
    monkeypatch.setattr(enabled_apis, "faults", faults)
    faults.set(FaultConfig(latency_ms=1000, methods="UpdateService"))
    runs = ((b"glpat-round-2a", ("--update-service",)), (b"glpat-round-2b", ()))
    for code, _out, err in rotate_at_once(enabled_apis, str(tmp_path), *runs):
        assert code == 0 and "Traceback" not in err, err
    enabled_apis.faults.clear()

    newest, older = enabled_versions(clients)[:2]
    secret = clients.secrets.get_secret(request={"name": SECRET})
    assert dict(secret.version_aliases) == {"current": newest, "previous": older}
    svc = clients.run.get_service(request={"name": SERVICE})
    (pin,) = [
        e.value_source.secret_key_ref.version
        for e in svc.template.containers[0].env
        if e.name == "GITLAB_TOKEN"
    ]
    assert pin == str(newest)
    config = load_config(environ={}, emulator=True, cwd=tmp_path)
    findings = {f.check: f.level for f in doctor.run(config, clients).findings}
    assert findings["secret:gitlab-token.aliases"] == doctor.OK
    assert findings["service.env.GITLAB_TOKEN"] == doctor.OK
