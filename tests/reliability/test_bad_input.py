"""A catalog of bad input. Each case exits 2 with one error line naming the problem, prints no
traceback, and the emulator's call log shows no mutating call (nothing was changed).

The project is set up so that a case that slipped past validation WOULD change something: the
APIs are enabled, gitlab-token and the JSON credentials secret exist with one version each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from reliability_helpers import P, enable_all

BIG = "x" * 65537


@dataclass
class Case:
    id: str
    args: tuple[str, ...]
    expect: str  # a piece of the error line naming the problem
    toml: str | None = None
    input: str | bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    fresh: bool = False  # no secrets yet (init then needs their values)


def c(id, args, expect, **kw) -> Case:
    return Case(id, tuple(args.split()) if isinstance(args, str) else tuple(args), expect, **kw)


CASES = [
    # --- config files -------------------------------------------------------------------------
    c("toml-malformed", "jobs apply", "thothctl.toml", toml='project = "unterminated\n'),
    c("toml-bad-table", "secrets list", "thothctl.toml", toml="[secrets\n"),
    c("toml-unknown-top-key", "init --yes", "unknown key", toml='projekt = "x"\n'),
    c(
        "toml-unknown-secret-key",
        "secrets list",
        "unknown key",
        toml='[secrets.gitlab-token]\nenvv = "X"\n',
    ),
    c(
        "toml-unknown-job-key",
        "jobs apply",
        "unknown key",
        toml='[jobs.daily-sync]\nschedul = "0 1 * * *"\n',
    ),
    c(
        "toml-wrong-type-int",
        "jobs apply",
        "retry_count",
        toml='[jobs.daily-sync]\nretry_count = "three"\n',
    ),
    c("toml-wrong-type-str", "init --yes", "region", toml="region = 5\n"),
    c(
        "toml-wrong-type-bool",
        "secrets list",
        "required",
        toml='[secrets.gitlab-token]\nrequired = "yes"\n',
    ),
    c("toml-secrets-not-table", "secrets list", "secrets", toml='secrets = "gitlab-token"\n'),
    c(
        "toml-bad-format",
        "secrets list",
        "format",
        toml='[secrets.gitlab-token]\nformat = "yaml"\n',
    ),
    c("toml-bad-project", "init --yes", "project", toml='project = "Bad_Project!"\n'),
    c(
        "toml-bad-env-var-name",
        "secrets list",
        "env",
        toml='[secrets.gitlab-token]\nenv = "1 BAD"\n',
    ),
    c("cron-hour-25", "jobs apply", "cron", toml='[jobs.daily-sync]\nschedule = "0 25 * * *"\n'),
    c("cron-words", "init --yes", "cron", toml='[jobs.daily-sync]\nschedule = "every day"\n'),
    c(
        "cron-six-fields",
        "jobs apply",
        "cron",
        toml='[jobs.daily-sync]\nschedule = "0 0 1 * * *"\n',
    ),
    c("tz-unknown", "jobs apply", "time zone", toml='[jobs.daily-sync]\ntime_zone = "Moon/Base"\n'),
    c("tz-offset", "init --yes", "time zone", toml='[jobs.daily-sync]\ntime_zone = "+02:00"\n'),
    c(
        "duration-word",
        "jobs apply",
        "duration",
        toml='[jobs.daily-sync]\nattempt_deadline = "soon"\n',
    ),
    c(
        "duration-out-of-range",
        "jobs apply",
        "attempt_deadline",
        toml='[jobs.daily-sync]\nattempt_deadline = "5s"\n',
    ),
    c("url-path-relative", "jobs apply", "path", toml='[jobs.daily-sync]\npath = "sync"\n'),
    c("env-unknown", "--env nope secrets list", "nope", toml='[env.prod]\nproject = "p-1"\n'),
    c("config-missing", "--config missing.toml secrets list", "missing.toml"),
    # --- flags ----------------------------------------------------------------------------------
    c("output-yaml", "secrets list -o yaml", "yaml"),
    c("transport-unknown", "--transport pigeon secrets list", "pigeon"),
    c("unknown-option", "secrets list --frobnicate", "--frobnicate"),
    c("project-flag-invalid", "--project Not_A_Project secrets list", "Not_A_Project"),
    c("versions-state", "secrets versions gitlab-token --state gone", "gone"),
    c("init-only", "init --yes --only everything", "everything"),
    c("rotate-keep-0", "secrets rotate gitlab-token --keep 0 -", "keep", input="v\n"),
    c("jobs-next-0", "jobs next daily-sync -n 0", "0"),
    c("jobs-run-timeout", "jobs run daily-sync --wait --timeout forever", "forever"),
    c("jobs-apply-unknown", "jobs apply no-such-job", "no-such-job"),
    c(
        "retry-deadline-env",
        "secrets list",
        "THOTHCTL_RETRY_DEADLINE",
        env={"THOTHCTL_RETRY_DEADLINE": "abc"},
    ),
    # --- secret ids, version ids ---------------------------------------------------------------
    c("secret-id-chars", ["secrets", "create", "bad id!"], "bad id!"),
    c("secret-id-long", ["secrets", "create", "a" * 256], "255"),
    c("secret-id-path", ["secrets", "set", "../etc", "-"], "../etc", input="v\n"),
    c("secret-id-empty", ["secrets", "grant", "", "user:a@example.com"], "secret"),
    c("version-word", "secrets disable gitlab-token abc", "abc"),
    c("version-negative", ["secrets", "enable", "gitlab-token", "--", "-1"], "-1"),
    c("version-zero", "secrets destroy gitlab-token 0 --yes", "0"),
    c("version-get-bad", "secrets get gitlab-token --version v1!", "v1!"),
    # --- members and roles ---------------------------------------------------------------------
    c("member-no-prefix", "secrets grant gitlab-token bob@example.com", "bob@example.com"),
    c("member-public", "secrets grant gitlab-token allUsers", "public"),
    c("member-bad-email", "secrets grant gitlab-token user:not-an-email", "not-an-email"),
    c("member-revoke-kind", "secrets revoke gitlab-token robot:x@example.com", "robot"),
    c(
        "role-no-prefix",
        "secrets grant gitlab-token user:a@example.com --role secretAccessor",
        "role",
    ),
    c("role-junk", "secrets grant gitlab-token user:a@example.com --role roles/", "role"),
    # --- payloads --------------------------------------------------------------------------------
    c("payload-empty-stdin", "secrets set gitlab-token -", "empty", input=""),
    c("payload-only-newline", "secrets set gitlab-token -", "empty", input="\n"),
    c("payload-64k-plus-1-stdin", "secrets set gitlab-token -", "65536", input=BIG),
    c(
        "payload-64k-plus-1-file",
        "secrets set gitlab-token --from-file big.txt",
        "65536",
        files={"big.txt": BIG.encode()},
    ),
    c(
        "payload-invalid-utf8",
        "secrets set gitlab-token --from-file bad.bin",
        "UTF-8",
        files={"bad.bin": b"abc\xff\xfe"},
    ),
    c(
        "payload-invalid-json",
        "secrets set google-application-credentials -",
        "JSON",
        input='{"type": "service_account",\n',
    ),
    c(
        "payload-invalid-json-rotate",
        "secrets rotate google-application-credentials -",
        "JSON",
        input="not json\n",
    ),
    c(
        "payload-invalid-json-init-env",
        "init --yes --no-input",
        "JSON",
        env={"GITLAB_TOKEN": "t", "GOOGLE_APPLICATION_CREDENTIALS_JSON": "{oops"},
        fresh=True,
    ),
    c("payload-missing-file", "secrets set gitlab-token --from-file nope.txt", "nope.txt"),
    # --- logs ------------------------------------------------------------------------------------
    c("since-word", "logs --since yesterdayish", "yesterdayish"),
    c("since-unit", "logs --since 10x", "10x"),
    c("until-bad", "logs --until sometime", "sometime"),
    c("severity-bad", "logs --severity LOUD", "LOUD"),
    c("filter-unbalanced", ["logs", "--filter", "(severity>=ERROR"], "filter"),
    c("filter-dangling", ["logs", "--filter", "httpRequest.status >="], "filter"),
    c("logs-source", "logs everything", "everything"),
    # --- missing values with --no-input ----------------------------------------------------------
    c("no-input-set", "secrets set gitlab-token --no-input", "GITLAB_TOKEN"),
    c("no-input-rotate", "secrets rotate gitlab-token --no-input", "GITLAB_TOKEN"),
    c("no-input-init", "init --yes --no-input", "GITLAB_TOKEN", fresh=True),
    c("no-input-delete", "secrets delete gitlab-token --no-input", "--yes"),
    c("no-input-destroy", "secrets destroy gitlab-token 1 --no-input", "--yes"),
    c("no-input-jobs-delete", "jobs delete daily-sync --no-input", "--yes"),
    # --- explicitly empty options and variables: an error, never a fall-through (issue 12) ------
    c(
        "empty-project-flag",
        ["--project", "", "init", "--yes"],
        "--project",
        env={"CLOUDSDK_CORE_PROJECT": "other-project"},
    ),
    c("empty-project-env", "init --yes", "THOTHCTL_PROJECT", env={"THOTHCTL_PROJECT": ""}),
    c("empty-region-flag", ["--region", "", "init", "--yes"], "--region"),
    c("empty-config-flag", ["--config", "", "init", "--yes"], "--config"),
    c("empty-config-env", "init --yes", "THOTHCTL_CONFIG", env={"THOTHCTL_CONFIG": ""}),
    c("empty-env-flag", ["--env", "", "init", "--yes"], "--env"),
    c("empty-output-env", "secrets list", "THOTHCTL_OUTPUT", env={"THOTHCTL_OUTPUT": ""}),
    c(
        "empty-quota-env",
        "init --yes",
        "THOTHCTL_QUOTA_PROJECT",
        env={"THOTHCTL_QUOTA_PROJECT": ""},
    ),
    c(
        "empty-impersonate-flag",
        ["--impersonate-service-account", "", "init", "--yes"],
        "--impersonate-service-account",
    ),
    c("empty-labels", ["secrets", "create", "x-1", "--labels", ""], "--labels"),
    c("empty-from-file", ["secrets", "set", "gitlab-token", "--from-file", ""], "--from-file"),
    c("empty-since", ["logs", "--since", ""], "--since"),
    c("empty-severity", ["logs", "--severity", ""], "--severity"),
    # --- a trailing newline or control character in an identifier -----------------------------
    c("secret-id-newline", ["secrets", "create", "abc\n"], "secret id"),
    c("member-newline", ["secrets", "grant", "gitlab-token", "user:a@example.com\n"], "member"),
    c(
        "role-newline",
        ["secrets", "grant", "gitlab-token", "user:a@example.com", "--role", "roles/viewer\n"],
        "role",
    ),
    c("project-newline", ["--project", "thoth-local\n", "init", "--yes"], "project id"),
    c("version-unicode-digit", ["secrets", "disable", "gitlab-token", "٣"], "version"),
    c("member-gmail-domain", "secrets grant gitlab-token domain:gmail.com", "public"),
    # --- config that used to pass load and fail later -------------------------------------------
    c(
        "cron-never-fires",
        "jobs apply",
        "never fires",
        toml='[jobs.daily-sync]\nschedule = "0 2 31 2 *"\n',
    ),
    c("cron-L", "jobs apply", "cron", toml='[jobs.daily-sync]\nschedule = "0 2 L * *"\n'),
    c("cron-hash", "init --yes", "cron", toml='[jobs.daily-sync]\nschedule = "0 2 * * 1#2"\n'),
    c("cron-question", "jobs apply", "cron", toml='[jobs.daily-sync]\nschedule = "0 2 ? * *"\n'),
    c(
        "tz-posix",
        "jobs apply",
        "time zone",
        toml='[jobs.daily-sync]\ntime_zone = "posix/Etc/UTC"\n',
    ),
    c("tz-right", "jobs apply", "time zone", toml='[jobs.daily-sync]\ntime_zone = "right/UTC"\n'),
    c(
        "tz-localtime",
        "init --yes",
        "time zone",
        toml='[jobs.daily-sync]\ntime_zone = "localtime"\n',
    ),
    c(
        "duration-nan",
        "jobs apply --dry-run",
        "max_backoff",
        toml="[jobs.daily-sync]\nmax_backoff = nan\n",
    ),
    c(
        "duration-inf",
        "jobs apply --dry-run",
        "max_backoff",
        toml="[jobs.daily-sync]\nmax_backoff = inf\n",
    ),
    c(
        "duration-1e30",
        "jobs apply --dry-run",
        "3652500d",
        toml="[jobs.daily-sync]\nmax_backoff = 1e30\n",
    ),
    c(
        "duration-retry-huge",
        "jobs apply --dry-run",
        "max_retry_duration",
        toml='[jobs.daily-sync]\nmax_retry_duration = "99999999999d"\n',
    ),
    c(
        "header-crlf",
        "jobs apply",
        "no cr, lf",
        toml='[jobs.daily-sync]\nheaders = {X-A = "a\\r\\nb"}\n',
    ),
    c(
        "header-int",
        "jobs apply",
        "thothctl.toml: jobs.daily-sync.headers.x-a",
        toml="[jobs.daily-sync]\nheaders = {X-A = 5}\n",
    ),
    c(
        "description-600",
        "jobs apply",
        "at most 500",
        toml=f'[jobs.daily-sync]\ndescription = "{"d" * 600}"\n',
    ),
    c(
        "secret-default-empty",
        "init --yes",
        "default",
        toml='[secrets.gitlab-token]\ndefault = ""\n',
    ),
    c(
        "secret-env-reserved",
        "init --yes",
        "cloud run",
        toml='[secrets.gitlab-token]\nenv = "PORT"\n',
    ),
    # --- files: thothctl.toml in another encoding, values that could never be used --------------
    c(
        "toml-utf16",
        "init --yes",
        "utf-16",
        files={"thothctl.toml": 'project = "thoth-local"\n'.encode("utf-16")},
    ),
    c(
        "toml-latin1",
        "init --yes",
        "not utf-8",
        files={"thothctl.toml": '# Café\nproject = "thoth-local"\n'.encode("latin-1")},
    ),
    c("payload-nul", "secrets set gitlab-token -", "NUL byte", input=b"tok\x00en"),
    c(
        "retry-deadline-nan",
        "secrets list",
        "THOTHCTL_RETRY_DEADLINE",
        env={"THOTHCTL_RETRY_DEADLINE": "nan"},
    ),
    c(
        "retry-deadline-inf",
        "secrets list",
        "THOTHCTL_RETRY_DEADLINE",
        env={"THOTHCTL_RETRY_DEADLINE": "inf"},
    ),
    c(
        "retry-deadline-negative",
        "secrets list",
        "THOTHCTL_RETRY_DEADLINE",
        env={"THOTHCTL_RETRY_DEADLINE": "-5"},
    ),
]


@pytest.fixture
def project(enabled_apis, clients):
    """APIs enabled, the two secrets created with one version each, the call log empty."""
    enable_all(enabled_apis)
    sm = clients.secrets
    for name, value in (("gitlab-token", b"glpat-1"), ("google-application-credentials", b"{}")):
        sm.create_secret(
            request={"parent": P, "secret_id": name, "secret": {"replication": {"automatic": {}}}}
        )
        sm.add_secret_version(request={"parent": f"{P}/secrets/{name}", "payload": {"data": value}})
    enabled_apis.calls.reset()
    return enabled_apis


@pytest.mark.parametrize("case", CASES, ids=[k.id for k in CASES])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(cli, project, clients, tmp_path, case):
    if case.fresh:
        for name in ("gitlab-token", "google-application-credentials"):
            clients.secrets.delete_secret(request={"name": f"{P}/secrets/{name}"})
        project.calls.reset()
    if case.toml is not None:
        (tmp_path / "thothctl.toml").write_text(case.toml)
    for name, data in case.files.items():
        (tmp_path / name).write_bytes(data)
    result = cli(*case.args, input=case.input, env={"CI": "", **case.env})
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert case.expect.lower() in errors[0].lower()
    # anything else on stderr is a progress line ("Reading thoth-local…") printed before the
    # problem was known
    assert all(ln.endswith("…") for ln in lines if ln not in errors), result.stderr
    assert [c.method for c in project.calls.snapshot() if c.mutating] == []


def test_the_catalog_is_big_enough():
    kinds = {k.id.split("-", 1)[0] for k in CASES}
    assert len(CASES) >= 40
    assert {"toml", "cron", "tz", "duration", "member", "role", "payload", "since"} <= kinds
