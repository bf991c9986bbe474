"""Plan, then apply: a plan is a list of steps over resources, each *create*, *update* (with the
fields that differ, live -> desired) or *unchanged*, with dependencies. ``execute`` runs the steps
that change something concurrently along the dependency graph: a step starts as soon as everything
it depends on has succeeded; a failed step skips its dependents and the rest carries on.

Nothing here knows about Google; :mod:`thothctl.init.plan` builds the plan for ``thothctl init``
and, filtered to the scheduler account, its invoker grant and the jobs, for ``thothctl jobs apply``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from thothctl import errors

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass(frozen=True)
class FieldChange:
    """One field of a resource that differs: what is live, and what the configuration wants."""

    field: str
    live: Any
    desired: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "live": self.live, "desired": self.desired}


@dataclass
class Step:
    id: str
    kind: str
    scope: str
    resource: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    note: str = ""
    run: Callable[[], str | None] | None = None

    @property
    def pending(self) -> bool:
        return self.action != UNCHANGED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "resource": self.resource,
            "action": self.action,
            "changes": [c.to_json() for c in self.changes],
            "depends_on": self.depends_on,
            "note": self.note,
        }


@dataclass
class Plan:
    steps: list[Step]
    project: str = ""

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.pending]

    def counts(self) -> dict[str, int]:
        out = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for step in self.steps:
            out[step.action] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "steps": [s.to_json() for s in self.steps],
            "summary": self.counts(),
        }


@dataclass
class StepResult:
    step: Step
    status: str  # done | failed | skipped
    detail: str = ""  # what was done; for a failure, the one line of errors.describe
    seconds: float = 0.0
    error: BaseException | None = None
    hint: str | None = None  # for a failure: what to do about it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.step.id,
            "action": self.step.action,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ApplyResult:
    results: list[StepResult]

    @property
    def ok(self) -> bool:
        return all(r.status == "done" for r in self.results)

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if r.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [r.to_json() for r in self.results]}


def report(plan: Plan, *, dry_run: bool, applied: ApplyResult | None = None) -> dict[str, Any]:
    """The JSON document of ``init`` and ``jobs apply``: the plan, and what applying it did."""
    doc: dict[str, Any] = {"dry_run": dry_run, "changed": applied is not None}
    doc["plan"] = plan.to_json()
    if applied is not None:
        doc["applied"] = applied.to_json()
    return doc


Event = Callable[[str, Step, StepResult | None], None]


def _failure(exc: BaseException) -> tuple[str, str | None]:
    """One line and a hint for a failed step (errors.describe; unexpected errors by type)."""
    try:
        _code, line, hint = errors.describe(exc)
    except TypeError:
        return f"{type(exc).__name__}: {exc}", None
    return line, hint


def _run(step: Step, emit: Event) -> StepResult:
    emit("start", step, None)
    start = time.monotonic()
    try:
        detail = step.run() if step.run else None
        result = StepResult(step, "done", detail or "", time.monotonic() - start)
    except Exception as exc:  # reported per step, as text made once (errors.describe)
        line, hint = _failure(exc)
        result = StepResult(step, "failed", line, time.monotonic() - start, exc, hint)
    emit("end", step, result)
    return result


class _Graph:
    """The pending steps, their results so far, and the ones running."""

    def __init__(self, steps: Iterable[Step], emit: Event):
        self.todo = {s.id: s for s in steps if s.pending}
        self.results: dict[str, StepResult] = {}
        self.running: dict[Future[StepResult], str] = {}
        self.emit = emit

    @property
    def finished(self) -> bool:
        return len(self.results) >= len(self.todo)

    def _blocker(self, step: Step) -> str | None:
        """ "": can start; None: wait; else the id of a dependency that did not succeed.

        Dependencies on steps that are not pending (unchanged, or outside the plan) count as met."""
        for dep in step.depends_on:
            if dep not in self.todo:
                continue
            result = self.results.get(dep)
            if result is None:
                return None
            if result.status != "done":
                return dep
        return ""

    def advance(self, pool: ThreadPoolExecutor) -> bool:
        """Start every step that can start, skip every step whose dependency failed."""
        progressed = False
        for sid, step in self.todo.items():
            if sid in self.results or sid in self.running.values():
                continue
            blocker = self._blocker(step)
            if blocker:
                self.results[sid] = StepResult(step, "skipped", f"needs {blocker}")
                self.emit("end", step, self.results[sid])
            elif blocker == "":
                self.running[pool.submit(_run, step, self.emit)] = sid
            progressed = progressed or blocker is not None
        return progressed

    def collect(self) -> None:
        done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
        for fut in done:
            self.results[self.running.pop(fut)] = fut.result()

    def skip_rest(self, why: str) -> None:
        for sid, step in self.todo.items():
            self.results.setdefault(sid, StepResult(step, "skipped", why))

    def outcome(self) -> ApplyResult:
        order = {s: i for i, s in enumerate(self.todo)}
        return ApplyResult(sorted(self.results.values(), key=lambda r: order[r.step.id]))


def execute(
    steps: Iterable[Step],
    *,
    max_workers: int = 8,
    on_event: Event | None = None,
) -> ApplyResult:
    """Run the pending steps concurrently along their dependencies.

    Dependencies on steps that are not pending (unchanged, or outside the scope) count as met.
    A KeyboardInterrupt stops scheduling new steps, waits for the running ones, and re-raises.
    """
    graph = _Graph(steps, on_event or (lambda *_: None))
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="apply") as pool:
        try:
            while not graph.finished:
                progressed = graph.advance(pool)
                if graph.running:
                    graph.collect()
                elif not progressed:
                    # a cycle or a dependency that can never finish: skip what is left
                    graph.skip_rest("dependency cycle")
        except KeyboardInterrupt:
            for fut in graph.running:
                fut.cancel()
            raise
    return graph.outcome()
