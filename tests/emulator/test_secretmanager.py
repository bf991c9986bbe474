"""Secret Manager conformance: the emulator driven by the official client (docs/emulator.md, "Secret Manager")."""

from __future__ import annotations

import google_crc32c
import pytest
from google.api_core import exceptions as gexc
from google.cloud.secretmanager_v1 import types

from thothctl.emulator import base

PROJECT = "thoth-local"
NUMBER = base.project_number_for(PROJECT)
PARENT = f"projects/{PROJECT}"
AUTO = {"automatic": {}}


@pytest.fixture
def sm(enabled_apis, clients):
    return clients.secrets.raw


def create(sm, sid="gitlab-token", **secret):
    return sm.create_secret(
        request={"parent": PARENT, "secret_id": sid, "secret": {"replication": AUTO, **secret}}
    )


def add(sm, sid, data: bytes, crc: int | None = None):
    payload = {"data": data}
    payload["data_crc32c"] = google_crc32c.value(data) if crc is None else crc
    return sm.add_secret_version(request={"parent": f"{PARENT}/secrets/{sid}", "payload": payload})


def test_create_names_the_secret_with_the_project_number_and_a_quoted_etag(sm):
    secret = create(sm, labels={"team": "docs"})
    assert secret.name == f"projects/{NUMBER}/secrets/gitlab-token"
    assert secret.etag.startswith('"') and secret.etag.endswith('"')
    assert secret.create_time is not None
    assert "automatic" in secret.replication
    got = sm.get_secret(name=f"{PARENT}/secrets/gitlab-token")
    assert got.labels == {"team": "docs"}
    assert got.etag == secret.etag


def test_create_refuses_duplicates_bad_ids_missing_replication_and_bad_labels(sm):
    create(sm)
    with pytest.raises(
        gexc.AlreadyExists,
        match=rf"Secret \[projects/{NUMBER}/secrets/gitlab-token\] already exists",
    ):
        create(sm)
    with pytest.raises(gexc.InvalidArgument, match="secret_id"):
        create(sm, sid="bad/id")
    with pytest.raises(gexc.InvalidArgument):
        create(sm, sid="x" * 256)
    with pytest.raises(gexc.InvalidArgument, match="replication"):
        sm.create_secret(
            request={"parent": PARENT, "secret_id": "norep", "secret": {"labels": {"a": "b"}}}
        )
    with pytest.raises(gexc.InvalidArgument, match="replicas"):
        sm.create_secret(
            request={
                "parent": PARENT,
                "secret_id": "um",
                "secret": {"replication": {"user_managed": {"replicas": []}}},
            }
        )
    with pytest.raises(gexc.InvalidArgument, match="label"):
        create(sm, sid="lab", labels={"Team": "docs"})
    um = sm.create_secret(
        request={
            "parent": PARENT,
            "secret_id": "um",
            "secret": {
                "replication": {"user_managed": {"replicas": [{"location": "europe-west1"}]}}
            },
        }
    )
    assert um.replication.user_managed.replicas[0].location == "europe-west1"


def test_calls_fail_while_the_api_is_disabled(emulator, clients):
    with pytest.raises(gexc.PermissionDenied, match="Secret Manager API has not been used"):
        clients.secrets.raw.list_secrets(request={"parent": PARENT})


def test_get_missing_secret_is_not_found_with_the_documented_message(sm):
    with pytest.raises(
        gexc.NotFound, match=rf"Secret \[projects/{NUMBER}/secrets/nope\] not found\."
    ):
        sm.get_secret(name=f"{PARENT}/secrets/nope")


def test_list_is_newest_first_paginated_and_filterable(sm):
    for i in range(5):
        create(sm, sid=f"s{i}", labels={"env": "prod" if i % 2 else "dev"})
    first = sm.list_secrets(request={"parent": PARENT, "page_size": 2})
    assert first.total_size == 5
    names = [
        s.name.rsplit("/", 1)[-1]
        for s in sm.list_secrets(request={"parent": PARENT, "page_size": 2})
    ]
    assert names == ["s4", "s3", "s2", "s1", "s0"]
    raw = sm.list_secrets(request={"parent": PARENT, "page_size": 2})._response
    assert len(raw.secrets) == 2 and raw.next_page_token
    prod = sm.list_secrets(request={"parent": PARENT, "filter": "labels.env=prod"})
    assert sorted(s.name.rsplit("/", 1)[-1] for s in prod) == ["s1", "s3"]
    assert prod._response.total_size == 0
    either = sm.list_secrets(request={"parent": PARENT, "filter": "name:s0 OR name:s4"})
    assert sorted(s.name.rsplit("/", 1)[-1] for s in either) == ["s0", "s4"]
    both = sm.list_secrets(request={"parent": PARENT, "filter": "labels.env=dev AND NOT name:s2"})
    assert sorted(s.name.rsplit("/", 1)[-1] for s in both) == ["s0", "s4"]
    with pytest.raises(gexc.InvalidArgument):
        list(sm.list_secrets(request={"parent": PARENT, "filter": "colour=blue"}))


