"""`thothctl doctor`: check everything `init` sets up, plus what goes wrong in practice.

Each finding is ``ok``, a ``warning`` (worth knowing, nothing broken) or a ``problem``
(broken or unsafe), with the command that fixes it. Reads only; concurrent where independent.
A check that cannot run (an unexpected API error) is reported as such: the report then says it is
incomplete, and the CLI exits 1 unless a problem was found (exit 3).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from thothctl import apis as apislib
from thothctl import cloudrun, iampolicy, jobs, secrets, serviceaccounts
from thothctl.config import Config
from thothctl.errors import ThothError, is_google_error, translate_google_error

OK, WARNING, PROBLEM = "ok", "warning", "problem"
PUBLIC = ("allUsers", "allAuthenticatedUsers")
DISABLED_VERSIONS_WARN = 2  # more than this many billable disabled versions per secret


@dataclass
class Finding:
    check: str
    level: str
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "message": self.message, "fix": self.fix}


@dataclass
class Report:
    project: str
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 3
        return 1 if self.unchecked else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "healthy": not self.problems and not self.unchecked,
            "problems": len(self.problems),
            "warnings": len(self.warnings),
            "findings": [f.to_json() for f in self.findings],
            "could_not_check": [f.to_json() for f in self.unchecked],
        }

    def to_markdown(self) -> str:
        icon = {OK: "✅", WARNING: "⚠️", PROBLEM: "❌"}
        if self.problems:
            headline = f"❌ **{len(self.problems)} problem(s)**, {len(self.warnings)} warning(s)"
        elif self.unchecked:
            headline = f"⚠️ **could not check everything** ({len(self.unchecked)} check(s) failed)"
        else:
            headline = f"✅ **healthy**, {len(self.warnings)} warning(s)"
        lines = [
            f"## thothctl doctor: `{self.project}`",
            "",
            headline,
            "",
            "| | Check | Finding | Fix |",
            "| --- | --- | --- | --- |",
        ]
        for f in [*self.findings, *self.unchecked]:
            fix = f"`{f.fix}`" if f.fix else ""
            lines.append(f"| {icon.get(f.level, '❔')} | {f.check} | {_md(f.message)} | {fix} |")
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class _Checks:
    def __init__(self, cfg: Config, clients: Any):
        self.cfg = cfg
        self.clients = clients
        self.project = clients.project
        self.report = Report(self.project)
        self.service: cloudrun.ServiceInfo | None = None
        self.enabled: set[str] = set()
        self.secret_status: dict[str, secrets.SecretStatus] = {}

    def add(self, check: str, level: str, message: str, fix: str | None = None) -> None:
        self.report.findings.append(Finding(check, level, message, fix))

    def guarded(self, check: str, fn) -> None:
        try:
            fn()
        except ThothError as exc:
            self.report.unchecked.append(Finding(check, "unchecked", exc.message, exc.hint))
        except Exception as exc:
            if not is_google_error(exc):
                raise
            err = translate_google_error(exc)
            self.report.unchecked.append(Finding(check, "unchecked", err.message, err.hint))

    # --- checks ------------------------------------------------------------------------------
    def apis(self) -> None:
        states = apislib.status(self.clients, list(self.cfg.apis))
        missing = [s.name for s in states if not s.enabled]
        self.enabled = {s.name for s in states if s.enabled}
        if missing:
            self.add("apis", PROBLEM, f"not enabled: {', '.join(missing)}", "thothctl apis enable")
        else:
            self.add("apis", OK, f"all {len(states)} required APIs enabled")

    def service_check(self) -> None:
        cfg = self.cfg
        try:
            self.service = cloudrun.get_service(self.clients, cfg)
        except ThothError as exc:
            self.add(
                "service",
                PROBLEM,
                exc.message,
                f"gcloud run deploy {cfg.service} --region {cfg.region} --image IMAGE "
                "--no-allow-unauthenticated",
            )
            return
        svc = self.service
        self.add("service", OK, f"{svc.service} in {svc.region} at {svc.uri}")
        runtime = cfg.runtime_email(self.project)
        if svc.service_account != runtime:
            self.add(
                "service.account",
                WARNING,
                f"runs as {svc.service_account or 'the default compute account'}, the config "
                f"expects {runtime} (which is the account granted access to the secrets)",
                f"gcloud run services update {svc.service} --region {svc.region} "
                f"--service-account {runtime}",
            )
        else:
            self.add("service.account", OK, f"runs as {runtime}")
        if svc.invoker_iam_disabled:
            self.add(
                "service.public",
                PROBLEM,
                "the invoker IAM check is disabled: anyone can call /sync",
                f"gcloud run services update {svc.service} --region {svc.region} --invoker-iam-check",
            )

    def service_policy(self) -> None:
        if self.service is None:
            return
        svc = self.service
        policy = self.clients.run.get_iam_policy(request={"resource": svc.name})
        bindings = iampolicy.all_bindings(policy)
        for role, members in bindings.items():
            for member in members:
                if member in PUBLIC:
                    self.add(
                        "service.public",
                        PROBLEM,
                        f"{member} holds {role} on the service: it is public",
                        f"gcloud run services remove-iam-policy-binding {svc.service} --region "
                        f"{svc.region} --member {member} --role {role}",
                    )
        member = f"serviceAccount:{self.cfg.scheduler_email(self.project)}"
        if member in bindings.get(serviceaccounts.INVOKER_ROLE, []):
            self.add("scheduler.invoker", OK, f"{member} may invoke the service")
        else:
            self.add(
                "scheduler.invoker",
                PROBLEM,
                f"{member} lacks roles/run.invoker on {svc.service}: scheduled calls get 403",
                "thothctl init --only iam",
            )

    def scheduler_account(self) -> None:
        if "iam.googleapis.com" not in self.enabled:
            return
        email = self.cfg.scheduler_email(self.project)
        if serviceaccounts.get_account(self.clients, email) is None:
            self.add(
                "scheduler.account", PROBLEM, f"{email} does not exist", "thothctl init --only iam"
            )
        else:
            self.add("scheduler.account", OK, f"{email} exists")

    def secrets_check(self) -> None:
        if "secretmanager.googleapis.com" not in self.enabled:
            return
        runtime = f"serviceAccount:{self.cfg.runtime_email(self.project)}"
        for st in secrets.list_secrets(self.clients, self.cfg):
            if not st.configured:
                continue
            self.secret_status[st.name] = st
            check = f"secret:{st.name}"
            if not st.exists:
                if st.required:
                    self.add(check, PROBLEM, "does not exist", "thothctl init --only secrets")
                continue
            vers = st.versions or []
            latest = st.latest
            if latest is None:
                self.add(check, PROBLEM, "has no version", f"thothctl secrets set {st.name}")
            elif latest.state != "ENABLED":
                self.add(
                    check,
                    PROBLEM,
                    f"latest version {latest.number} is {latest.state}: anything reading "
                    "'latest' fails",
                    f"thothctl secrets rotate {st.name}",
                )
            else:
                self.add(check, OK, f"latest version {latest.number} enabled")
            accessors = (st.bindings or {}).get(secrets.ACCESSOR_ROLE, [])
            if runtime in accessors:
                self.add(f"{check}.access", OK, f"{runtime} can access it")
            else:
                self.add(
                    f"{check}.access",
                    PROBLEM,
                    f"{runtime} cannot access it: the service fails to start",
                    f"thothctl secrets grant {st.name} {runtime}",
                )
            for role, members in (st.bindings or {}).items():
                for member in members:
                    if member in PUBLIC:
                        self.add(
                            f"{check}.public",
                            PROBLEM,
                            f"{member} holds {role}: the secret is public",
                            f"thothctl secrets revoke {st.name} {member} --role {role}",
                        )
            disabled = [v.number for v in vers if v.state == "DISABLED"]
            if len(disabled) > DISABLED_VERSIONS_WARN:
                self.add(
                    f"{check}.billing",
                    WARNING,
                    f"{len(disabled)} disabled versions ({', '.join(map(str, disabled))}) are "
                    "still billed ($0.06 each per month)",
                    f"thothctl secrets destroy {st.name} {disabled[0]} --yes",
                )

    def service_env(self) -> None:
        if self.service is None:
            return
        svc = self.service
        refs = {r.env: r for r in svc.secret_env}
        for spec in self.cfg.secrets.values():
            ref = refs.get(spec.env)
            status = self.secret_status.get(spec.name)
            check = f"service.env.{spec.env}"
            if ref is None:
                if spec.required:
                    self.add(
                        check,
                        WARNING,
                        f"the service does not read {spec.env} from secret {spec.name}",
                        f"gcloud run services update {svc.service} --region {svc.region} "
                        f"--update-secrets {spec.env}={spec.name}:latest",
                    )
                continue
            secret_id = ref.secret.rsplit("/", 1)[-1]
            if secret_id != spec.name:
                self.add(
                    check,
                    WARNING,
                    f"{spec.env} comes from secret {secret_id}, the config says {spec.name}",
                    f"gcloud run services update {svc.service} --region {svc.region} "
                    f"--update-secrets {spec.env}={spec.name}:latest",
                )
                continue
            if status is not None and ref.version.isdigit():
                pinned = next(
                    (v for v in status.versions or [] if v.number == int(ref.version)), None
                )
                if pinned is None or pinned.state != "ENABLED":
                    state = pinned.state if pinned else "missing"
                    self.add(
                        check,
                        PROBLEM,
                        f"{spec.env} pins {spec.name} version {ref.version}, which is {state}: new "
                        "instances fail to start",
                        f"thothctl secrets rotate {spec.name} --update-service",
                    )
                    continue
            self.add(check, OK, f"{spec.env} from {spec.name}:{ref.version}")

    def jobs_check(self) -> None:
        if "cloudscheduler.googleapis.com" not in self.enabled:
            return
        cfg = self.cfg
        live = {
            j.name.rsplit("/", 1)[-1]: j
            for j in self.clients.scheduler.list_jobs(
                request={"parent": jobs.parent(self.clients, cfg), "page_size": 500}
            )
        }
        email = cfg.scheduler_email(self.project)
        uri = self.service.uri if self.service else None
        for spec in cfg.jobs.values():
            check = f"job:{spec.name}"
            job = live.get(spec.id)
            if job is None:
                self.add(check, PROBLEM, f"{spec.id} does not exist", "thothctl jobs apply")
                continue
            state = job.state.name
            if state == "PAUSED":
                self.add(
                    check, WARNING, f"{spec.id} is paused", f"thothctl jobs resume {spec.name}"
                )
            elif state != "ENABLED":
                self.add(check, PROBLEM, f"{spec.id} is {state}", "thothctl jobs apply")
            changes = jobs.diff(jobs.desired_fields(spec, uri, email), jobs.live_fields(job))
            target = [c for c in changes if c.field in ("uri", "audience", "service_account")]
            other = [c for c in changes if c not in target]
            for c in target:
                self.add(
                    f"{check}.target",
                    PROBLEM,
                    f"{c.field} is {c.live or '-'}, should be {c.desired}",
                    "thothctl jobs apply",
                )
            if other:
                self.add(
                    f"{check}.drift",
                    WARNING,
                    "differs from the config: "
                    + ", ".join(f"{c.field} {c.live!r} → {c.desired!r}" for c in other),
                    "thothctl jobs apply",
                )
            attempt = jobs.last_attempt(job)
            if attempt is None:
                if state == "ENABLED" and not target:
                    self.add(check, OK, f"{spec.id} enabled, not run yet")
            elif attempt.ok:
                if state == "ENABLED" and not target:
                    self.add(
                        check,
                        OK,
                        f"{spec.id} enabled; last attempt {attempt.summary} at {attempt.time:%Y-%m-%d %H:%M}Z",
                    )
            else:
                self.add(
                    f"{check}.last-attempt",
                    PROBLEM,
                    f"last attempt {attempt.summary} at {attempt.time:%Y-%m-%d %H:%M}Z: {attempt.message}",
                    f"thothctl logs jobs --job {spec.name} --since 1d",
                )


def run(cfg: Config, clients: Any) -> Report:
    checks = _Checks(cfg, clients)
    checks.guarded("apis", checks.apis)
    checks.guarded("service", checks.service_check)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(checks.guarded, name, fn)
            for name, fn in (
                ("service.policy", checks.service_policy),
                ("scheduler.account", checks.scheduler_account),
                ("secrets", checks.secrets_check),
                ("jobs", checks.jobs_check),
            )
        ]
        for fut in futures:
            fut.result()
    checks.guarded("service.env", checks.service_env)
    order = {PROBLEM: 0, WARNING: 1, OK: 2}
    checks.report.findings.sort(key=lambda f: (order[f.level], f.check))
    return checks.report
