"""The init plan: read live state, then plan every resource of the config as create / update /
unchanged, each step bound to the function that applies it (:mod:`thothctl.init.apply`).

Steps (ids):            depends on
  apis                  -
  sa:scheduler          apis
  grant:invoker         sa:scheduler           (scheduler account -> run.invoker, on the service)
  secret:NAME           apis
  version:NAME          secret:NAME            (only when the secret has no version yet)
  grant:NAME            secret:NAME            (runtime account -> secretAccessor, per secret)
  job:NAME              apis, sa:scheduler, grant:invoker

``thothctl init`` plans them all (or the scopes of ``--only``); ``thothctl jobs apply`` is the same
plan filtered to the scheduler account, its invoker grant and the selected jobs (``plan_jobs``).
Reads happen in two concurrent waves; a converged project costs one read per resource (batch reads
where the API has them) and no write. ``preflight`` checks the caller's permissions before any
change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from thothctl import apis as apislib
from thothctl import cloudrun, gitlab, jobs, secrets, serviceaccounts
from thothctl.config import Config, SecretSpec
from thothctl.errors import NotFoundError, OperationError, UsageError, code_of
from thothctl.init import apply, values
from thothctl.plan import CREATE, UNCHANGED, UPDATE, FieldChange, Plan, Step
from thothctl.schedule import describe_schedule
from thothctl.words import join, noun, plural

SCOPES = ("apis", "secrets", "iam", "jobs")
SM_API = "secretmanager.googleapis.com"
SCHED_API = "cloudscheduler.googleapis.com"
IAM_API = "iam.googleapis.com"
RUN_API = "run.googleapis.com"
INVOKER_STEPS = ("sa:scheduler", "grant:invoker")


@dataclass
class SecretState:
    spec: SecretSpec
    exists: bool | None  # None: unknown (Secret Manager API not enabled yet)
    versions: int = 0
    accessors: list[str] = field(default_factory=list)

    @property
    def needs_first_version(self) -> bool:
        return not self.exists or self.versions == 0


@dataclass
class LiveState:
    project: str
    apis: list[apislib.ApiState]  # the configured APIs
    enabled_apis: set[str]  # every API read that is enabled (configured or needed)
    service: cloudrun.ServiceInfo
    scheduler_email: str
    runtime_email: str
    account_exists: bool | None = None  # None: unknown (IAM API not enabled yet)
    invokers: list[str] = field(default_factory=list)
    secrets: dict[str, SecretState] = field(default_factory=dict)
    jobs: dict[str, Any] | None = None  # job id -> live Job; None: unknown

    def enabled(self, api: str) -> bool:
        return api in self.enabled_apis

    @property
    def missing_apis(self) -> list[str]:
        return [a.name for a in self.apis if not a.enabled]


# --- reading -----------------------------------------------------------------------------------


def _parallel(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def _read_apis(cfg: Config, clients: Any) -> list[apislib.ApiState]:
    names = list(dict.fromkeys([*cfg.apis, RUN_API, IAM_API, SCHED_API, SM_API]))
    try:
        return apislib.status(clients, names)
    except Exception as exc:
        if code_of(exc) == "NOT_FOUND":
            raise NotFoundError(
                f"project {clients.project!r} not found, or you cannot see it",
                hint="check the id given by --project or THOTHCTL_PROJECT, and that you may see "
                f"the project: `gcloud projects describe {clients.project}`",
            ) from None
        raise


def _try_service(cfg: Config, clients: Any) -> cloudrun.ServiceInfo | BaseException:
    try:
        return cloudrun.get_service(clients, cfg)
    except Exception as exc:  # judged once the API states are known
        return exc


def _read_account(clients: Any, state: LiveState) -> None:
    if state.enabled(IAM_API):
        found = serviceaccounts.get_account(clients, state.scheduler_email)
        state.account_exists = found is not None


def _read_invokers(clients: Any, state: LiveState) -> None:
    state.invokers = serviceaccounts.invokers(clients, state.service.name)


def _read_secrets(cfg: Config, clients: Any, state: LiveState) -> None:
    if not state.enabled(SM_API):
        state.secrets = {n: SecretState(s, None) for n, s in cfg.secrets.items()}
        return
    for st in secrets.list_secrets(clients, cfg):
        if st.configured:
            state.secrets[st.name] = SecretState(
                cfg.secrets[st.name],
                st.exists,
                versions=len(st.versions or []),
                accessors=list((st.bindings or {}).get(secrets.ACCESSOR_ROLE, [])),
            )


def _read_jobs(cfg: Config, clients: Any, state: LiveState) -> None:
    if state.enabled(SCHED_API):
        state.jobs = jobs.live_jobs(clients, cfg)


def read_state(cfg: Config, clients: Any, *, with_secrets: bool = True) -> LiveState:
    """Read what exists, in two concurrent waves. Raises before any change when a prerequisite
    is missing: the project, the Cloud Run service. ``with_secrets=False`` skips the secrets
    (``jobs apply`` does not touch them)."""
    states, service = _parallel(
        partial(_read_apis, cfg, clients), partial(_try_service, cfg, clients)
    )
    if not any(s.name == RUN_API and s.enabled for s in states):
        raise cloudrun.missing_service_error(clients, cfg)
    if isinstance(service, BaseException):
        raise service
    state = LiveState(
        project=clients.project,
        apis=[s for s in states if s.name in cfg.apis],
        enabled_apis={s.name for s in states if s.enabled},
        service=service,
        scheduler_email=cfg.scheduler_email(clients.project),
        runtime_email=cfg.runtime_email(clients.project),
    )
    readers = [
        partial(_read_account, clients, state),
        partial(_read_invokers, clients, state),
        partial(_read_jobs, cfg, clients, state),
    ]
    if with_secrets:
        readers.append(partial(_read_secrets, cfg, clients, state))
    _parallel(*readers)
    return state


# --- planning, one resource kind at a time -----------------------------------------------------


def _api_step(clients: Any, state: LiveState) -> Step:
    missing = state.missing_apis
    count = f"{len(missing)} of {len(state.apis)} APIs" if missing else f"{len(state.apis)} APIs"
    return Step(
        id="apis",
        kind="apis",
        scope="apis",
        resource=count,
        action=CREATE if missing else UNCHANGED,
        changes=[FieldChange(a, "disabled", "enabled") for a in missing],
        note="enable in one batch" if missing else "all enabled",
        run=partial(apply.enable_apis, clients, missing),
    )


# step id prefix -> (kind, scope, the API whose state decides whether the resource is known)
_ENSURED = {
    "sa": ("service-account", "iam", "IAM"),
    "secret": ("secret", "secrets", "Secret Manager"),
}


def _ensure_step(sid: str, resource: str, exists: bool | None, run: Any) -> Step:
    """A resource that exists or is created (``exists`` None: unknown, its API is still off)."""
    kind, scope, api = _ENSURED[sid.split(":", 1)[0]]
    return Step(
        id=sid,
        kind=kind,
        scope=scope,
        resource=resource,
        action=UNCHANGED if exists else CREATE,
        depends_on=["apis"],
        note="" if exists is not None else f"{api} API not enabled yet",
        run=run,
    )


def _grant_step(
    sid: str, resource: str, member: str, holders: list[str], on: str, run: Any
) -> Step:
    """One role for one member on one resource, granted after the step ``on``."""
    return Step(
        id=sid,
        kind="iam",
        scope="iam",
        resource=resource,
        note=member,
        action=UNCHANGED if member in holders else CREATE,
        depends_on=[on],
        run=run,
    )


def _invoker_steps(cfg: Config, clients: Any, state: LiveState) -> list[Step]:
    """The scheduler service account and its invoker grant on the service (never project-wide)."""
    email = state.scheduler_email
    run = partial(apply.ensure_account, clients, email)
    account = _ensure_step("sa:scheduler", email, state.account_exists, run)
    grant = _grant_step(
        "grant:invoker",
        f"run.invoker on {cfg.service}",
        f"serviceAccount:{email}",
        state.invokers,
        "sa:scheduler",
        partial(apply.grant_invoker, clients, state.service.name, email),
    )
    return [account, grant]


def _version_step(clients: Any, name: str, sec: SecretState, value: Any) -> Step:
    """The first version, when the secret has none; a secret with versions is left alone."""
    if sec.needs_first_version:
        resource, action = name, CREATE
        note = (
            getattr(value, "note", None) or f"value from {value.source}"
            if value is not None
            else f"value from the prompt or ${sec.spec.env}"
        )
    else:
        resource, action = name, UNCHANGED
        note = f"{plural(sec.versions, 'version')}, kept (secrets rotate changes the value)"
    return Step(
        id=f"version:{name}",
        kind="secret-version",
        scope="secrets",
        resource=resource,
        action=action,
        depends_on=[f"secret:{name}"],
        note=note,
        run=partial(apply.add_first_version, clients, name, value) if action == CREATE else None,
    )


def _secret_steps(
    clients: Any, state: LiveState, first_values: Mapping[str, secrets.SecretValue | None]
) -> list[Step]:
    """Per secret: the secret, its first version, the runtime account's accessor grant."""
    runtime_member = f"serviceAccount:{state.runtime_email}"
    steps: list[Step] = []
    for name, sec in state.secrets.items():
        value = first_values.get(name)
        if not sec.exists and value is None and not sec.spec.required:
            continue  # optional, no value given: skipped entirely
        run = partial(apply.create_secret, clients, name)
        secret = _ensure_step(f"secret:{name}", name, sec.exists, run)
        grant = _grant_step(
            f"grant:{name}",
            f"secretAccessor on {name}",
            runtime_member,
            sec.accessors,
            f"secret:{name}",
            partial(apply.grant_accessor, clients, name, runtime_member),
        )
        steps += [secret, _version_step(clients, name, sec, value), grant]
    return steps


