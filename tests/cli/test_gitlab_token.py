"""The GitLab token, as an operator lives it in the emulator (issue 13's "How I will check it"):
doctor warns about a token 5 days from expiry and calls one with a day left a problem; --self-rotate
revokes the old token at GitLab, stores the new one, rolls the service onto it and the daily sync
runs on it; a revoked token typed into init is refused with nothing written. Also: set/rotate check
a token before storing it, and the emulator's GitLab commands."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

SELF = "/api/v4/personal_access_tokens/self"
SERVICE = "projects/thoth-local/locations/us-central1/services/thoth-mcp-server"
TODAY = dt.datetime.now(dt.UTC).date()


def gitlab_says(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url + SELF, headers={"PRIVATE-TOKEN": token})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def gl(cli, emulator):
    """The emulator's GitLab through `thothctl emulator gitlab`; the scheduler fires on demand."""
    emulator.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})
    emulator.operation_ms = 20

    class GitLab:
        url = cli("emulator", "gitlab", "url").stdout.strip()

        @staticmethod
        def token(*args: str) -> str:
            made = cli("emulator", "gitlab", "token", "create", *args)
            assert made.exit_code == 0, made.output
            return made.stdout.strip()

    return GitLab


def doctor_finding(cli, code: int) -> dict:
    result = cli("doctor", "-o", "json")
    assert result.exit_code == code, result.output
    found = {f["check"]: f for f in result.json()["findings"]}
    return found["secret:gitlab-token.gitlab"]


def test_the_operator_story(cli, gl, clients, emulator):
    five_days = gl.token("--expires-in", "5d")
    init = cli("init", "--yes", env={"GITLAB_TOKEN": five_days, "GITLAB_BASE_URL": gl.url})
    assert init.exit_code == 0, init.output
    assert "expires on" in init.output  # init said what GitLab said
    warned = doctor_finding(cli, 0)
    expiry = (TODAY + dt.timedelta(days=5)).isoformat()
    assert warned["level"] == "warning" and expiry in warned["message"]

    one_day = gl.token("--expires-in", "1d")
    stored = cli("secrets", "set", "gitlab-token", "-", input=one_day)
    assert stored.exit_code == 0 and "expires on" in stored.stderr
    problem = doctor_finding(cli, 3)
    assert problem["level"] == "problem"
    assert problem["fix"] == "thothctl secrets rotate gitlab-token --self-rotate --expires-in 90d"

    rotated = cli(*problem["fix"].split()[1:], "-o", "json")
    assert rotated.exit_code == 0, rotated.output
    report = rotated.json()
    new_expiry = (TODAY + dt.timedelta(days=90)).isoformat()
    assert report["action"] == "rotated" and report["expires_at"] == new_expiry
    assert gitlab_says(gl.url, one_day)[0] == 401
    newest = cli("secrets", "get", "gitlab-token").stdout
    status, info = gitlab_says(gl.url, newest)
    assert status == 200 and info["active"] and info["expires_at"] == new_expiry
    revision = clients.run.get_service(request={"name": SERVICE}).latest_ready_revision
    assert revision.endswith(report["service"]["revision"])
    sync = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s")
    assert sync.exit_code == 0, sync.output
    assert doctor_finding(cli, 0)["level"] == "ok"
    emulator.control_ops()["deny"]({"permissions": ["secretmanager.versions.access"]})
    unread = cli("doctor", "-o", "json")  # may not read the token: unchecked, not a problem
    assert unread.exit_code == 1 and unread.json()["problems"] == 0
    assert [f["check"] for f in unread.json()["could_not_check"]] == ["secret:gitlab-token.gitlab"]
    emulator.control_ops()["allow"]({})

    emulator.control_ops()["gitlab_token_revoke"]({"id": info["id"]})
    dead = cli("jobs", "run", "daily-sync", "--wait", "--timeout", "20s")
    assert dead.exit_code == 1 and "HTTP 500" in dead.stderr  # the sync runs on that token


def test_a_revoked_token_typed_into_init_is_refused_with_nothing_written(cli, gl, emulator):
    token = gl.token()
    assert cli("emulator", "gitlab", "token", "revoke", "-", input=token).exit_code == 0
    emulator.calls.reset()
    result = cli("init", "--yes", env={"GITLAB_TOKEN": token, "GITLAB_BASE_URL": gl.url})
    assert result.exit_code == 2, result.output
    assert "gitlab-token refused: GitLab does not accept it" in result.stderr
    assert "nothing was changed" in result.stderr and token not in result.output
    assert [c.method for c in emulator.calls.snapshot() if c.mutating] == []


