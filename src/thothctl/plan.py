"""Plan, then apply: a plan is a list of steps over resources, each *create*, *update* (with the
fields, old -> new) or *unchanged*, with dependencies. ``execute`` runs the steps that change
something concurrently along the dependency graph: a step starts as soon as everything it
depends on has succeeded; a failed step skips its dependents and the rest carries on.

Nothing here knows about Google; ``thothctl.setup`` builds the plan for ``thothctl init``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


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
    detail: str = ""
    seconds: float = 0.0
    error: BaseException | None = None

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


Event = Callable[[str, Step, StepResult | None], None]


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
    todo = {s.id: s for s in steps if s.pending}
    results: dict[str, StepResult] = {}
    lock = threading.Lock()
    emit = on_event or (lambda *_: None)

    def ready(step: Step) -> bool | None:
        """True: can start; False: wait; None: a dependency failed (skip)."""
        for dep in step.depends_on:
            if dep not in todo:
                continue
            r = results.get(dep)
            if r is None:
                return False
            if r.status != "done":
                return None
        return True

    def run(step: Step) -> StepResult:
        emit("start", step, None)
        start = time.monotonic()
        try:
            detail = step.run() if step.run else None
            result = StepResult(step, "done", detail or "", time.monotonic() - start)
        except Exception as exc:  # reported per step; the CLI maps it to a message
            result = StepResult(step, "failed", str(exc), time.monotonic() - start, exc)
        emit("end", step, result)
        return result

    running: dict[Future[StepResult], str] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="apply") as pool:
        try:
            while len(results) < len(todo):
                progressed = False
                for sid, step in todo.items():
                    if sid in results or sid in running.values():
                        continue
                    state = ready(step)
                    if state is None:
                        failed_dep = next(
                            d
                            for d in step.depends_on
                            if d in results and results[d].status != "done"
                        )
                        with lock:
                            results[sid] = StepResult(step, "skipped", f"needs {failed_dep}")
                        emit("end", step, results[sid])
                        progressed = True
                    elif state:
                        running[pool.submit(run, step)] = sid
                        progressed = True
                if not running:
                    if not progressed:
                        # a cycle or a dependency that can never finish: skip what is left
                        for sid, step in todo.items():
                            results.setdefault(sid, StepResult(step, "skipped", "dependency cycle"))
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    sid = running.pop(fut)
                    results[sid] = fut.result()
        except KeyboardInterrupt:
            for fut in running:
                fut.cancel()
            raise
    order = {s: i for i, s in enumerate(todo)}
    return ApplyResult(sorted(results.values(), key=lambda r: order[r.step.id]))