def test_update_needs_a_mask_checks_the_etag_and_keeps_replication(sm):
    secret = create(sm, labels={"a": "1"})
    name = secret.name
    with pytest.raises(gexc.InvalidArgument, match="update_mask"):
        sm.update_secret(request={"secret": {"name": name, "labels": {"a": "2"}}})
    with pytest.raises(gexc.FailedPrecondition, match="etag"):
        sm.update_secret(
            request={
                "secret": {"name": name, "labels": {"a": "2"}, "etag": '"stale"'},
                "update_mask": {"paths": ["labels"]},
            }
        )
    with pytest.raises(gexc.InvalidArgument, match="immutable"):
        sm.update_secret(
            request={
                "secret": {"name": name, "replication": AUTO},
                "update_mask": {"paths": ["replication"]},
            }
        )
    updated = sm.update_secret(
        request={
            "secret": {"name": name, "labels": {"a": "2"}, "etag": secret.etag},
            "update_mask": {"paths": ["labels"]},
        }
    )
    assert updated.labels == {"a": "2"}
    assert updated.etag != secret.etag
    # A no-op update still changes the etag.
    again = sm.update_secret(
        request={
            "secret": {"name": name, "labels": {"a": "2"}},
            "update_mask": {"paths": ["labels"]},
        }
    )
    assert again.etag != updated.etag


def test_delete_checks_the_etag_and_removes_the_versions(sm):
    secret = create(sm)
    add(sm, "gitlab-token", b"v1")
    with pytest.raises(gexc.FailedPrecondition):
        sm.delete_secret(request={"name": secret.name, "etag": '"stale"'})
    sm.delete_secret(request={"name": secret.name, "etag": secret.etag})
    with pytest.raises(gexc.NotFound):
        sm.get_secret(name=secret.name)
    with pytest.raises(gexc.NotFound, match="not found or has no versions"):
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/latest")
    # The id can be used again, and numbering restarts for the new secret.
    create(sm)
    assert add(sm, "gitlab-token", b"v1").name.endswith("/versions/1")


def test_versions_are_numbered_sequentially_and_payloads_are_checked(sm):
    create(sm)
    v1 = add(sm, "gitlab-token", b"one")
    v2 = add(sm, "gitlab-token", b"two")
    assert v1.name == f"projects/{NUMBER}/secrets/gitlab-token/versions/1"
    assert v2.name.endswith("/versions/2")
    assert v2.state == types.SecretVersion.State.ENABLED
    assert v2.client_specified_payload_checksum is True
    with pytest.raises(gexc.InvalidArgument, match=r"[Cc]hecksum"):
        add(sm, "gitlab-token", b"three", crc=12345)
    with pytest.raises(gexc.InvalidArgument, match="empty"):
        add(sm, "gitlab-token", b"")
    assert add(sm, "gitlab-token", b"x" * 65536).name.endswith("/versions/3")
    with pytest.raises(gexc.InvalidArgument, match="65536"):
        add(sm, "gitlab-token", b"x" * 65537)
    # Without a checksum the server computes one and returns it on access.
    v4 = sm.add_secret_version(
        request={"parent": f"{PARENT}/secrets/gitlab-token", "payload": {"data": b"four"}}
    )
    assert v4.client_specified_payload_checksum is False
    got = sm.access_secret_version(name=v4.name)
    assert got.payload.data_crc32c == google_crc32c.value(b"four")
    with pytest.raises(gexc.NotFound):
        add(sm, "missing", b"x")


