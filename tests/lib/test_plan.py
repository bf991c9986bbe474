"""The apply engine: dependencies respected, independent steps concurrent, failures contained."""

from __future__ import annotations

import threading
import time

from thothctl.plan import CREATE, UNCHANGED, Step, execute


def step(sid, deps=(), action=CREATE, run=None):
    return Step(
        id=sid, kind="k", scope="s", resource=sid, action=action, depends_on=list(deps), run=run
    )


def test_dependencies_run_first_and_independent_steps_overlap():
    log: list[tuple[str, str]] = []
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    def work(name):
        def run():
            with lock:
                log.append(("start", name))
                active["now"] += 1
                active["max"] = max(active["max"], active["now"])
            time.sleep(0.05)
            with lock:
                active["now"] -= 1
                log.append(("end", name))
            return f"{name} ok"

        return run

    steps = [
        step("apis", run=work("apis")),
        step("sa", ["apis"], run=work("sa")),
        step("secret", ["apis"], run=work("secret")),
        step("grant", ["sa", "secret"], run=work("grant")),
        step("job", ["grant"], run=work("job")),
    ]
    result = execute(steps)
    assert result.ok
    pos = {e: i for i, e in enumerate(log)}
    assert (
        pos[("end", "apis")] < pos[("start", "sa")]
        and pos[("end", "apis")] < pos[("start", "secret")]
    )
    assert (
        pos[("end", "sa")] < pos[("start", "grant")]
        and pos[("end", "secret")] < pos[("start", "grant")]
    )
    assert pos[("end", "grant")] < pos[("start", "job")]
    assert active["max"] == 2, "sa and secret ran side by side"
    assert [r.detail for r in result.results] == [
        "apis ok",
        "sa ok",
        "secret ok",
        "grant ok",
        "job ok",
    ]


def test_unchanged_steps_are_not_run_and_count_as_met():
    ran = []
    steps = [
        step("a", action=UNCHANGED, run=lambda: ran.append("a")),
        step("b", ["a"], run=lambda: ran.append("b")),
    ]
    assert execute(steps).ok
    assert ran == ["b"]


def test_a_failure_skips_its_dependents_but_not_the_others():
    def boom():
        raise RuntimeError("permission denied")

    steps = [step("a", run=boom), step("b", ["a"], run=lambda: "b"), step("c", run=lambda: "c")]
    result = execute(steps)
    status = {r.step.id: r.status for r in result.results}
    assert status == {"a": "failed", "b": "skipped", "c": "done"}
    assert not result.ok
    assert "permission denied" in result.failed[0].detail
