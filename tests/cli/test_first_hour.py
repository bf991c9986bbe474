"""A new user's first hour: `init` at a terminal (the plan first, then only the values it needs,
each checked and asked again on a mistake), the usual typos (a secret, a job, an environment),
and every printed command runnable where it was printed. Over the wire, through the CLI runner."""

from __future__ import annotations

import getpass
import json
import re
import sys

import pytest

from thothctl.cli.context import AppContext, GlobalOptions, command_prefix

TOKEN = "glpat-first-hour-000000001"
P = "projects/thoth-local"
KEY = {"type": "service_account", "project_id": "x", "private_key": "-----BEGIN\nab}c\n-----"}


@pytest.fixture
def terminal(monkeypatch):
    """A user at a terminal: prompting on; the hidden prompt answers from ``typed`` and records
    whether the plan was already on the screen when it asked."""
    typed: list[str] = []
    asked: list[tuple[str, bool]] = []

    def fake_getpass(prompt="", stream=None):
        sys.stdout.flush()
        asked.append((prompt, b"gitlab-token" in sys.stdout.buffer.getvalue()))
        if not typed:
            raise AssertionError(f"unexpected hidden prompt: {prompt}")
        return typed.pop(0)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr(AppContext, "can_prompt", property(lambda self: True))
    return typed, asked


def value(clients, secret: str) -> bytes:
    name = f"{P}/secrets/{secret}/versions/latest"
    return clients.secrets.access_secret_version(request={"name": name}).payload.data


def test_init_shows_the_plan_first_then_asks_only_what_it_needs(cli, emulator, clients, terminal):
    typed, asked = terminal
    typed += [TOKEN, TOKEN]
    # the URL typed visibly, once: two mistakes asked again, then a good one; Enter skips the key
    answers = "x\nhttp://gitlab.example.com\nhttps://gitlab.example.com\n\n"
    first = cli("init", "--yes", input=answers)
    assert first.exit_code == 0, first.output
    assert [shown for _prompt, shown in asked] == [True, True], "asked before the plan was shown"
    assert asked[0][0] == "GitLab personal access token (gitlab-token): "
    assert "GitLab base URL (gitlab-url) [Enter: https://gitlab.com]: " in first.stderr
    assert first.stderr.count("try again") == 2
    assert "plain http is allowed only for localhost" in first.stderr
    assert value(clients, "gitlab-url") == b"https://gitlab.example.com"
    assert value(clients, "gitlab-token") == TOKEN.encode()
    assert "Applied 11 changes" in first.stderr and TOKEN not in first.output

    again = cli("init")  # a converged project: nothing asked (the key stays optional), no change
    assert again.exit_code == 0, again.output
    assert "Nothing to do" in again.stderr and "[Enter: skip]" not in again.stderr
    assert len(asked) == 2


def test_a_pasted_multi_line_key_file_is_read_whole_and_a_mistake_asked_again(
    cli, emulator, clients, terminal
):
    typed, _asked = terminal
    typed += [TOKEN, TOKEN]
    pasted = json.dumps(KEY, indent=2)
    answers = "\n" + '{\n  "type": \n}\n' + pasted + "\n"  # URL default; a broken paste; the key
    result = cli("init", "--yes", input=answers)
    assert result.exit_code == 0, result.output
    assert "not valid JSON (line 3, column 1); try again" in result.stderr
    assert json.loads(value(clients, "google-application-credentials")) == KEY
    assert pasted not in result.output


def test_the_key_can_be_a_path_typed_at_the_same_prompt(cli, emulator, clients, terminal, tmp_path):
    typed, _asked = terminal
    typed += [TOKEN, TOKEN]
    (tmp_path / "key.json").write_text(json.dumps(KEY))
    result = cli("init", "--yes", input=f"\n{tmp_path / 'key.json'}\n")
    assert result.exit_code == 0, result.output
    assert (
        f"Read {len(json.dumps(KEY))} bytes of JSON from {tmp_path / 'key.json'}" in result.stderr
    )
    assert json.loads(value(clients, "google-application-credentials")) == KEY


def rotate_typo(cli) -> None:
    r = cli("secrets", "rotate", "github-token")
    assert r.exit_code == 1, r.output
    assert "secret github-token does not exist in thoth-local" in r.stderr
    assert "did you mean gitlab-token?" in r.stderr
    assert "GITHUB_TOKEN" not in r.stderr and "secrets create" not in r.stderr


def test_a_typo_in_rotate_in_ci_invents_no_env_var(cli, enabled_apis):
    assert cli("init", "--yes", "--only", "secrets", env={"GITLAB_TOKEN": TOKEN}).exit_code == 0
    rotate_typo(cli)  # no terminal: the value would come from an env var


def test_a_typo_in_rotate_at_a_terminal_asks_nothing(cli, enabled_apis, terminal):
    setup = cli("init", "--yes", "--only", "secrets", input="\n\n", env={"GITLAB_TOKEN": TOKEN})
    assert setup.exit_code == 0, setup.output
    _typed, asked = terminal  # nothing typed: any hidden prompt fails the test
    rotate_typo(cli)
    assert asked == []