def test_access_resolves_latest_and_aliases_and_names_the_number(sm):
    secret = create(sm)
    add(sm, "gitlab-token", b"one")
    add(sm, "gitlab-token", b"two")
    latest = sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/latest")
    assert latest.name == f"projects/{NUMBER}/secrets/gitlab-token/versions/2"
    assert latest.payload.data == b"two"
    sm.update_secret(
        request={
            "secret": {"name": secret.name, "version_aliases": {"current": 1}},
            "update_mask": {"paths": ["version_aliases"]},
        }
    )
    assert (
        sm.access_secret_version(
            name=f"{PARENT}/secrets/gitlab-token/versions/current"
        ).payload.data
        == b"one"
    )
    assert sm.get_secret_version(
        name=f"{PARENT}/secrets/gitlab-token/versions/current"
    ).name.endswith("/versions/1")
    assert sm.get_secret(name=secret.name).version_aliases == {"current": 1}
    with pytest.raises(gexc.InvalidArgument):
        sm.update_secret(
            request={
                "secret": {"name": secret.name, "version_aliases": {"next": 9}},
                "update_mask": {"paths": ["version_aliases"]},
            }
        )
    with pytest.raises(gexc.NotFound, match="versions/7"):
        sm.get_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/7")


def test_access_of_disabled_destroyed_and_latest_follows_the_documented_errors(sm):
    create(sm)
    with pytest.raises(gexc.NotFound, match="not found or has no versions"):
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/latest")
    add(sm, "gitlab-token", b"one")
    add(sm, "gitlab-token", b"two")
    sm.disable_secret_version(request={"name": f"{PARENT}/secrets/gitlab-token/versions/2"})
    with pytest.raises(gexc.FailedPrecondition, match=r"versions/2\] is in DISABLED state"):
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/latest")
    sm.destroy_secret_version(request={"name": f"{PARENT}/secrets/gitlab-token/versions/2"})
    with pytest.raises(gexc.FailedPrecondition, match="DESTROYED state"):
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/2")
    destroyed = sm.get_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/2")
    assert destroyed.state == types.SecretVersion.State.DESTROYED
    assert destroyed.destroy_time is not None
    assert (
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/1").payload.data
        == b"one"
    )


def test_version_state_machine_and_etags(sm):
    create(sm)
    v1 = add(sm, "gitlab-token", b"one")
    with pytest.raises(gexc.FailedPrecondition, match="etag"):
        sm.disable_secret_version(request={"name": v1.name, "etag": '"stale"'})
    disabled = sm.disable_secret_version(request={"name": v1.name, "etag": v1.etag})
    assert disabled.state == types.SecretVersion.State.DISABLED
    again = sm.disable_secret_version(request={"name": v1.name})
    assert again.state == types.SecretVersion.State.DISABLED and again.etag != disabled.etag
    enabled = sm.enable_secret_version(request={"name": v1.name})
    assert enabled.state == types.SecretVersion.State.ENABLED
    sm.destroy_secret_version(request={"name": v1.name})
    for call in (sm.enable_secret_version, sm.disable_secret_version, sm.destroy_secret_version):
        with pytest.raises(gexc.FailedPrecondition):
            call(request={"name": v1.name})


def test_list_versions_newest_first_with_state_filter(sm):
    create(sm)
    for data in (b"a", b"b", b"c"):
        add(sm, "gitlab-token", data)
    sm.disable_secret_version(request={"name": f"{PARENT}/secrets/gitlab-token/versions/2"})
    sm.destroy_secret_version(request={"name": f"{PARENT}/secrets/gitlab-token/versions/1"})
    parent = f"{PARENT}/secrets/gitlab-token"
    all_versions = sm.list_secret_versions(request={"parent": parent})
    assert [v.name.rsplit("/", 1)[-1] for v in all_versions] == ["3", "2", "1"]
    assert all_versions._response.total_size == 3
    enabled = sm.list_secret_versions(request={"parent": parent, "filter": "state:ENABLED"})
    assert [v.name.rsplit("/", 1)[-1] for v in enabled] == ["3"]
    not_destroyed = sm.list_secret_versions(
        request={"parent": parent, "filter": "NOT state:DESTROYED"}
    )
    assert [v.name.rsplit("/", 1)[-1] for v in not_destroyed] == ["3", "2"]


def test_delayed_destroy_and_expiration(sm):
    secret = create(sm, version_destroy_ttl={"seconds": 86400})
    v1 = add(sm, "gitlab-token", b"one")
    pending = sm.destroy_secret_version(request={"name": v1.name})
    assert pending.state == types.SecretVersion.State.DISABLED
    assert pending.scheduled_destroy_time is not None
    # Enabling cancels the scheduled destruction.
    assert (
        sm.enable_secret_version(request={"name": v1.name}).state
        == types.SecretVersion.State.ENABLED
    )
    expiring = create(sm, sid="short-lived", ttl={"seconds": 3600})
    assert expiring.expire_time is not None
    with pytest.raises(gexc.InvalidArgument, match="60 seconds"):
        create(sm, sid="too-short", ttl={"seconds": 10})
    assert secret.name


