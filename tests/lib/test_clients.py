"""The one client factory: credentials, impersonation, endpoint overrides, transports.

No call is made to Google here: clients are built and inspected, never used, except against the
emulator."""

from __future__ import annotations

import json

import pytest

from thothctl.clients import Clients, ClientSettings, redact
from thothctl.errors import AuthError


@pytest.fixture
def fake_adc(tmp_path, monkeypatch):
    """A syntactically valid service-account key (generated locally; never used on the network)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = {
        "type": "service_account",
        "project_id": "adc-project-1",
        "private_key_id": "0" * 40,
        "private_key": pem.decode(),
        "client_email": "ci@adc-project-1.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


def test_no_credentials_is_an_auth_error_saying_what_to_run():
    clients = Clients(ClientSettings(project="p-123456", environ={}))
    with pytest.raises(AuthError) as info:
        clients.secrets  # noqa: B018 - building the client needs credentials
    assert info.value.exit_code == 4
    assert "gcloud auth application-default login" in info.value.hint


def test_endpoint_override_implies_rest_for_that_api_only(fake_adc):
    env = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": "http://127.0.0.1:8090/"}
    clients = Clients(ClientSettings(project="p-123456", environ=env))
    sm = clients.secrets.raw
    assert type(sm.transport).__name__.endswith("RestTransport")
    assert sm.transport._host == "http://127.0.0.1:8090"
    sched = clients.scheduler.raw
    assert type(sched.transport).__name__.endswith("GrpcTransport")
    clients.close()


def test_transport_rest_applies_globally(fake_adc):
    clients = Clients(ClientSettings(project="p-123456", transport="rest", environ={}))
    assert type(clients.run.raw.transport).__name__.endswith("RestTransport")
    clients.close()


def test_impersonation_wraps_the_adc_credentials(fake_adc):
    clients = Clients(
        ClientSettings(
            project="p-123456",
            impersonate_service_account="deployer@p-123456.iam.gserviceaccount.com",
            environ={},
        )
    )
    creds = clients.credentials
    assert (
        type(creds).__name__ == "Credentials"
        and type(creds).__module__ == "google.auth.impersonated_credentials"
    )
    assert creds.service_account_email == "deployer@p-123456.iam.gserviceaccount.com"


def test_quota_project_is_set_on_the_credentials(fake_adc):
    clients = Clients(ClientSettings(project="p-123456", quota_project="billing-proj", environ={}))
    assert clients.credentials.quota_project_id == "billing-proj"


def test_adc_project_is_the_last_resort(cli, fake_adc):
    result = cli("config", "show", "-o", "json")
    assert result.json()["values"]["project"]["value"] is None  # config alone does not call ADC
    from thothctl.clients import adc_project

    assert adc_project() == "adc-project-1"


def test_verbose_trace_redacts_payloads():
    shown = redact({"parent": "projects/p/secrets/s", "payload": {"data": b"hunter2"}})
    assert "hunter2" not in shown and "payload=<redacted>" in shown
    assert "projects/p/secrets/s" in shown


def test_emulator_clients_use_an_insecure_loopback_channel(clients, emulator):
    assert clients.settings.emulated
    assert type(clients.credentials).__name__ == "AnonymousCredentials"
    assert clients.serviceusage.get_service(
        request={"name": "projects/thoth-local/services/run.googleapis.com"}
    )
