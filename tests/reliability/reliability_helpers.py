"""Helpers for the reliability suite: a normalized picture of everything thothctl manages (read
with the official clients, so two runs can be compared), duplicate detection, thothctl as a real
process against the in-process emulator, and a hook that acts when the N-th mutating call
arrives at the emulator (to kill or interrupt a client at a chosen step of its plan).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from thothctl.emulator.faults import Decision, method_matches

P = "projects/thoth-local"
LOC = f"{P}/locations/us-central1"
SERVICE = f"{LOC}/services/thoth-mcp-server"
TOKEN_ENV = {"GITLAB_TOKEN": "glpat-reliability-value-0001"}


THOTH_APIS = [
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
]


def enable_all(emulator: Any) -> None:
    emulator.control_ops()["apis_set"]({"project": "thoth-local", "enable": THOTH_APIS})


def _bindings(policy: Any) -> list[tuple[str, list[str]]]:
    return sorted((b.role, sorted(b.members)) for b in policy.bindings)


def snapshot(clients: Any) -> dict[str, Any]:
    """Everything init / jobs apply / secrets commands manage, without times, etags or uids."""
    import google_crc32c

    sm = clients.secrets
    apis = sorted(
        s.config.name
        for s in clients.serviceusage.list_services(
            request={"parent": P, "filter": "state:ENABLED"}
        )
    )
    accounts = (
        sorted(a.email for a in clients.iam.list_service_accounts(request={"name": P}))
        if "iam.googleapis.com" in apis
        else []
    )
    secrets: dict[str, Any] = {}
    if "secretmanager.googleapis.com" in apis:
        for s in sm.list_secrets(request={"parent": P, "page_size": 25000}):
            versions = []
            for v in sm.list_secret_versions(request={"parent": s.name, "page_size": 25000}):
                crc = None
                if v.state.name == "ENABLED":
                    data = sm.access_secret_version(request={"name": v.name}).payload.data
                    crc = int(google_crc32c.value(data))
                versions.append((int(v.name.rsplit("/", 1)[-1]), v.state.name, crc))
            secrets[s.name.rsplit("/", 1)[-1]] = {
                "versions": sorted(versions),
                "aliases": dict(s.version_aliases),
                "labels": dict(s.labels),
                "bindings": _bindings(sm.get_iam_policy(request={"resource": s.name})),
            }
    jobs: dict[str, Any] = {}
    if "cloudscheduler.googleapis.com" in apis:
        for j in clients.scheduler.list_jobs(request={"parent": LOC, "page_size": 500}):
            t = j.http_target
            jobs[j.name.rsplit("/", 1)[-1]] = {
                "schedule": j.schedule,
                "time_zone": j.time_zone,
                "state": j.state.name,
                "uri": t.uri,
                "method": t.http_method.name,
                "body": bytes(t.body),
                "oidc": (t.oidc_token.service_account_email, t.oidc_token.audience),
                "deadline": j.attempt_deadline.total_seconds() if j.attempt_deadline else None,
                "retry": (
                    j.retry_config.retry_count,
                    j.retry_config.max_doublings,
                    str(j.retry_config.min_backoff_duration),
                    str(j.retry_config.max_backoff_duration),
                ),
            }
    run_policy = _bindings(clients.run.get_iam_policy(request={"resource": SERVICE}))
    return {
        "apis": apis,
        "accounts": accounts,
        "secrets": secrets,
        "jobs": jobs,
        "run_policy": run_policy,
    }


def duplicates(snap: dict[str, Any]) -> list[str]:
    """Anything present twice: a member twice in a binding, a role bound twice, two versions of a
    secret holding the same value, an account twice."""
    found = []

    def check_policy(where: str, bindings: list[tuple[str, list[str]]]) -> None:
        roles = collections.Counter(role for role, _ in bindings)
        found.extend(f"{where}: role {r} bound {n} times" for r, n in roles.items() if n > 1)
        for role, members in bindings:
            for m, n in collections.Counter(members).items():
                if n > 1:
                    found.append(f"{where}: {m} {n} times in {role}")

    for name, sec in snap["secrets"].items():
        crcs = collections.Counter(crc for _, state, crc in sec["versions"] if crc is not None)
        found.extend(
            f"secret {name}: {n} versions hold one value" for c, n in crcs.items() if n > 1
        )
        check_policy(f"secret {name}", sec["bindings"])
    check_policy("run service", snap["run_policy"])
    for email, n in collections.Counter(snap["accounts"]).items():
        if n > 1:
            found.append(f"account {email} listed {n} times")
    return found


def mutating(emulator: Any) -> list[str]:
    return [c.method.rsplit("/", 1)[-1] for c in emulator.calls.snapshot() if c.mutating]


def mutating_methods(emulator: Any) -> set[str]:
    return {
        f"/{svc.service_name}/{spec.name}"
        for svc in emulator.services
        for spec in svc.rpcs()
        if spec.mutating
    }


def fault_report(emulator: Any, label: str, baseline_calls: int | None = None) -> str:
    calls = emulator.calls.snapshot()
    faulted = [c for c in calls if c.fault]
    kinds = collections.Counter(c.fault for c in faulted)
    rate = len(faulted) / len(calls) if calls else 0.0
    line = (
        f"{label}: {len(calls)} calls, {len(faulted)} faulted ({rate:.0%} held: "
        f"{kinds.get('fail', 0)} failed, {kinds.get('lost', 0)} lost after applying)"
    )
    if baseline_calls is not None:
        line += f", {len(calls) - baseline_calls} extra calls (retries and read-backs)"
    return line


# --- thothctl as a real process --------------------------------------------------------------


def thothctl_env(emulator: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "GITLAB_", "GOOGLE_APPLICATION_CREDENTIALS_JSON"))
    }
    env.update(
        {
            "THOTHCTL_EMULATOR_HOST": emulator.address,
            "NO_GCE_CHECK": "true",
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def spawn(emulator: Any, *args: str, cwd: str, env: dict[str, str] | None = None, **kw: Any):
    return subprocess.Popen(
        [sys.executable, "-m", "thothctl", *args],
        cwd=cwd,
        env=thothctl_env(emulator, env),
        stdout=kw.pop("stdout", subprocess.PIPE),
        stderr=kw.pop("stderr", subprocess.PIPE),
        stdin=kw.pop("stdin", subprocess.DEVNULL),
        **kw,
    )


# --- act on the N-th mutating call --------------------------------------------------------------


class OnMutatingCall:
    """Wraps the emulator's fault injector and watches the calls as they arrive (the same
    stream the call log records): when the ``n``-th mutating call matching ``method`` (a glob as
    in the fault injector, e.g. "CreateJob" or "SecretManagerService/SetIamPolicy") arrives, run
    ``action(method)`` once. With ``apply=False`` that call then fails (it never takes effect);
    otherwise it is applied (the client may be gone by the time the answer is sent)."""

    def __init__(
        self,
        emulator: Any,
        n: int,
        action: Callable[[str], None],
        apply: bool = True,
        method: str = "*",
    ):
        self.inner = emulator.faults
        self.methods = mutating_methods(emulator)
        self.n = n
        self.pattern = method
        self.action = action
        self.apply = apply
        self.seen: list[str] = []
        self.fired: str | None = None
        self.matched = 0
        self.lock = threading.Lock()

    def decide(self, method: str) -> Decision:
        fire = False
        if method in self.methods:
            with self.lock:
                self.seen.append(method.rsplit("/", 1)[-1])
                if method_matches(self.pattern, method):
                    self.matched += 1
                    matched = self.matched
                    if matched == self.n and self.fired is None:
                        self.fired = method.rsplit(".", 1)[-1]
                        fire = True
        if fire:
            self.action(method)
            if not self.apply:
                import grpc

                return Decision(fail=grpc.StatusCode.UNAVAILABLE)
        return self.inner.decide(method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
