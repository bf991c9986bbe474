"""`thothctl apis status|enable` against the emulator, checked through the official client."""

from __future__ import annotations

THOTH = [
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
]


def enabled_in_emulator(clients) -> set[str]:
    pager = clients.serviceusage.list_services(
        request={"parent": "projects/thoth-local", "filter": "state:ENABLED"}
    )
    return {s.config.name for s in pager}


def test_status_shows_the_required_apis_and_their_state(cli, emulator):
    result = cli("apis", "status", "-o", "json")
    assert result.exit_code == 0, result.output
    states = {a["name"]: a["state"] for a in result.json()}
    assert list(states) == THOTH
    assert states["run.googleapis.com"] == "ENABLED"  # the deployed service needs it
    assert states["secretmanager.googleapis.com"] == "DISABLED"
    assert set(result.json()[0]) == {"name", "title", "state"}


def test_enable_turns_on_the_missing_ones_in_one_batch_and_is_idempotent(cli, emulator, clients):
    emulator.calls.reset()
    result = cli("apis", "enable")
    assert result.exit_code == 0, result.output
    assert "Enabled secretmanager.googleapis.com, cloudscheduler.googleapis.com and iam" in (
        result.stderr
    )
    assert set(THOTH) <= enabled_in_emulator(clients)
    mutating = [c.method for c in emulator.calls.snapshot() if c.mutating]
    assert mutating == ["/google.api.serviceusage.v1.ServiceUsage/BatchEnableServices"]

    emulator.calls.reset()
    again = cli("apis", "enable", "-o", "json")
    assert again.exit_code == 0
    assert again.json() == {"enabled": [], "already_enabled": THOTH, "dry_run": False}
    assert not [c for c in emulator.calls.snapshot() if c.mutating]


SERVICE_USAGE = "/google.api.serviceusage.v1.ServiceUsage/"


def service_usage_calls(emulator) -> list[str]:
    """The Service Usage methods the emulator saw, in order (operation polling left out)."""
    return [
        c.method.removeprefix(SERVICE_USAGE)
        for c in emulator.calls.snapshot()
        if c.method.startswith(SERVICE_USAGE)
    ]


def test_enable_reads_the_state_once_then_enables_once(cli, emulator):
    emulator.calls.reset()
    result = cli("apis", "enable")
    assert result.exit_code == 0, result.output
    assert service_usage_calls(emulator) == ["BatchGetServices", "BatchEnableServices"]

    emulator.calls.reset()
    dry = cli("apis", "enable", "pubsub", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert service_usage_calls(emulator) == ["BatchGetServices"]


def test_dry_run_changes_nothing(cli, emulator, clients):
    emulator.calls.reset()
    result = cli("apis", "enable", "--dry-run", "-o", "json")
    assert result.exit_code == 0
    assert result.json()["enabled"] == [
        "secretmanager.googleapis.com",
        "cloudscheduler.googleapis.com",
        "iam.googleapis.com",
    ]
    assert result.json()["dry_run"] is True
    assert not [c for c in emulator.calls.snapshot() if c.mutating]
    assert "secretmanager.googleapis.com" not in enabled_in_emulator(clients)


def test_enable_named_apis_accepts_short_names(cli, emulator, clients):
    result = cli("apis", "enable", "pubsub", "secretmanager")
    assert result.exit_code == 0, result.output
    assert {"pubsub.googleapis.com", "secretmanager.googleapis.com"} <= enabled_in_emulator(clients)
    assert "cloudscheduler.googleapis.com" not in enabled_in_emulator(clients)


def test_bad_api_name_is_refused_before_any_call(cli, emulator):
    emulator.calls.reset()
    result = cli("apis", "enable", "Secret_Manager!")
    assert result.exit_code == 2
    assert "not a valid API name" in result.stderr
    assert emulator.calls.snapshot() == []


def test_unknown_api_is_one_clear_error(cli, emulator):
    result = cli("apis", "enable", "nosuchapi")
    assert result.exit_code == 2
    assert "unknown API nosuchapi.googleapis.com" in result.stderr
    assert "Traceback" not in result.output
    typo = cli("apis", "enable", "pubsb")
    assert typo.exit_code == 2 and "did you mean pubsub.googleapis.com?" in typo.stderr


def test_calling_a_disabled_api_says_how_to_enable_it(cli, emulator, clients):
    from google.api_core import exceptions

    try:
        clients.secrets.list_secrets(request={"parent": "projects/thoth-local"})
    except exceptions.PermissionDenied as exc:
        assert exc.reason == "SERVICE_DISABLED"
        assert "Secret Manager API has not been used in project" in exc.message
        from thothctl.errors import translate_google_error

        err = translate_google_error(exc)
        assert "not enabled" in err.message and "thothctl apis enable" in err.hint
    else:
        raise AssertionError("expected PERMISSION_DENIED for a disabled API")


def test_embedded_emulator_state_persists_between_invocations(cli, local_emulator):
    first = cli("--emulator", "apis", "enable", "secretmanager")
    assert first.exit_code == 0, first.output
    assert local_emulator.exists()
    second = cli("--emulator", "apis", "status", "-o", "json")
    states = {a["name"]: a["state"] for a in second.json()}
    assert states["secretmanager.googleapis.com"] == "ENABLED"
    assert states["cloudscheduler.googleapis.com"] == "DISABLED"
