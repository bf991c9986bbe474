"""`apis.status` and `apis.enable` as a library, over the wire to the emulator: the state of all
APIs in one read, the missing ones enabled in one batch, nothing more."""

from __future__ import annotations

import pytest

from thothctl import apis
from thothctl.errors import EXIT_USAGE, describe

THOTH = [
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
]
SERVICE_USAGE = "/google.api.serviceusage.v1.ServiceUsage/"


def calls(emulator) -> list[str]:
    """The Service Usage methods the emulator saw, in order (operation polling left out)."""
    return [
        c.method.removeprefix(SERVICE_USAGE)
        for c in emulator.calls.snapshot()
        if c.method.startswith(SERVICE_USAGE)
    ]


def test_status_reads_every_api_in_one_call(emulator, clients):
    emulator.calls.reset()
    states = apis.status(clients, THOTH)
    assert calls(emulator) == ["BatchGetServices"]
    assert [(s.name, s.enabled) for s in states] == [
        ("secretmanager.googleapis.com", False),
        ("cloudscheduler.googleapis.com", False),
        ("run.googleapis.com", True),  # the deployed service needs it
        ("iam.googleapis.com", False),
    ]
    assert states[0].to_json() == {
        "name": "secretmanager.googleapis.com",
        "title": states[0].title,
        "state": "DISABLED",
    }


def test_enable_reads_once_then_enables_the_missing_ones_once(emulator, clients):
    heard: list[str] = []
    emulator.calls.reset()
    result = apis.enable(clients, THOTH, progress=heard.append)
    assert calls(emulator) == ["BatchGetServices", "BatchEnableServices"]
    assert result.enabled == [a for a in THOTH if a != "run.googleapis.com"]
    assert result.already_enabled == ["run.googleapis.com"] and result.changed
    assert heard == [f"Enabling {', '.join(result.enabled)}…"]
    assert all(s.enabled for s in apis.status(clients, THOTH))

    emulator.calls.reset()
    again = apis.enable(clients, THOTH)
    assert calls(emulator) == ["BatchGetServices"]
    assert again.enabled == [] and again.already_enabled == THOTH and not again.changed


def test_a_dry_run_only_reads(emulator, clients):
    emulator.calls.reset()
    result = apis.enable(clients, THOTH, dry_run=True, progress=pytest.fail)
    assert calls(emulator) == ["BatchGetServices"]
    assert result.dry_run and not result.changed and "iam.googleapis.com" in result.enabled
    assert not apis.status(clients, ["iam.googleapis.com"])[0].enabled


def test_an_unknown_api_is_one_clear_error(emulator, clients):
    with pytest.raises(Exception) as caught:
        apis.enable(clients, ["nosuchapi.googleapis.com"])
    code, line, _hint = describe(caught.value)
    assert code == EXIT_USAGE and "unknown API nosuchapi.googleapis.com" in line
    assert calls(emulator)[-1] == "BatchGetServices"  # nothing was enabled
