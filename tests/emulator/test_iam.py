"""IAM admin service accounts in the emulator, through the official client (docs/emulator.md, "IAM")."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc


def test_runtime_account_is_seeded_and_listed(clients, enabled_apis):
    accounts = list(clients.iam.list_service_accounts(request={"name": "projects/thoth-local"}))
    assert [a.email for a in accounts] == ["thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"]


def test_create_then_get_by_email_unique_id_and_dash(clients, enabled_apis):
    created = clients.iam.create_service_account(
        request={
            "name": "projects/thoth-local",
            "account_id": "thoth-scheduler",
            "service_account": {"display_name": "Thoth scheduler"},
        }
    )
    email = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"
    assert created.email == email
    assert created.name == f"projects/thoth-local/serviceAccounts/{email}"
    assert created.unique_id.isdigit() and len(created.unique_id) == 21
    for name in (
        f"projects/-/serviceAccounts/{email}",
        f"projects/thoth-local/serviceAccounts/{created.unique_id}",
    ):
        assert (
            clients.iam.get_service_account(request={"name": name}).display_name
            == "Thoth scheduler"
        )


def test_duplicate_account_is_already_exists(clients, enabled_apis):
    req = {"name": "projects/thoth-local", "account_id": "thoth-mcp-sa"}
    with pytest.raises(gexc.AlreadyExists) as err:
        clients.iam.create_service_account(request=req)
    assert (
        "Service account thoth-mcp-sa already exists within project projects/thoth-local."
        in str(err.value)
    )


@pytest.mark.parametrize(
    ("account_id", "message"),
    [
        ("short", 'The account ID "short" does not have a length between 6 and 30.'),
        ("x" * 31, "does not have a length between 6 and 30"),
        ("Thoth-Scheduler", "does not match"),
        ("thoth-scheduler-", "does not match"),
        ("1thoth", "does not match"),
    ],
)
def test_account_id_rules(clients, enabled_apis, account_id, message):
    with pytest.raises(gexc.InvalidArgument) as err:
        clients.iam.create_service_account(
            request={"name": "projects/thoth-local", "account_id": account_id}
        )
    assert message in str(err.value)


def test_missing_account_and_project_are_not_found(clients, enabled_apis):
    with pytest.raises(gexc.NotFound) as err:
        clients.iam.get_service_account(
            request={"name": "projects/-/serviceAccounts/ghost@thoth-local.iam.gserviceaccount.com"}
        )
    assert "does not exist" in str(err.value)
    with pytest.raises(gexc.NotFound):
        list(clients.iam.list_service_accounts(request={"name": "projects/nope-project"}))


def test_iam_api_must_be_enabled(clients, emulator):
    with pytest.raises(gexc.PermissionDenied) as err:
        list(clients.iam.list_service_accounts(request={"name": "projects/thoth-local"}))
    assert "Identity and Access Management (IAM) API has not been used" in str(err.value)