def test_iam_policy_read_modify_write_with_etag_conflicts(sm):
    secret = create(sm)
    empty = sm.get_iam_policy(request={"resource": secret.name})
    assert list(empty.bindings) == [] and empty.etag
    member = f"serviceAccount:thoth-mcp-sa@{PROJECT}.iam.gserviceaccount.com"
    empty.bindings.add(role="roles/secretmanager.secretAccessor", members=[member])
    written = sm.set_iam_policy(request={"resource": secret.name, "policy": empty})
    assert written.etag != empty.etag
    # Someone else wrote in between: the stale etag is refused with ABORTED.
    with pytest.raises(gexc.Aborted, match="concurrent policy changes"):
        sm.set_iam_policy(request={"resource": secret.name, "policy": empty})
    got = sm.get_iam_policy(request={"resource": secret.name})
    assert [(b.role, list(b.members)) for b in got.bindings] == [
        ("roles/secretmanager.secretAccessor", [member])
    ]
    bad = sm.get_iam_policy(request={"resource": secret.name})
    bad.bindings.add(role="roles/run.invoker", members=["user:a@example.com"])
    with pytest.raises(gexc.InvalidArgument, match="not supported"):
        sm.set_iam_policy(request={"resource": secret.name, "policy": bad})
    bad = sm.get_iam_policy(request={"resource": secret.name})
    bad.bindings.add(role="roles/secretmanager.viewer", members=["nobody"])
    with pytest.raises(gexc.InvalidArgument, match="principal"):
        sm.set_iam_policy(request={"resource": secret.name, "policy": bad})
    with pytest.raises(gexc.NotFound):
        sm.get_iam_policy(request={"resource": f"{PARENT}/secrets/missing"})


def test_test_iam_permissions(sm, enabled_apis):
    secret = create(sm)
    perms = ["secretmanager.versions.access", "secretmanager.secrets.delete"]
    got = sm.test_iam_permissions(request={"resource": secret.name, "permissions": perms})
    assert sorted(got.permissions) == sorted(perms)
    enabled_apis.denied.add("secretmanager.secrets.delete")
    got = sm.test_iam_permissions(request={"resource": secret.name, "permissions": perms})
    assert list(got.permissions) == ["secretmanager.versions.access"]
    missing = sm.test_iam_permissions(
        request={"resource": f"{PARENT}/secrets/missing", "permissions": perms}
    )
    assert list(missing.permissions) == []


def test_denied_permission_is_reported_with_its_name(sm, enabled_apis):
    create(sm)
    add(sm, "gitlab-token", b"one")
    enabled_apis.denied.add("secretmanager.versions.access")
    with pytest.raises(gexc.PermissionDenied, match=r"secretmanager\.versions\.access"):
        sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/1")


def test_access_writes_a_data_access_audit_entry_without_the_payload(sm, enabled_apis, monkeypatch):
    entries = []
    monkeypatch.setattr(enabled_apis, "write_log", lambda **entry: entries.append(entry))
    create(sm)
    add(sm, "gitlab-token", b"canary-audit-value")
    sm.access_secret_version(name=f"{PARENT}/secrets/gitlab-token/versions/latest")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["log_id"] == "cloudaudit.googleapis.com/data_access"
    assert entry["proto_payload"].method_name.endswith("AccessSecretVersion")
    assert entry["proto_payload"].resource_name.endswith("/versions/1")
    assert b"canary-audit-value" not in entry["proto_payload"].SerializeToString()


def test_state_persists_across_restarts(tmp_path):
    from thothctl.clients import Clients, ClientSettings
    from thothctl.emulator.server import Emulator

    data = tmp_path / "emu.json"
    apis = ["secretmanager.googleapis.com"]
    for round_ in (1, 2):
        emu = Emulator(data_file=data, operation_ms=10)
        emu.start()
        bundle = Clients(ClientSettings(project=PROJECT, emulator_host=emu.address))
        try:
            if round_ == 1:
                emu.control_ops()["apis_set"]({"enable": apis})
                create(bundle.secrets.raw)
                add(bundle.secrets.raw, "gitlab-token", b"persisted")
            else:
                got = bundle.secrets.raw.access_secret_version(
                    name=f"{PARENT}/secrets/gitlab-token/versions/latest"
                )
                assert got.payload.data == b"persisted"
                assert add(bundle.secrets.raw, "gitlab-token", b"next").name.endswith("/versions/2")
        finally:
            bundle.close()
            emu.stop()
