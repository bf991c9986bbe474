"""`thothctl doctor`: check everything `init` sets up, plus what goes wrong in practice.

Each :class:`Finding` is ``ok``, a ``warning`` (worth knowing, nothing broken) or a ``problem``
(broken or unsafe), with the command that fixes it. Reads only; concurrent where independent.
A check that cannot run (an API error) is reported as ``unchecked``, its line and hint from
:func:`thothctl.errors.describe`: the report is then incomplete, and :attr:`Report.exit_code` is
1 unless a problem was found (3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from thothctl import apis as apislib
from thothctl import cloudrun, gitlab, iampolicy, jobs, secrets, serviceaccounts
from thothctl.errors import (
    EXIT_AUTH,
    EXIT_DOCTOR,
    EXIT_FAILED,
    EXIT_OK,
    EndpointUnreachable,
    NotFoundError,
    OperationError,
    code_of,
    describe,
)

if TYPE_CHECKING:
    from thothctl.config import Config

OK, WARNING, PROBLEM, UNCHECKED = "ok", "warning", "problem", "unchecked"
PUBLIC = ("allUsers", "allAuthenticatedUsers")
DISABLED_VERSIONS_WARN = 2  # more than this many billable disabled versions per secret
JOB_TARGET_FIELDS = ("uri", "audience", "service_account")


@dataclass
class Finding:
    check: str  # what was checked, e.g. "scheduler.invoker" or "secret:gitlab-token.access"
    level: str  # OK | WARNING | PROBLEM | UNCHECKED
    message: str
    fix: str | None = None  # the command that fixes it

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "message": self.message, "fix": self.fix}


@dataclass
class Report:
    project: str
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[Finding] = field(default_factory=list)  # checks that could not run

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def healthy(self) -> bool:
        return not self.problems and not self.unchecked

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_DOCTOR
        return EXIT_FAILED if self.unchecked else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "healthy": self.healthy,
            "problems": len(self.problems),
            "warnings": len(self.warnings),
            "findings": [f.to_json() for f in self.findings],
            "could_not_check": [f.to_json() for f in self.unchecked],
        }


def _public(bindings: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(role, member) for every binding that makes a resource public."""
    for role, members in bindings.items():
        for member in members:
            if member in PUBLIC:
                yield role, member


AREAS = ("apis", "service", "secret", "scheduler", "job")


def _area(check: str) -> int:
    """Where a check's findings go in the report: AREAS order (``service.env.X`` -> service)."""
    head = check.split(":", 1)[0].split(".", 1)[0]
    return AREAS.index(head) if head in AREAS else len(AREAS)


def _not_about_project(project: str, check: str, exc: Exception) -> None:
    """Raise when a check failed for a reason that is not a finding about the project: no usable
    credentials (exit 4), an endpoint that cannot be reached, or a project that does not exist
    (the first check, the APIs, is the one that sees it). Every check would fail alike; the
    command says it once instead of reporting it as problems."""
    if isinstance(exc, EndpointUnreachable):
        raise exc
    try:
        code = describe(exc)[0]
    except TypeError:
        return
    if code == EXIT_AUTH:
        raise exc
    if check == "apis" and code_of(exc) == "NOT_FOUND" and "project" in str(exc).lower():
        raise NotFoundError(
            f"project {project} was not found, or you may not see it",
            hint="check --project (`gcloud projects list` shows the projects you can see)",
        ) from None


def _unchecked(check: str, exc: Exception) -> Finding | None:
    """A check that could not run, told by :func:`describe`; None for an unexpected error."""
    try:
        _code, line, hint = describe(exc)
    except TypeError:
        return None
    return Finding(check, UNCHECKED, line, hint)


def _update_service(svc: cloudrun.ServiceInfo, flags: str) -> str:
    return f"gcloud run services update {svc.service} --region {svc.region} {flags}"