def _job_step(cfg: Config, clients: Any, state: LiveState, spec: Any) -> Step:
    """A missing job is created with every field (each change: live None -> desired); a live one
    is updated in the fields that differ."""
    desired = jobs.desired_fields(spec, state.service.uri, state.scheduler_email)
    message = jobs.job_message(spec, f"{jobs.parent(clients, cfg)}/jobs/{spec.id}", desired)
    live = (state.jobs or {}).get(spec.id)
    changes = jobs.diff(desired, {} if live is None else jobs.live_fields(live))
    action = CREATE if live is None else UPDATE if changes else UNCHANGED
    return Step(
        id=f"job:{spec.name}",
        kind="job",
        scope="jobs",
        resource=f"{spec.name} ({spec.id})",
        action=action,
        changes=changes,
        depends_on=["apis", *INVOKER_STEPS],
        note=describe_schedule(spec.schedule, spec.time_zone),
        run=partial(jobs.ensure_job, clients, cfg, message, desired, exists=live is not None),
    )


def build_plan(
    cfg: Config,
    clients: Any,
    state: LiveState,
    first_values: Mapping[str, secrets.SecretValue | None],
    *,
    only: Iterable[str] | None = None,
) -> Plan:
    """Every resource as create / update / unchanged, with the function that applies it.

    ``first_values`` holds the first version of each secret that needs one (None: skip an optional
    secret). A secret that has versions is never given a new one here."""
    scopes = set(only or SCOPES)
    steps = [
        _api_step(clients, state),
        *_invoker_steps(cfg, clients, state),
        *_secret_steps(clients, state, first_values),
        *(_job_step(cfg, clients, state, spec) for spec in cfg.jobs.values()),
    ]
    return Plan([s for s in steps if s.scope in scopes], project=state.project)


