"""IAM Conditions: a member who holds a role through a conditional binding (say, access that
expires) is shown with its condition, revoked only when the condition is named, and never lost
or doubled by thothctl's unconditional grants; policies are read and written as version 3, as
Google requires once a policy holds a condition."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from thothctl import doctor, serviceaccounts
from thothctl.config import load_config
from thothctl.errors import UsageError
from thothctl.secrets import iam, store

P = "projects/thoth-local"
SECRET = f"{P}/secrets/gitlab-token"
SERVICE = f"{P}/locations/us-central1/services/thoth-mcp-server"
ALICE = "user:alice@example.com"
RUNTIME = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
SCHEDULER = "serviceAccount:thoth-scheduler@thoth-local.iam.gserviceaccount.com"
EXPIRES = {
    "title": "until-2030",
    "expression": "request.time < timestamp('2030-01-01T00:00:00Z')",
}


def v3(resource: str) -> dict:
    return {"resource": resource, "options": {"requested_policy_version": 3}}


def conditional(role: str, member: str, condition: dict = EXPIRES) -> dict:
    return {"role": role, "members": [member], "condition": condition}


def set_policy(get, set_, resource: str, *bindings: dict) -> None:
    """What someone does with the console or gcloud: add bindings, conditional ones included."""
    policy = get(request=v3(resource))
    set_(
        request={
            "resource": resource,
            "policy": {
                "version": 3,
                "etag": policy.etag,
                "bindings": [*policy.bindings, *bindings],
            },
        }
    )


def secret_policy(clients):
    return clients.secrets.get_iam_policy(request=v3(SECRET))


@pytest.fixture
def config(tmp_path):
    return load_config(environ={}, emulator=True, cwd=tmp_path)


@pytest.fixture
def alice_until_2030(enabled_apis, clients):
    """gitlab-token, readable by Alice until 2030 only (a conditional binding)."""
    store.create(clients, "gitlab-token")
    role = store.ACCESSOR_ROLE
    set_policy(
        clients.secrets.get_iam_policy,
        clients.secrets.set_iam_policy,
        SECRET,
        conditional(role, ALICE),
    )
    return "gitlab-token"


def test_describe_shows_the_condition_and_keeps_it_apart_from_unconditional_access(
    alice_until_2030, clients, config
):
    st = store.describe(clients, config, alice_until_2030)
    assert st.bindings == {}
    assert st.to_json()["conditional_bindings"] == [
        {
            "role": store.ACCESSOR_ROLE,
            "members": [ALICE],
            "condition": {**EXPIRES, "description": ""},
        }
    ]
    assert st.binding_rows == [
        (f"{store.ACCESSOR_ROLE} if 'until-2030' ({EXPIRES['expression']})", [ALICE])
    ]


def test_revoke_of_conditional_access_names_the_condition_and_changes_nothing(
    alice_until_2030, clients
):
    before = secret_policy(clients)
    with pytest.raises(UsageError) as refused:
        iam.revoke(clients, alice_until_2030, ALICE)
    assert str(refused.value) == (
        f"{ALICE} holds {store.ACCESSOR_ROLE} on gitlab-token only under condition "
        f"'until-2030' ({EXPIRES['expression']}); nothing changed"
    )
    assert "--condition 'until-2030'" in refused.value.hint and refused.value.exit_code == 2
    assert secret_policy(clients).etag == before.etag


def test_grant_adds_unconditional_access_once_and_revoke_says_what_stays(
    alice_until_2030, clients, config
):
    granted = iam.grant(clients, alice_until_2030, ALICE)
    assert granted.changed and [c.title for c in granted.conditions] == ["until-2030"]
    st = store.describe(clients, config, alice_until_2030)
    assert st.bindings == {store.ACCESSOR_ROLE: [ALICE]}
    assert [b.members for b in st.conditional_bindings] == [(ALICE,)]  # kept, not doubled
    policy = secret_policy(clients)
    assert policy.version == 3 and policy.bindings[0].condition.title == "until-2030"

    revoked = iam.revoke(clients, alice_until_2030, ALICE)
    assert revoked.changed
    assert revoked.note == (
        f"{ALICE} still holds {store.ACCESSOR_ROLE} on gitlab-token under condition "
        f"'until-2030' ({EXPIRES['expression']})"
    )
    assert store.describe(clients, config, alice_until_2030).bindings == {}

    gone = iam.revoke(clients, alice_until_2030, ALICE, condition="until-2030")
    assert gone.changed and gone.conditions == [] and gone.note is None
    assert list(secret_policy(clients).bindings) == []
    again = iam.revoke(clients, alice_until_2030, ALICE, condition="until-2030")
    assert not again.changed


def test_all_conditions_revokes_every_binding_of_the_role(alice_until_2030, clients):
    other = {"title": "office-hours", "expression": "request.time.getHours('UTC') < 18"}
    set_policy(
        clients.secrets.get_iam_policy,
        clients.secrets.set_iam_policy,
        SECRET,
        conditional(store.ACCESSOR_ROLE, ALICE, other),
        {"role": store.ACCESSOR_ROLE, "members": [ALICE, RUNTIME]},
    )
    result = iam.revoke(clients, alice_until_2030, ALICE, all_conditions=True)
    assert result.changed and result.conditions == []
    assert [(b.role, list(b.members)) for b in secret_policy(clients).bindings] == [
        (store.ACCESSOR_ROLE, [RUNTIME])
    ]


def test_the_cli_names_the_condition_in_describe_grant_and_revoke(alice_until_2030, cli):
    described = cli("secrets", "describe", "gitlab-token")
    assert "if 'until-2030'" in described.stdout and ALICE in described.stdout
    refused = cli("secrets", "revoke", "gitlab-token", ALICE)
    assert refused.exit_code == 2 and "only under condition 'until-2030'" in refused.stderr
    assert "Traceback" not in refused.stderr
    granted = cli("secrets", "grant", "gitlab-token", ALICE)
    assert granted.exit_code == 0 and "still holds" in granted.stderr
    both = cli("secrets", "revoke", "gitlab-token", ALICE, "--condition", "x", "--all-conditions")
    assert both.exit_code == 2
    done = cli(
        "secrets", "revoke", "gitlab-token", ALICE, "--condition", "until-2030", "-o", "json"
    )
    assert done.exit_code == 0 and done.json()["changed"] and done.json()["conditions"] == []


def test_doctor_says_conditional_access_is_conditional(enabled_apis, cli, clients, config):
    assert cli("init", "--yes", env={"GITLAB_TOKEN": "glpat-conditions-0001"}).exit_code == 0
    for get, set_, resource, role, member in (
        (
            clients.secrets.get_iam_policy,
            clients.secrets.set_iam_policy,
            SECRET,
            store.ACCESSOR_ROLE,
            RUNTIME,
        ),
        (
            clients.run.get_iam_policy,
            clients.run.set_iam_policy,
            SERVICE,
            serviceaccounts.INVOKER_ROLE,
            SCHEDULER,
        ),
    ):
        policy = get(request=v3(resource))
        kept = [b for b in policy.bindings if b.role != role]
        set_(
            request={
                "resource": resource,
                "policy": {
                    "version": 3,
                    "etag": policy.etag,
                    "bindings": [*kept, conditional(role, member)],
                },
            }
        )

    found = {f.check: f for f in doctor.run(config, clients).findings}
    for check, member in (
        ("secret:gitlab-token.access", RUNTIME),
        ("scheduler.invoker", SCHEDULER),
    ):
        assert found[check].level == doctor.WARNING, found[check]
        assert f"{member} holds" in found[check].message and "'until-2030'" in found[check].message

    # the invoker grant `init` makes is unconditional, written as version 3: the condition stays
    serviceaccounts.grant_invoker(clients, SERVICE, SCHEDULER.split(":", 1)[1])
    assert serviceaccounts.invokers(clients, SERVICE) == [SCHEDULER]
    policy = clients.run.get_iam_policy(request=v3(SERVICE))
    assert policy.version == 3 and any(b.condition.title == "until-2030" for b in policy.bindings)


# --- the emulator follows Google's policy-version rules ------------------------------------------


def test_a_conditional_policy_read_as_version_1_hides_the_condition_as_withcond(
    alice_until_2030, clients
):
    v1 = clients.secrets.get_iam_policy(request={"resource": SECRET})
    (binding,) = v1.bindings
    assert v1.version == 1 and binding.role.startswith(store.ACCESSOR_ROLE + "_withcond_")
    assert not binding.HasField("condition")
    v3 = secret_policy(clients)
    assert v3.version == 3 and v3.bindings[0].condition.title == "until-2030"
    # writing the version-1 view back (with its etag) would drop the condition: refused
    with pytest.raises(gexc.InvalidArgument, match="version 3"):
        clients.secrets.set_iam_policy(request={"resource": SECRET, "policy": v1})
    with pytest.raises(gexc.InvalidArgument, match="must be written as version 3"):
        policy = secret_policy(clients)
        policy.version = 1
        clients.secrets.set_iam_policy(request={"resource": SECRET, "policy": policy})
