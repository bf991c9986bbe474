"""Two rotations of one secret at once, interleaved deterministically: each rotation runs in its
own thread through the official clients against the emulator, and pauses at the calls the story
names until the other rotation has reached its own step. Whatever the interleaving, the aliases
and the service's pin end on the newest enabled version, the aliases in order, and neither
rotation fails on the other's leftovers."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from thothctl import cloudrun, doctor
from thothctl.config import load_config
from thothctl.secrets import rotate, store
from thothctl.secrets.values import SecretValue

NAME = "gitlab-token"
WAIT = 15.0  # seconds a paused rotation waits for the other before the test gives up


class Steps:
    """Named events the two rotations hand each other."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, name: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(name, threading.Event())

    def done(self, name: str) -> Callable[[], None]:
        return self._event(name).set

    def after(self, name: str) -> Callable[[], None]:
        def wait() -> None:
            if not self._event(name).wait(WAIT):
                raise AssertionError(f"the other rotation never reached {name!r}")

        return wait


def both(*steps: Callable[[], None]) -> Callable[[], None]:
    return lambda: [step() for step in steps]


class _Paused:
    def __init__(self, inner, prefix: str, hooks: dict) -> None:
        self._inner, self._prefix, self._hooks = inner, prefix, hooks

    def __getattr__(self, method: str):
        call = getattr(self._inner, method)
        key = f"{self._prefix}.{method}"
        if key not in self._hooks:
            return call

        def paused(*args, **kwargs):
            before, after = self._hooks.pop(key, (None, None))  # the first such call only
            if before:
                before()
            try:
                return call(*args, **kwargs)
            finally:
                if after:
                    after()

        return paused


class Paced:
    """The clients bundle, unchanged, except that the first call of each named method
    ("secrets.update_secret", "run.update_service") runs ``before`` first and ``after`` once it
    answered. The calls themselves go over the wire to the emulator as they are."""

    def __init__(self, clients, hooks: dict[str, tuple]) -> None:
        self._clients, self._hooks = clients, dict(hooks)

    def __getattr__(self, name: str):
        inner = getattr(self._clients, name)
        if name in ("secrets", "run"):
            return _Paused(inner, name, self._hooks)
        return inner


