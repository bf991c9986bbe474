"""The emulator refuses what Google refuses, through the official clients: a resource name or id
with a trailing newline or another control character is INVALID_ARGUMENT (never NOT_FOUND, never
created, never INTERNAL), and so are the job fields Cloud Scheduler does not take (croniter's
cron extensions, a schedule that never fires, tz database files that are not zones, a header
value with CR/LF) and members with a trailing newline.
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.iam.v1 import policy_pb2

P = "projects/thoth-local"
PARENT = f"{P}/locations/us-central1"
SA = "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"


def invalid(call) -> str:
    with pytest.raises(gexc.InvalidArgument) as info:
        call()
    return info.value.message


@pytest.fixture
def secret(enabled_apis, clients):
    sm = clients.secrets
    sm.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    sm.add_secret_version(
        request={"parent": f"{P}/secrets/gitlab-token", "payload": {"data": b"v"}}
    )
    enabled_apis.calls.reset()
    return f"{P}/secrets/gitlab-token"


@pytest.mark.parametrize("sid", ["abc\n", "abc\r", "a\x00b", "abc\x85", "\nabc"])
def test_a_secret_id_with_a_control_character_is_invalid_and_nothing_is_created(
    enabled_apis, clients, sid
):
    sm = clients.secrets
    invalid(
        lambda: sm.create_secret(
            request={"parent": P, "secret_id": sid, "secret": {"replication": {"automatic": {}}}}
        )
    )
    assert list(sm.list_secrets(request={"parent": P})) == []


@pytest.mark.parametrize(
    "name",
    [
        f"{P}/secrets/gitlab-token\n",
        "projects/thoth-local\n/secrets/gitlab-token",
        f"{P}/secrets/gitlab-token/versions/1\n",
    ],
)
def test_a_name_with_a_trailing_newline_is_invalid_not_not_found(secret, clients, name):
    message = invalid(lambda: clients.secrets.get_secret(request={"name": name}))
    assert "control character" in message


@pytest.mark.parametrize("version", ["²", "٣", "1\n"])
def test_a_version_in_non_ascii_digits_is_invalid_not_internal_nor_version_3(
    secret, clients, version
):
    invalid(
        lambda: clients.secrets.access_secret_version(
            request={"name": f"{secret}/versions/{version}"}
        )
    )


def test_an_alias_with_a_trailing_newline_is_refused(secret, clients):
    invalid(
        lambda: clients.secrets.update_secret(
            request={
                "secret": {"name": secret, "version_aliases": {"current\n": 1}},
                "update_mask": {"paths": ["version_aliases"]},
            }
        )
    )


def test_a_member_with_a_trailing_newline_is_refused_and_the_policy_is_unchanged(secret, clients):
    sm = clients.secrets
    before = sm.get_iam_policy(request={"resource": secret})
    policy = policy_pb2.Policy()
    policy.CopyFrom(before)
    policy.bindings.append(
        policy_pb2.Binding(
            role="roles/secretmanager.secretAccessor", members=["user:a@example.com\n"]
        )
    )
    invalid(lambda: sm.set_iam_policy(request={"resource": secret, "policy": policy}))
    assert sm.get_iam_policy(request={"resource": secret}).bindings == before.bindings


def test_a_service_account_id_with_a_trailing_newline_is_refused(enabled_apis, clients):
    invalid(
        lambda: clients.iam.create_service_account(
            request={"name": P, "account_id": "thoth-scheduler\n"}
        )
    )


def _job(ops, **overrides):
    url = ops["stub_url"]({})
    job = {
        "name": f"{PARENT}/jobs/thoth-daily-sync",
        "schedule": "0 2 * * *",
        "time_zone": "UTC",
        "http_target": {"uri": url + "/sync", "oidc_token": {"service_account_email": SA}},
    }
    job.update(overrides)
    return job


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"name": f"{PARENT}/jobs/thoth-daily-sync\n"}, "control character"),
        ({"schedule": "0 2 L * *"}, "Schedule or time zone"),
        ({"schedule": "0 2 * * 1#2"}, "Schedule or time zone"),
        ({"schedule": "0 2 ? * *"}, "Schedule or time zone"),
        ({"schedule": "0 2 * * *\n"}, "Schedule or time zone"),
        ({"schedule": "0 2 31 2 *"}, "Schedule or time zone"),
        ({"time_zone": "posix/Europe/Berlin"}, "Schedule or time zone"),
        ({"time_zone": "right/UTC"}, "Schedule or time zone"),
        ({"time_zone": "localtime"}, "Schedule or time zone"),
        ({"time_zone": "europe/berlin"}, "Schedule or time zone"),
    ],
)
def test_a_job_cloud_scheduler_would_refuse_is_invalid_and_not_created(
    enabled_apis, clients, overrides, why
):
    ops = enabled_apis.control_ops()
    job = _job(ops, **overrides)
    assert why in invalid(
        lambda: clients.scheduler.create_job(request={"parent": PARENT, "job": job})
    )
    assert list(clients.scheduler.list_jobs(request={"parent": PARENT})) == []


def test_a_header_value_with_cr_lf_is_refused(enabled_apis, clients):
    ops = enabled_apis.control_ops()
    job = _job(ops)
    job["http_target"]["headers"] = {"X-A": "a\r\nInjected: yes"}
    assert "header" in invalid(
        lambda: clients.scheduler.create_job(request={"parent": PARENT, "job": job})
    )
    assert list(clients.scheduler.list_jobs(request={"parent": PARENT})) == []
