"""The emulator's GitLab stub as an HTTP client sees it: GitLab's JSON shapes and status codes for
reading and rotating a token, reuse detection revoking a whole token family, the emulator's faults
and call log applied to it, its state in the store, and the sync service failing on a dead token."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

from thothctl.emulator.faults import FaultConfig

SELF = "/api/v4/personal_access_tokens/self"
ROTATE = SELF + "/rotate"
TODAY = dt.datetime.now(dt.UTC).date()


def call(url: str, method: str, path: str, token: str | None, body: bytes | None = None):
    headers = {"PRIVATE-TOKEN": token} if token else {}
    if body and body.startswith(b"{"):
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def gitlab(emulator):
    ops = emulator.control_ops()

    class GitLab:
        url = ops["gitlab_url"]({})

        @staticmethod
        def token(**args):
            return ops["gitlab_token_create"]({"expires_in_days": 30, **args})["token"]

        @staticmethod
        def get(path, token, body=None, method="GET"):
            return call(GitLab.url, method, path, token, body)

        @staticmethod
        def post(path, token, body=None):
            return call(GitLab.url, "POST", path, token, body or b"")

    return GitLab


def test_self_describes_the_token_in_gitlabs_shape(gitlab):
    token = gitlab.token(name="thoth-sync", scopes=["read_api"], expires_in_days=5)
    status, body = gitlab.get(SELF, token)
    assert status == 200
    assert set(body) == {
        "id",
        "name",
        "revoked",
        "created_at",
        "description",
        "scopes",
        "user_id",
        "last_used_at",
        "active",
        "expires_at",
    }
    assert body["name"] == "thoth-sync" and body["scopes"] == ["read_api"]
    assert body["active"] is True and body["revoked"] is False
    assert body["expires_at"] == (TODAY + dt.timedelta(days=5)).isoformat()
    assert body["last_used_at"] is not None  # this very request used it
    assert "token" not in body


@pytest.mark.parametrize("kind", ["unknown", "revoked", "expired", "missing"])
def test_a_dead_or_unknown_token_is_401(gitlab, emulator, kind):
    token = {
        "unknown": "glpat-never-issued-0000",
        "revoked": gitlab.token(),
        "expired": gitlab.token(expires_in_days=0),
        "missing": None,
    }[kind]
    if kind == "revoked":
        emulator.control_ops()["gitlab_token_revoke"]({"token": token})
    assert gitlab.get(SELF, token) == (401, {"message": "401 Unauthorized"})
    assert gitlab.post(ROTATE, token)[0] == 401


def test_rotation_revokes_the_old_token_and_answers_the_new_one(gitlab):
    old = gitlab.token(scopes=["read_api", "self_rotate"])
    expires = (TODAY + dt.timedelta(days=90)).isoformat()
    status, body = gitlab.post(ROTATE, old, f"expires_at={expires}".encode())
    assert status == 200
    new = body.pop("token")
    assert new.startswith("glpat-") and new != old
    assert body["expires_at"] == expires and body["active"] is True
    assert gitlab.get(SELF, old)[0] == 401
    assert gitlab.get(SELF, new)[1]["id"] == body["id"]


def test_rotation_without_expiry_lasts_a_week_and_at_most_a_year_ahead(gitlab):
    status, body = gitlab.post(ROTATE, gitlab.token(scopes=["api"]))
    assert status == 200
    assert body["expires_at"] == (TODAY + dt.timedelta(days=7)).isoformat()
    too_late = (TODAY + dt.timedelta(days=366)).isoformat()
    status, body = gitlab.post(ROTATE, body["token"], json.dumps({"expires_at": too_late}).encode())
    assert status == 400 and "Expiration date must be before" in body["message"]


def test_rotation_needs_api_or_self_rotate_scope(gitlab):
    token = gitlab.token(scopes=["read_api"])
    status, body = gitlab.post(ROTATE, token)
    assert status == 403 and body["error"] == "insufficient_scope"
    assert gitlab.get(SELF, token)[0] == 200  # refused, not revoked


def test_reuse_of_a_rotated_token_revokes_the_whole_family(gitlab, emulator):
    first = gitlab.token(scopes=["self_rotate"])
    second = gitlab.post(ROTATE, first)[1]["token"]
    third = gitlab.post(ROTATE, second)[1]["token"]
    assert gitlab.get(SELF, first)[0] == 401  # reading with it revokes nothing
    assert gitlab.get(SELF, third)[0] == 200
    assert gitlab.post(ROTATE, first)[0] == 401  # rotating with it does
    assert gitlab.get(SELF, third)[0] == 401
    tokens = emulator.control_ops()["gitlab_tokens"]({})
    assert {t["family"] for t in tokens} == {tokens[0]["id"]}
    assert [t["revoked_reason"] for t in tokens] == ["rotated", "rotated", "reuse detected"]
    assert all("token" not in t and "digest" not in t for t in tokens)


def test_group_and_project_tokens_rotate_at_their_own_endpoint(gitlab):
    group = gitlab.token(kind="group", resource_id="42", scopes=["api"])
    assert gitlab.post("/api/v4/groups/43/access_tokens/self/rotate", group)[0] == 404
    status, body = gitlab.post("/api/v4/groups/42/access_tokens/self/rotate", group)
    assert status == 200 and gitlab.get(SELF, body["token"])[0] == 200
    project = gitlab.token(kind="project", resource_id="my/project", scopes=["self_rotate"])
    path = "/api/v4/projects/my%2Fproject/access_tokens/self/rotate"
    assert gitlab.post(path, project)[0] == 200


def test_requests_are_in_the_call_log_and_faults_apply(gitlab, emulator):
    token = gitlab.token(scopes=["self_rotate"])
    emulator.faults.set(FaultConfig(fail_rate=1.0, methods="gitlab:POST*"))
    assert gitlab.post(ROTATE, token)[0] == 503  # failed before it applied
    assert gitlab.get(SELF, token)[0] == 200
    emulator.faults.set(FaultConfig(lost_rate=1.0, fail_code="DEADLINE_EXCEEDED", methods="rotate"))
    assert gitlab.post(ROTATE, token)[0] == 504  # applied, answer lost
    assert gitlab.get(SELF, token)[0] == 401
    calls = [(c.method, c.code, c.fault) for c in emulator.calls.snapshot()]
    assert calls == [
        ("gitlab:POST " + ROTATE, "UNAVAILABLE", "fail"),
        ("gitlab:GET " + SELF, "OK", None),
        ("gitlab:POST " + ROTATE, "DEADLINE_EXCEEDED", "lost"),
        ("gitlab:GET " + SELF, "UNAUTHENTICATED", None),
    ]


def test_tokens_persist_in_the_state_file_by_digest_only(tmp_path):
    from thothctl.emulator.server import Emulator

    data = tmp_path / "emu.json"
    first = Emulator(data_file=data, operation_ms=0)
    first.start("127.0.0.1", 0)
    token = first.control_ops()["gitlab_token_create"]({"scopes": "api"})["token"]
    url = first.control_ops()["gitlab_url"]({})
    first.stop()
    assert token.encode() not in data.read_bytes()
    second = Emulator(data_file=data, operation_ms=0)
    second.start("127.0.0.1", 0)
    try:
        assert second.control_ops()["gitlab_url"]({}) == url  # the same port when it is free
        assert call(url, "GET", SELF, token)[0] == 200
    finally:
        second.stop()


def test_control_ops_refuse_bad_input(emulator):
    ops = emulator.control_ops()
    with pytest.raises(ValueError, match="unknown scope"):
        ops["gitlab_token_create"]({"scopes": "read_everything"})
    with pytest.raises(ValueError, match="expires_in_days"):
        ops["gitlab_token_create"]({"expires_in_days": 400})
    with pytest.raises(KeyError):
        ops["gitlab_token_revoke"]({"id": 999})
