"""Outages and credentials as the library meets them, over the wire (issue 12, items 1-3): an
endpoint that cannot be reached is not transient and is named; a true outage is retried to the
deadline and then told in one line with how long it tried; a delay the server asks for is
honoured; refused credentials are not retried; an organization policy is not an etag race."""

from __future__ import annotations

import socket

import pytest

from thothctl import apis, doctor
from thothctl.clients import Clients, ClientSettings
from thothctl.config import load_config
from thothctl.emulator.faults import FaultConfig
from thothctl.errors import (
    EXIT_AUTH,
    AuthError,
    EndpointUnreachable,
    NotFoundError,
    RetriesExhausted,
    describe,
)

P = "projects/thoth-local"


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bundle(deadline: float, **settings) -> Clients:
    environ = {"THOTHCTL_RETRY_DEADLINE": str(deadline), **settings.pop("environ", {})}
    return Clients(ClientSettings(project="thoth-local", environ=environ, **settings))


def _calls(emulator, name: str) -> int:
    return sum(1 for c in emulator.calls.snapshot() if c.method.endswith("/" + name))


def test_a_refused_emulator_is_named_at_once_and_never_retried():
    port = closed_port()
    clients = bundle(5, emulator_host=f"127.0.0.1:{port}")
    with pytest.raises(EndpointUnreachable) as err:
        list(clients.secrets.list_secrets(request={"parent": P}))
    assert clients.stats.retries == 0
    assert err.value.message == f"cannot reach the emulator at 127.0.0.1:{port}: connection refused"
    assert "is the emulator running?" in err.value.hint
    clients.close()


def test_a_refused_rest_endpoint_is_named_too():
    """--transport rest and gcloud-style overrides go through requests, whose connection errors
    are not google-api-core's: they are told the same way."""
    port = closed_port()
    override = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f"http://127.0.0.1:{port}/"}
    clients = bundle(5, environ=override)
    with pytest.raises(EndpointUnreachable) as err:
        list(clients.secrets.list_secrets(request={"parent": P}))
    assert clients.stats.retries == 0
    assert f"127.0.0.1:{port}: connection refused" in err.value.message
    assert "CLOUDSDK_API_ENDPOINT_OVERRIDES_" in err.value.hint
    clients.close()


def test_an_outage_is_retried_to_the_deadline_then_told_with_how_long(enabled_apis):
    enabled_apis.faults.set(FaultConfig(fail_rate=1.0, methods="ListSecrets"))
    clients = bundle(0.5, emulator_host=enabled_apis.address)
    with pytest.raises(RetriesExhausted) as err:
        list(clients.secrets.list_secrets(request={"parent": P}))
    tries = _calls(enabled_apis, "ListSecrets")
    assert tries >= 2 and err.value.tries == tries
    assert err.value.message.startswith(
        "secretmanager.googleapis.com kept failing: UNAVAILABLE: The service is currently "
        "unavailable (injected fault)."
    )
    assert f"{tries} tries)" in err.value.message and "retried for " in err.value.message
    assert describe(err.value)[0] == 1
    clients.close()


def test_a_retry_delay_longer_than_the_deadline_stops_retrying_at_once(enabled_apis):
    """RetryInfo asks for 30 s, the deadline is 5 s: one try, and the line says why (the plain
    backoff would have hammered the quota a dozen times)."""
    enabled_apis.faults.set(FaultConfig(fail_rate=1.0, fail_shape="quota", retry_delay_s=30))
    clients = bundle(5, emulator_host=enabled_apis.address)
    with pytest.raises(RetriesExhausted) as err:
        list(clients.secrets.list_secrets(request={"parent": P}))
    assert _calls(enabled_apis, "ListSecrets") == 1
    assert err.value.message.startswith(
        "quota 'RequestsPerMinutePerProject' of secretmanager.googleapis.com is exhausted "
        "(Google asks to wait 30 s"
    )
    assert err.value.hint.startswith("wait 30 s and re-run, or ask for more quota")
    clients.close()


def test_an_outage_while_polling_an_operation_is_an_outage_not_a_slow_operation(emulator):
    emulator.faults.set(FaultConfig(fail_rate=1.0, methods="GetOperation"))
    clients = bundle(0.5, emulator_host=emulator.address)
    with pytest.raises(RetriesExhausted) as err:
        apis.enable(clients, ["secretmanager.googleapis.com"])
    assert "kept failing: UNAVAILABLE" in err.value.message
    assert "did not finish" not in err.value.message
    clients.close()


def test_revoked_credentials_are_refused_once_not_retried_as_unavailable(enabled_apis):
    """Over gRPC, google-auth's RefreshError arrives as UNAVAILABLE ("Getting metadata from
    plugin failed"): it must not be mistaken for an outage."""
    enabled_apis.faults.set(FaultConfig(fail_rate=1.0, fail_shape="auth-revoked"))
    clients = bundle(5, emulator_host=enabled_apis.address)
    with pytest.raises(AuthError) as err:
        list(clients.secrets.list_secrets(request={"parent": P}))
    assert clients.stats.retries == 0
    assert err.value.exit_code == EXIT_AUTH
    assert err.value.message == (
        "the Google credentials could not be refreshed: invalid_grant: Token has been expired or "
        "revoked"
    )
    assert "gcloud auth application-default login" in err.value.hint
    clients.close()


def test_an_org_policy_refusal_is_not_retried_as_an_etag_race(enabled_apis, clients):
    from thothctl import secrets

    secrets.create(clients, "gitlab-token")
    enabled_apis.faults.set(
        FaultConfig(fail_rate=1.0, fail_shape="org-policy", methods="SecretManagerService/SetIam*")
    )
    with pytest.raises(Exception) as err:
        secrets.grant(clients, "gitlab-token", "user:bob@gmail.com")
    assert _calls(enabled_apis, "SetIamPolicy") == 1
    code, line, hint = describe(err.value)
    assert code == 1
    assert line == (
        "refused by the organization policy constraints/iam.allowedPolicyMemberDomains: User "
        "bob@gmail.com is not in permitted organization"
    )
    assert "gcloud org-policies describe iam.allowedPolicyMemberDomains --project thoth-local" in (
        hint
    )


def test_doctor_without_credentials_is_an_auth_error_not_a_report(tmp_path):
    config = load_config(environ={}, emulator=False, cwd=tmp_path, flags={"project": "thoth-real"})
    clients = Clients(ClientSettings(project="thoth-real", environ={}))
    with pytest.raises(AuthError):
        doctor.run(config, clients)


def test_doctor_of_a_project_that_does_not_exist_says_so_once(emulator, tmp_path):
    config = load_config(environ={}, emulator=True, cwd=tmp_path, flags={"project": "nope-proj"})
    clients = Clients(ClientSettings(project="nope-proj", emulator_host=emulator.address))
    with pytest.raises(NotFoundError) as err:
        doctor.run(config, clients)
    assert err.value.exit_code == 1
    assert err.value.message == "project nope-proj was not found, or you may not see it"
    clients.close()