# --- before any change -------------------------------------------------------------------------


def parse_scopes(only: Sequence[str] | None) -> set[str] | None:
    """``--only`` values (repeatable, comma-separated) -> scopes; None: everything."""
    if not only:
        return None
    parts = [part.strip() for item in only for part in item.split(",")]
    bad = next((p for p in parts if p not in SCOPES), None)
    if bad is not None:
        raise UsageError(f"--only {bad!r} is not one of {', '.join(SCOPES)}")
    return set(parts)


def secrets_needing_values(state: LiveState, only: Iterable[str] | None = None) -> list[SecretSpec]:
    """Secrets whose first version init must add (in the order of the config)."""
    if only and "secrets" not in set(only):
        return []
    return [s.spec for s in state.secrets.values() if s.needs_first_version]


def preflight(clients: Any, state: LiveState, plan: Plan) -> None:
    """The one permission pre-check, before any change: when the plan grants the invoker role,
    the caller must be allowed to (TestIamPermissions on the service)."""
    if any(s.id == "grant:invoker" for s in plan.pending):
        serviceaccounts.check_invoker_permissions(clients, state.service.name)


@dataclass
class Draft:
    """The init plan before any prompt, to show first. ``asks``: the values the prompt asks for
    next (each stands as :class:`values.Asked` in the plan); :func:`finish_init` then builds the
    plan to apply from the answers."""

    plan: Plan
    asks: list[values.ValueNeed]
    first: dict[str, Any]
    cfg: Config
    clients: Any
    state: LiveState
    only: Iterable[str] | None