def _alias_fix(name: str, project: str, live: dict[str, int], expected: dict) -> str:
    """The gcloud command(s) that put the configured aliases where rotate would."""
    base = f"gcloud secrets update {name} --project {project}"
    moves = ",".join(f"{a}={n}" for a, n in expected.items() if n is not None and live.get(a) != n)
    gone = ",".join(a for a, n in expected.items() if n is None and a in live)
    parts = [f"{base} --update-version-aliases={moves}"] if moves else []
    return " && ".join(parts + ([f"{base} --remove-version-aliases={gone}"] if gone else []))


def conditional_public(
    conditional: list[iampolicy.Binding], check: str, fix: Callable[[str, str], str], what: str
) -> list[Finding]:
    """allUsers / allAuthenticatedUsers in a conditional binding: public whenever the condition
    holds (a problem, as an unconditional one is)."""
    return [
        Finding(
            check,
            PROBLEM,
            f"{m} holds {b.role} under condition {b.condition}: {what} is public when it holds",
            fix(m, b.role),
        )
        for b in conditional
        for m in b.members
        if m in PUBLIC
    ]


def only_conditional(
    check: str, member: str, role: str, conditional: list[iampolicy.Binding], harm: str, fix: str
) -> Finding | None:
    """A member who holds ``role`` only through conditional bindings: a warning naming the
    conditions (when one does not hold: ``harm``), instead of "lacks it" or "ok"."""
    conditions = [b.condition for b in conditional if b.role == role and member in b.members]
    if not conditions:
        return None
    held = ", ".join(map(str, conditions))
    message = f"{member} holds {role} only under condition {held}: {harm} when it does not hold"
    return Finding(check, WARNING, message, fix)


def alias_findings(spec: Any, st: secrets.SecretStatus, project: str) -> list[Finding]:
    """The configured aliases (``aliases = ["current", "previous"]``) must name enabled versions,
    newest first, as `secrets rotate` leaves them: one on a disabled or destroyed version breaks
    whatever reads it (problem), an order that runs backwards is a rotation race's leftover
    (problem), and aliases behind the newest enabled version (after `secrets set`) a warning."""
    if not spec.aliases or st.versions is None:
        return []
    check, states = f"secret:{st.name}.aliases", {v.number: v.state for v in st.versions}
    live = {a: st.aliases[a] for a in spec.aliases if a in st.aliases}
    expected = secrets.store.derive_aliases(
        spec.aliases, [n for n, state in states.items() if state == "ENABLED"]
    )
    fix = _alias_fix(st.name, project, live, expected)
    bad = [
        f"{a} -> {n} ({states.get(n, 'missing').lower()})"
        for a, n in live.items()
        if states.get(n) != "ENABLED"
    ]
    if bad:
        return [Finding(check, PROBLEM, f"alias {', '.join(bad)}: reading it fails", fix)]
    order = list(live.items())
    backwards = [
        f"{a} -> {n} is not older than {b} -> {m}" for (b, m), (a, n) in pairwise(order) if n >= m
    ]
    if backwards:
        return [Finding(check, PROBLEM, f"aliases run backwards: {'; '.join(backwards)}", fix)]
    if live != {a: n for a, n in expected.items() if n is not None}:
        shown = ", ".join(f"{a} -> {n}" for a, n in expected.items())
        message = f"aliases lag behind the enabled versions (rotate would set {shown})"
        return [Finding(check, WARNING, message, fix)]
    return [Finding(check, OK, ", ".join(f"{a} -> {n}" for a, n in live.items()) or "none set")]