def test_init_no_verify_stores_a_first_token_without_asking_gitlab(cli, gl, emulator):
    """Air-gapped: GitLab cannot be asked, so `init --no-verify` stores the token unchecked."""
    token = gl.token()
    assert cli("emulator", "gitlab", "token", "revoke", "-", input=token).exit_code == 0
    emulator.calls.reset()
    env = {"GITLAB_TOKEN": token, "GITLAB_BASE_URL": gl.url}
    result = cli("init", "--yes", "--no-verify", env=env)
    assert result.exit_code == 0, result.output
    assert not [c for c in emulator.calls.snapshot() if c.method.startswith("gitlab:")]
    assert cli("secrets", "get", "gitlab-token").stdout == token


@pytest.mark.parametrize(
    ("scopes", "expires", "says"),
    [
        ("read_user", "30d", "lacks the scope(s) the sync needs: read_api"),
        ("read_api", "0d", "GitLab does not accept it"),
    ],
)
def test_set_refuses_a_token_the_sync_cannot_use(cli, gl, enabled_apis, scopes, expires, says):
    assert cli("secrets", "create", "gitlab-url").exit_code == 0
    assert cli("secrets", "set", "gitlab-url", "-", input=gl.url).exit_code == 0
    bad = gl.token("--scopes", scopes, "--expires-in", expires)
    for verb in ("set", "rotate"):
        result = cli("secrets", verb, "gitlab-token", "-", input=bad)
        assert result.exit_code == 2 and says in result.stderr, result.output
    assert cli("secrets", "versions", "gitlab-token", "-o", "json").exit_code != 0  # no secret
    unchecked = cli("secrets", "set", "gitlab-token", "-", "--no-verify", input="x")
    assert "no value" not in unchecked.stderr and "refused" not in unchecked.stderr


def test_far_from_expiry_the_weekly_job_changes_nothing(cli, gl, emulator):
    token = gl.token("--expires-in", "90d")
    assert (
        cli("init", "--yes", env={"GITLAB_TOKEN": token, "GITLAB_BASE_URL": gl.url}).exit_code == 0
    )
    args = ("secrets", "rotate", "gitlab-token", "--self-rotate", "--if-expiring-within", "30d")
    result = cli(*args, "-o", "json")
    assert result.exit_code == 0 and result.json()["rotated"] is False
    assert gitlab_says(gl.url, token)[0] == 200
    assert "Nothing to do: the token expires in 90 days" in cli(*args).stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["gitlab-token", "--self-rotate", "-"], "--self-rotate takes no value"),
        (["gitlab-url", "--self-rotate"], "works for gitlab-token only"),
        (["gitlab-token", "--self-rotate", "--expires-in", "400d"], "between 1 and 365"),
        (["gitlab-token", "--if-expiring-within", "soon"], "--if-expiring-within 'soon'"),
    ],
)
def test_bad_self_rotation_input_exits_2_before_any_call(cli, emulator, args, says):
    emulator.calls.reset()
    result = cli("secrets", "rotate", *args, input="glpat-typed-by-mistake")
    assert result.exit_code == 2 and says in result.stderr, result.output
    assert emulator.calls.snapshot() == []


def test_the_emulators_gitlab_commands(cli, gl):
    made = cli("emulator", "gitlab", "token", "create", "--scopes", "api", "--name", "ci")
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and token.startswith("glpat-")  # just the token
    listed = cli("emulator", "gitlab", "tokens", "-o", "json").json()
    assert [(t["name"], t["scopes"], t["active"]) for t in listed] == [("ci", ["api"], True)]
    assert token not in cli("emulator", "gitlab", "tokens").output
    refused = cli("emulator", "gitlab", "token", "revoke", token)
    assert refused.exit_code == 2 and token not in refused.output  # never an argument
    assert cli("emulator", "gitlab", "token", "revoke", str(listed[0]["id"])).exit_code == 0
    assert gitlab_says(gl.url, token)[0] == 401
    bad = cli("emulator", "gitlab", "token", "create", "--scopes", "everything")
    assert bad.exit_code == 2 and "unknown scope" in bad.stderr