def draft_init(
    cfg: Config,
    clients: Any,
    state: LiveState,
    *,
    only: Iterable[str] | None,
    environ: Mapping[str, str],
    can_prompt: bool,
    dry_run: bool,
) -> Draft:
    """``init`` up to the prompts: where each first secret value comes from (env var, prompt,
    default, or skip; see :mod:`thothctl.init.values`), the plan, and unless ``dry_run`` the
    permission pre-check. Only a secret that needs a first version is asked for; an optional
    one only when there is something else to apply (a converged project asks nothing).
    Everything that can fail before a change, except an answer, fails here."""
    specs = secrets_needing_values(state, only)
    needs = values.value_needs(specs, environ, can_prompt=can_prompt, dry_run=dry_run)
    first = values.first_values(needs, ask_optional=False)
    plan = build_plan(cfg, clients, state, first, only=only)
    if plan.pending and any(n.source == values.PROMPT and not n.spec.required for n in needs):
        first = values.first_values(needs)
        plan = build_plan(cfg, clients, state, first, only=only)
    asks = [n for n in needs if isinstance(first.get(n.name), values.Asked)]
    if not dry_run:
        preflight(clients, state, plan)
    return Draft(plan, asks, first, cfg, clients, state, only)


def finish_init(
    draft: Draft, answers: Mapping[str, secrets.SecretValue | None], *, verify: bool = True
) -> Plan:
    """The plan to apply: the draft's, with the answers to its prompts (None: skipped). A first
    gitlab-token is checked with GitLab first (unless not ``verify``: `init --no-verify`):
    refused (exit 2) before anything is written."""
    first = {**draft.first, **answers}
    token = gitlab.check_first_token(draft.clients, draft.cfg, first) if verify else None
    plan = build_plan(draft.cfg, draft.clients, draft.state, first, only=draft.only)
    for step in plan.steps if token is not None else ():
        if step.id == f"version:{gitlab.TOKEN_SECRET}" and step.run is not None:
            said = f"GitLab: {token.message}" + (" (warning)" if token.warning else "")
            step.note, step.run = f"{step.note}; {said}", partial(_noted, step.run, said)
    return plan


def _noted(run: Callable[[], str | None], note: str) -> str:
    return f"{run()}; {note}"


def plan_init(
    cfg: Config,
    clients: Any,
    state: LiveState,
    *,
    only: Iterable[str] | None,
    environ: Mapping[str, str],
    can_prompt: bool,
    dry_run: bool,
    ask: Callable[[values.ValueNeed], str],
) -> Plan:
    """``init`` in one call: :func:`draft_init`, ``ask`` for each value it needs (the text typed,
    checked here), then :func:`finish_init`."""
    draft = draft_init(
        cfg, clients, state, only=only, environ=environ, can_prompt=can_prompt, dry_run=dry_run
    )
    return finish_init(draft, values.collect_values(draft.asks, ask))


def plan_jobs(cfg: Config, clients: Any, names: Sequence[str] = (), *, dry_run: bool) -> Plan:
    """``jobs apply``: the init plan filtered to the scheduler account, its invoker grant and the
    named jobs (default: all configured). Unknown names, and the IAM or Cloud Scheduler API still
    disabled, fail before any change; so does a caller who may not grant the invoker role (unless
    ``dry_run``)."""
    wanted = {f"job:{cfg.job(n).name}" for n in names} or {f"job:{n}" for n in cfg.jobs}
    state = read_state(cfg, clients, with_secrets=False)
    off = [a for a in (IAM_API, SCHED_API) if not state.enabled(a)]
    if off:
        raise OperationError(
            f"{join(off)} {noun(len(off), 'is')} not enabled in {clients.project}",
            hint="enable them with `thothctl apis enable`",
        )
    full = build_plan(cfg, clients, state, {}, only=("iam", "jobs"))
    plan = Plan([s for s in full.steps if s.id in INVOKER_STEPS or s.id in wanted], full.project)
    if not dry_run:
        preflight(clients, state, plan)
    return plan