def pin_behind(svc: cloudrun.ServiceInfo, spec: Any, ref: Any, st: Any) -> Finding | None:
    """A service env var pinned to an enabled version older than the newest enabled one: a
    rotation did not reach the service (or a slow one pinned backwards)."""
    enabled = [v.number for v in (st.versions or []) if v.state == "ENABLED"]
    if not ref.version.isdigit() or not enabled or int(ref.version) >= max(enabled):
        return None
    newest = max(enabled)
    return Finding(
        f"service.env.{spec.env}",
        PROBLEM,
        f"{spec.env} pins {spec.name} version {ref.version}, but version {newest} is the newest "
        "enabled one: the service still reads the old value",
        _update_service(svc, f"--update-secrets {spec.env}={spec.name}:{newest}"),
    )


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

    def guarded(self, check: str, fn: Callable[[], None]) -> None:
        """Run one check; an expected error makes it ``unchecked`` (anything else propagates, and
        so do errors about the caller rather than the project: see :func:`_not_about_project`)."""
        try:
            fn()
        except Exception as exc:
            _not_about_project(self.project, check, exc)
            finding = _unchecked(check, exc)
            if finding is None:
                raise
            self.report.unchecked.append(finding)

    # --- APIs and the Cloud Run service ------------------------------------------------------
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
            self.service = svc = cloudrun.get_service(self.clients, cfg)
        except NotFoundError as exc:  # missing, or no URL yet; an API error leaves it unchecked
            _code, line, _hint = describe(exc)
            fix = f"gcloud run deploy {cfg.service} --region {cfg.region} --image IMAGE "
            self.add("service", PROBLEM, line, fix + "--no-allow-unauthenticated")
            return
        self.add("service", OK, f"{svc.service} in {svc.region} at {svc.uri}")
        runtime = cfg.runtime_email(self.project)
        if svc.service_account != runtime:
            self.add(
                "service.account",
                WARNING,
                f"runs as {svc.service_account or 'the default compute account'}, the config "
                f"expects {runtime} (which is the account granted access to the secrets)",
                _update_service(svc, f"--service-account {runtime}"),
            )
        else:
            self.add("service.account", OK, f"runs as {runtime}")
        if svc.invoker_iam_disabled:
            self.add(
                "service.public",
                PROBLEM,
                "the invoker IAM check is disabled: anyone can call /sync",
                _update_service(svc, "--invoker-iam-check"),
            )

    def service_policy(self) -> None:
        if self.service is None:
            return
        svc = self.service
        policy = self.clients.run.get_iam_policy(request=iampolicy.get_request(svc.name))
        bindings = iampolicy.all_bindings(policy)
        conditional = iampolicy.conditional_bindings(policy)
        self.report.findings += conditional_public(
            conditional,
            "service.public",
            lambda m, role: (
                f"gcloud run services remove-iam-policy-binding {svc.service} "
                f"--region {svc.region} --member {m} --role {role} --all"
            ),
            "the service",
        )
        for role, member in _public(bindings):
            self.add(
                "service.public",
                PROBLEM,
                f"{member} holds {role} on the service: it is public",
                f"gcloud run services remove-iam-policy-binding {svc.service} --region "
                f"{svc.region} --member {member} --role {role}",
            )
        member = f"serviceAccount:{self.cfg.scheduler_email(self.project)}"
        only_if = only_conditional(
            "scheduler.invoker",
            member,
            serviceaccounts.INVOKER_ROLE,
            conditional,
            "scheduled calls get 403",
            "thothctl init --only iam",
        )
        if member in bindings.get(serviceaccounts.INVOKER_ROLE, []):
            self.add("scheduler.invoker", OK, f"{member} may invoke the service")
        elif only_if is not None:
            self.report.findings.append(only_if)
        else:
            self.add(
                "scheduler.invoker",
                PROBLEM,
                f"{member} lacks roles/run.invoker on {svc.service}: scheduled calls get 403",
                "thothctl init --only iam",
            )

    def service_env(self) -> None:
        if self.service is None:
            return
        refs = {r.env: r for r in self.service.secret_env}
        for spec in self.cfg.secrets.values():
            self._service_env(spec, refs.get(spec.env))

    def _service_env(self, spec: Any, ref: Any) -> None:
        svc = self.service
        check = f"service.env.{spec.env}"
        fix = _update_service(svc, f"--update-secrets {spec.env}={spec.name}:latest")
        if ref is None:
            if spec.required:
                msg = f"the service does not read {spec.env} from secret {spec.name}"
                self.add(check, WARNING, msg, fix)
            return
        secret_id = ref.secret.rsplit("/", 1)[-1]
        if secret_id != spec.name:
            msg = f"{spec.env} comes from secret {secret_id}, the config says {spec.name}"
            self.add(check, WARNING, msg, fix)
            return
        status = self.secret_status.get(spec.name)
        if status is not None and ref.version.isdigit():
            versions = status.versions or []
            pinned = next((v for v in versions if v.number == int(ref.version)), None)
            if pinned is None or pinned.state != "ENABLED":
                state = pinned.state if pinned else "missing"
                self.add(
                    check,
                    PROBLEM,
                    f"{spec.env} pins {spec.name} version {ref.version}, which is {state}: new "
                    "instances fail to start",
                    f"thothctl secrets rotate {spec.name} --update-service",
                )
                return
        behind = pin_behind(svc, spec, ref, status) if status is not None else None
        if behind is not None:
            self.report.findings.append(behind)
            return
        self.add(check, OK, f"{spec.env} from {spec.name}:{ref.version}")

    # --- the scheduler account and the secrets -----------------------------------------------
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
        for st in secrets.list_secrets(self.clients, self.cfg):
            if not st.configured:
                continue
            self.secret_status[st.name] = st
            if st.exists:
                self._secret(st, f"secret:{st.name}")
            elif st.required:
                self.add(
                    f"secret:{st.name}", PROBLEM, "does not exist", "thothctl init --only secrets"
                )

    def _secret(self, st: secrets.SecretStatus, check: str) -> None:
        latest = st.latest
        if latest is None:
            self.add(check, PROBLEM, "has no version", f"thothctl secrets set {st.name}")
        elif latest.state != "ENABLED":
            self.add(
                check,
                PROBLEM,
                f"latest version {latest.number} is {latest.state}: anything reading 'latest' fails",
                f"thothctl secrets rotate {st.name}",
            )
        else:
            self.add(check, OK, f"latest version {latest.number} enabled")
        spec = self.cfg.secrets[st.name]
        self.report.findings.extend(alias_findings(spec, st, self.project))
        bindings = st.bindings or {}
        runtime = f"serviceAccount:{self.cfg.runtime_email(self.project)}"
        conditional = st.conditional_bindings or []
        only_if = only_conditional(
            f"{check}.access",
            runtime,
            secrets.ACCESSOR_ROLE,
            conditional,
            "the service fails to start",
            f"thothctl secrets grant {st.name} {runtime}",
        )
        self.report.findings += conditional_public(
            conditional,
            f"{check}.public",
            lambda m, role: f"thothctl secrets revoke {st.name} {m} --role {role} --all-conditions",
            "the secret",
        )
        if runtime in bindings.get(secrets.ACCESSOR_ROLE, []):
            self.add(f"{check}.access", OK, f"{runtime} can access it")
        elif only_if is not None:
            self.report.findings.append(only_if)
        else:
            self.add(
                f"{check}.access",
                PROBLEM,
                f"{runtime} cannot access it: the service fails to start",
                f"thothctl secrets grant {st.name} {runtime}",
            )
        for role, member in _public(bindings):
            self.add(
                f"{check}.public",
                PROBLEM,
                f"{member} holds {role}: the secret is public",
                f"thothctl secrets revoke {st.name} {member} --role {role}",
            )
        disabled = [v.number for v in st.versions or [] if v.state == "DISABLED"]
        if len(disabled) > DISABLED_VERSIONS_WARN:
            self.add(
                f"{check}.billing",
                WARNING,
                f"{len(disabled)} disabled versions ({', '.join(map(str, disabled))}) are "
                "still billed ($0.06 each per month)",
                f"thothctl secrets destroy {st.name} {' '.join(map(str, sorted(disabled)))} --yes",
            )

    def gitlab_token(self) -> None:
        """The stored gitlab-token, asked of GitLab (never shown): active or not, its scopes, days
        to expiry; the fix is the rotate command that renews it."""
        if "secretmanager.googleapis.com" not in self.enabled:
            return
        found = gitlab.stored_token_check(self.clients, self.cfg)
        if found is not None:
            check = f"secret:{gitlab.TOKEN_SECRET}.gitlab"
            self.add(check, found.severity, f"GitLab: {found.message}", found.fix)

    # --- the scheduler jobs ------------------------------------------------------------------
    def jobs_check(self) -> None:
        if "cloudscheduler.googleapis.com" not in self.enabled:
            return
        live = jobs.live_jobs(self.clients, self.cfg)
        for spec in self.cfg.jobs.values():
            job = live.get(spec.id)
            if job is None:
                self.add(
                    f"job:{spec.name}", PROBLEM, f"{spec.id} does not exist", "thothctl jobs apply"
                )
            else:
                self._job(spec, job, f"job:{spec.name}")

    def _job(self, spec: Any, job: Any, check: str) -> None:
        state = job.state.name
        if state == "PAUSED":
            self.add(check, WARNING, f"{spec.id} is paused", f"thothctl jobs resume {spec.name}")
        elif state != "ENABLED":
            self.add(check, PROBLEM, f"{spec.id} is {state}", "thothctl jobs apply")
        uri = self.service.uri if self.service else None
        desired = jobs.desired_fields(spec, uri, self.cfg.scheduler_email(self.project))
        changes = jobs.diff(desired, jobs.live_fields(job))
        target = [c for c in changes if c.field in JOB_TARGET_FIELDS]
        other = [c for c in changes if c not in target]
        for c in target:
            message = f"{c.field} is {c.live or '-'}, should be {c.desired}"
            self.add(f"{check}.target", PROBLEM, message, "thothctl jobs apply")
        if other:
            drift = ", ".join(f"{c.field} {c.live!r} → {c.desired!r}" for c in other)
            self.add(
                f"{check}.drift",
                WARNING,
                f"differs from the config: {drift}",
                "thothctl jobs apply",
            )
        attempt = jobs.last_attempt(job)
        if attempt is not None and not attempt.ok:
            self.add(
                f"{check}.last-attempt",
                PROBLEM,
                f"the last attempt, at {attempt.time:%Y-%m-%d %H:%M} UTC, {attempt.summary}"
                + ("" if attempt.http_status else f": {attempt.message}"),
                f"thothctl logs jobs --job {spec.name} --since 1d",
            )
        elif state == "ENABLED" and not target:
            last = (
                f"; the last attempt, at {attempt.time:%Y-%m-%d %H:%M} UTC: {attempt.summary}"
                if attempt
                else ", not run yet"
            )
            self.add(check, OK, f"{spec.id} enabled{last}")


def run(cfg: Config, clients: Any) -> Report:
    """Run every check against the project; findings in the order a reader walks the setup
    (APIs, the service, the secrets, the scheduler account, the jobs), each area in check order."""
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
                ("secret:gitlab-token.gitlab", checks.gitlab_token),
                ("jobs", checks.jobs_check),
            )
        ]
        for fut in futures:
            fut.result()
    checks.guarded("service.env", checks.service_env)
    if checks.report.unchecked and not checks.report.findings:
        first = checks.report.unchecked[0]
        raise OperationError(
            f"could not check anything in project {checks.project}: {first.message}",
            hint=first.fix or "check the project id and that you may read it (roles/viewer)",
        )
    checks.report.findings.sort(key=lambda f: _area(f.check))
    return checks.report