def test_rotate_names_the_secret_at_its_prompt_like_init(cli, enabled_apis, terminal, tmp_path):
    assert cli("secrets", "create", "sentry-dsn").exit_code == 0
    (tmp_path / "thothctl.toml").write_text('[secrets.sentry-dsn]\ndescription = "Sentry DSN"\n')
    typed, asked = terminal
    typed += ["https://dsn.example/1", "https://dsn.example/1"]
    r = cli("secrets", "rotate", "sentry-dsn")
    assert r.exit_code == 0, r.output
    assert [p for p, _ in asked] == [
        "Sentry DSN (sentry-dsn): ",
        "Sentry DSN (sentry-dsn) (again): ",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "run", "daily"],
        ["jobs", "next", "daily"],
        ["logs", "--job", "daily"],
        ["jobs", "describe", "daily"],
        ["jobs", "pause", "daily"],
        ["jobs", "run", "Daily"],
    ],
)
def test_an_unknown_job_is_one_way_everywhere(cli, enabled_apis, args):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert f"unknown job '{args[-1]}': the jobs are daily-sync and hourly-incremental-sync" in (
        r.stderr
    )
    assert "did you mean daily-sync?" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_wrong_name_suggests_the_closest_never_creating_the_typo(cli, enabled_apis, tmp_path):
    assert cli("init", "--yes", "--only", "secrets", env={"GITLAB_TOKEN": TOKEN}).exit_code == 0
    typo = cli("secrets", "get", "gitlab-tokn")
    assert typo.exit_code == 1
    assert "did you mean gitlab-token?" in typo.stderr and "gitlab-tokn`" not in typo.stderr
    assert "secrets set gitlab-tokn" not in typo.stderr
    spelled_as_env = cli("secrets", "describe", "GITLAB_TOKEN")
    assert "did you mean gitlab-token?" in spelled_as_env.stderr
    only = cli("exec", "--only", "GITLAB_TOKEN", "--", "true")
    assert only.exit_code == 2
    assert "did you mean gitlab-token (the secret behind $GITLAB_TOKEN)?" in only.stderr
    (tmp_path / "thothctl.toml").write_text('[env.prod]\nproject = "thoth-local"\n')
    env = cli("--env", "prdo", "secrets", "list")
    assert env.exit_code == 2
    assert "unknown environment 'prdo'" in env.stderr and "did you mean prod?" in env.stderr


def test_parser_mistakes_read_as_plain_sentences(cli):
    cases = {
        (
            "logs",
            "job",
        ): "SOURCE 'job' is not one of all, jobs, service, secrets — did you mean jobs?",
        ("secrets", "versions", "x", "--state", "foo"): "--state 'foo' is not one of enabled",
        ("init", "--parallel", "0"): "--parallel 0 is out of range: give 1 to 32",
        ("logs", "-n", "many"): "--limit 'many' is not a whole number",
        ("secrets", "lst"): "thothctl secrets has no command 'lst' — did you mean list?",
        ("completion",): "thothctl completion needs the argument SHELL",
    }
    for args, words in cases.items():
        r = cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert words in r.stderr, r.stderr
        for jargon in ("Value error", "Input should", "Invalid value", "Did you mean '__"):
            assert jargon not in r.stderr
    assert "__complete" not in cli("completio").stderr


def test_printed_commands_keep_the_context_they_were_printed_in(cli, emulator):
    r = cli("--project", "thoth-local", "init", "--yes", env={"GITLAB_TOKEN": TOKEN})
    assert r.exit_code == 0, r.output
    assert "Next:\n  thothctl --project thoth-local doctor\n" in r.stderr
    assert "  thothctl --project thoth-local jobs run daily-sync --wait\n" in r.stderr
    assert cli("jobs", "delete", "daily-sync", "--yes").exit_code == 0
    missing = cli("-p", "thoth-local", "jobs", "run", "daily-sync")
    assert missing.exit_code == 1, missing.output
    assert missing.stderr.rstrip().endswith("thothctl --project thoth-local jobs apply")
    emulated = GlobalOptions(emulator=True, env="prod", project="my project")
    assert command_prefix(emulated, {}) == "thothctl --emulator --project 'my project' --env prod"
    assert command_prefix(emulated, {"THOTHCTL_EMULATOR": "1", "THOTHCTL_ENV": "prod"}) == (
        "thothctl --project 'my project'"
    )


def test_doctor_prints_each_fix_whole_under_its_finding_in_reading_order(cli, emulator, clients):
    assert cli("init", "--yes", env={"GITLAB_TOKEN": TOKEN}).exit_code == 0
    for i in range(4):
        assert cli("secrets", "set", "gitlab-token", "-", input=f"glpat-rotated-{i}").exit_code == 0
    for v in (1, 2, 3):
        clients.secrets.disable_secret_version(
            request={"name": f"{P}/secrets/gitlab-token/versions/{v}"}
        )
    report = cli("doctor", "-o", "json").json()
    areas = [f["check"].split(":")[0].split(".")[0] for f in report["findings"]]
    order = ["apis", "service", "secret", "scheduler", "job"]
    assert sorted(areas, key=order.index) == areas, areas
    billing = next(f for f in report["findings"] if f["check"].endswith(".billing"))
    assert billing["fix"] == "thothctl secrets destroy gitlab-token 1 2 3 --yes"

    for width in ("80", "200"):
        shown = cli("doctor", env={"THOTHCTL_FORCE_TTY": "1", "COLUMNS": width})
        lines = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout).splitlines()
        assert "FIX" not in lines[0] and "CHECK" in lines[0]
        fix = next(ln for ln in lines if "fix:" in ln)
        assert fix.strip() == "fix: thothctl secrets destroy gitlab-token 1 2 3 --yes"
        assert all(len(ln) <= int(width) for ln in lines), shown.stdout
        # identifiers whole: the runtime account's email is never cut or folded
        assert "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com" in "\n".join(lines)

    assert cli(*billing["fix"].split()[1:]).exit_code == 0  # the fix, run as printed
    after = cli("doctor", "-o", "json").json()
    assert not [f for f in after["findings"] if f["check"].endswith(".billing")]