def run_both(first: Callable[[], object], second: Callable[[], object]) -> list:
    results: list = [None, None]

    def runner(i: int, fn: Callable[[], object]) -> None:
        try:
            results[i] = fn()
        except BaseException as exc:  # handed to the test below
            results[i] = exc

    threads = [
        threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate((first, second))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


@pytest.fixture
def config(tmp_path):
    (tmp_path / "thothctl.toml").write_text(
        '[secrets.gitlab-token]\naliases = ["current", "previous"]\n'
    )
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def old_token(enabled_apis, clients):
    store.create(clients, NAME)
    store.add_version(clients, NAME, SecretValue(b"old-token", "test"))
    return NAME


def states(clients) -> dict[int, str]:
    return {v.number: v.state for v in store.versions(clients, NAME)}


def aliases(clients) -> dict[str, int]:
    return store.describe(clients, load_config(environ={}, emulator=True), NAME).aliases


def pinned(clients, config) -> str:
    (ref,) = [
        r for r in cloudrun.get_service(clients, config).secret_env if r.env == "GITLAB_TOKEN"
    ]
    return ref.version


def pin_the_service(clients, config, version: str) -> None:
    svc = cloudrun.get_raw(clients, config)
    for _env, ref in cloudrun.secret_refs(svc, NAME):
        ref.version = version
    clients.wait(clients.run.update_service(request={"service": svc}))


def test_two_rotations_of_one_value_both_succeed_and_the_aliases_skip_the_destroyed_duplicate(
    old_token, clients, config
):
    """Both pass the "already holds this value" check and both add (A gets version 2, B version
    3). A lists the versions while B's duplicate 3 is still enabled; B then destroys it (the
    lowest identical version wins) before A writes its aliases."""
    s = Steps()
    a = Paced(
        clients,
        {
            "secrets.add_secret_version": (
                s.after("b checked"),
                both(s.done("a added"), s.after("b added")),
            ),
            "secrets.update_secret": (both(s.done("a listed"), s.after("b destroyed")), None),
        },
    )
    b = Paced(
        clients,
        {
            "secrets.add_secret_version": (
                both(s.done("b checked"), s.after("a added")),
                s.done("b added"),
            ),
            "secrets.destroy_secret_version": (s.after("a listed"), s.done("b destroyed")),
        },
    )
    value = SecretValue(b"new-token", "test")
    ra, rb = run_both(
        lambda: rotate.rotate(a, config, old_token, value),
        lambda: rotate.rotate(b, config, old_token, value),
    )

    assert (ra.add.version, ra.add.added) == (2, True)
    assert (rb.add.version, rb.add.added) == (2, False) and "destroyed" in rb.add.note
    assert states(clients) == {1: "ENABLED", 2: "ENABLED", 3: "DESTROYED"}
    assert aliases(clients) == {"current": 2, "previous": 1}
    assert store.access(clients, old_token, "current") == (2, b"new-token")


def test_a_slow_rotate_with_update_service_racing_a_plain_rotate_pins_the_newest_version(
    old_token, clients, config
):
    """A (rotate --update-service) adds version 2, then its UpdateService is slow; meanwhile B (a
    plain rotate) adds version 3 and finishes. A's pin and aliases must not go backwards."""
    pin_the_service(clients, config, "1")
    s = Steps()
    a = Paced(
        clients, {"run.update_service": (both(s.done("a updating"), s.after("b done")), None)}
    )

    def plain_rotate():
        s.after("a updating")()
        try:
            return rotate.rotate(clients, config, old_token, SecretValue(b"token-b", "test"))
        finally:
            s.done("b done")()

    ra, rb = run_both(
        lambda: rotate.rotate(
            a, config, old_token, SecretValue(b"token-a", "test"), update_run_service=True
        ),
        plain_rotate,
    )

    assert (ra.add.version, rb.add.version) == (2, 3)
    assert pinned(clients, config) == "3"
    assert aliases(clients) == {"current": 3, "previous": 2}
    assert states(clients)[3] == "ENABLED" and states(clients)[2] == "ENABLED"
    assert ra.service.version == 3
    (note,) = [n for n in ra.notes if n.kind is rotate.NoteKind.SUPERSEDED]
    assert "version 3" in note.text
    report = doctor.run(config, clients)
    assert not [f for f in report.findings if f.level == doctor.PROBLEM and NAME in f.message]


def test_disable_previous_removes_the_previous_alias_instead_of_leaving_it_on_a_disabled_version(
    old_token, clients, config
):
    first = rotate.rotate(clients, config, old_token, SecretValue(b"token-2", "test"))
    assert first.aliases == {"current": 2, "previous": 1}

    result = rotate.rotate(clients, config, old_token, SecretValue(b"token-3", "test"), keep=1)

    assert result.disabled == [2, 1] and result.aliases == {"current": 3, "previous": None}
    assert states(clients) == {1: "DISABLED", 2: "DISABLED", 3: "ENABLED"}
    assert aliases(clients) == {"current": 3}
    report = doctor.run(config, clients)
    assert [f.level for f in report.findings if f.check == f"secret:{NAME}.aliases"] == ["ok"]


def test_doctor_flags_aliases_and_pins_left_backwards_with_the_exact_fix(
    old_token, clients, config
):
    """What the race used to leave behind: current on 2, previous on the newer 3, the service
    pinned to 2 while 3 is the newest enabled version."""
    for data in (b"token-2", b"token-3"):
        store.add_version(clients, old_token, SecretValue(data, "test"))
    secret = f"projects/thoth-local/secrets/{NAME}"
    clients.secrets.update_secret(
        request={
            "secret": {"name": secret, "version_aliases": {"current": 2, "previous": 3}},
            "update_mask": {"paths": ["version_aliases"]},
        }
    )
    pin_the_service(clients, config, "2")

    found = {f.check: f for f in doctor.run(config, clients).problems}

    assert found[f"secret:{NAME}.aliases"].message == (
        "aliases run backwards: previous -> 3 is not older than current -> 2"
    )
    assert found[f"secret:{NAME}.aliases"].fix == (
        f"gcloud secrets update {NAME} --project thoth-local "
        "--update-version-aliases=current=3,previous=2"
    )
    pin = found["service.env.GITLAB_TOKEN"]
    assert "version 3 is the newest enabled" in pin.message
    assert pin.fix == (
        "gcloud run services update thoth-mcp-server --region us-central1 "
        f"--update-secrets GITLAB_TOKEN={NAME}:3"
    )

    store.set_state(clients, old_token, "3", "disable")
    found = {f.check: f for f in doctor.run(config, clients).problems}
    assert (
        found[f"secret:{NAME}.aliases"].message
        == "alias previous -> 3 (disabled): reading it fails"
    )
    assert found[f"secret:{NAME}.aliases"].fix.endswith("--update-version-aliases=previous=1")


def test_a_version_an_operator_enables_during_a_rotation_is_not_destroyed_behind_their_back(
    old_token, clients, config
):
    """rotate --destroy-old --keep 1 lists version 1 (disabled) as one to destroy; before it gets
    there, an operator enables version 1 again to roll back. Each retirement is guarded by the
    etag the version was listed with: version 1 is left as the operator left it, and said so."""
    store.add_version(clients, old_token, SecretValue(b"mid-token", "test"))
    store.set_state(clients, old_token, "1", "disable")
    s = Steps()
    rotating = Paced(
        clients,
        {
            "secrets.destroy_secret_version": (
                both(s.done("rotation destroying"), s.after("operator enabled 1")),
                None,
            )
        },
    )

    def operator():
        s.after("rotation destroying")()
        store.set_state(clients, old_token, "1", "enable")
        s.done("operator enabled 1")()

    result, _ = run_both(
        lambda: rotate.rotate(
            rotating, config, old_token, SecretValue(b"new-token", "test"), keep=1, destroy_old=True
        ),
        operator,
    )

    assert states(clients) == {1: "ENABLED", 2: "DESTROYED", 3: "ENABLED"}
    assert result.destroyed == [2]
    (note,) = [n for n in result.notes if n.kind is rotate.NoteKind.CHANGED]
    assert note.warning and "version 1" in note.text
    assert aliases(clients) == {"current": 3, "previous": 1}
