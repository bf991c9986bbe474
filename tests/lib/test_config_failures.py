"""Configuration that used to load and then fail later (a traceback in `jobs next`, `cost` or
`jobs apply --dry-run`, an API call refused half-way, a command aimed at another project) is
refused at load time, by one ConfigError naming the file, the key and what is allowed.

Each key's neighbours too: every duration, every integer range, every string length, every
choice; explicitly empty values of every option and variable; files in other encodings.
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from thothctl.config import load_config, render_template
from thothctl.errors import ConfigError, UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thothctl.toml"
    path.write_text(textwrap.dedent(text))
    return path


def refused(tmp_path: Path, toml: str, **kw) -> ConfigError:
    write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_config(environ=kw.pop("environ", {}), cwd=tmp_path, **kw)
    assert "\n" not in str(info.value)
    return info.value


JOB = "[jobs.daily-sync]\n"
SECRET = "[secrets.gitlab-token]\n"

# (toml, the key the error names, a piece of the rule: what is allowed)
LATER_FAILURES = [
    # the list
    (JOB + 'schedule = "0 2 31 2 *"', "jobs.daily-sync.schedule", "never fires"),
    (JOB + "max_backoff = nan", "jobs.daily-sync.max_backoff", "not a number"),
    (JOB + "max_backoff = inf", "jobs.daily-sync.max_backoff", "not finite"),
    (JOB + "max_backoff = 1e30", "jobs.daily-sync.max_backoff", "between 0s and 3652500d"),
    (JOB + 'max_retry_duration = "99999999999d"', "jobs.daily-sync.max_retry_duration", "3652500d"),
    (JOB + 'headers = {X-A = "a\\r\\nb"}', "jobs.daily-sync.headers", "no CR, LF"),
    (JOB + f'description = "{"d" * 600}"', "jobs.daily-sync.description", "at most 500"),
    (JOB + 'time_zone = "posix/Europe/Berlin"', "jobs.daily-sync.time_zone", "IANA"),
    (JOB + 'time_zone = "right/UTC"', "jobs.daily-sync.time_zone", "IANA"),
    (JOB + 'time_zone = "localtime"', "jobs.daily-sync.time_zone", "IANA"),
    (JOB + 'schedule = "0 2 L * *"', "jobs.daily-sync.schedule", "1-31"),
    (JOB + 'schedule = "0 2 * * 1#2"', "jobs.daily-sync.schedule", "SUN-SAT"),
    (JOB + 'schedule = "0 2 ? * *"', "jobs.daily-sync.schedule", "1-31"),
    # every duration
    (JOB + "min_backoff = nan", "jobs.daily-sync.min_backoff", "not a number"),
    (JOB + "min_backoff = -inf", "jobs.daily-sync.min_backoff", "not finite"),
    (JOB + 'min_backoff = "٣s"', "jobs.daily-sync.min_backoff", "unit s, m, h or d"),
    (JOB + "max_retry_duration = inf", "jobs.daily-sync.max_retry_duration", "not finite"),
    (JOB + "max_retry_duration = -1", "jobs.daily-sync.max_retry_duration", "negative"),
    (JOB + "attempt_deadline = nan", "jobs.daily-sync.attempt_deadline", "not a number"),
    (JOB + 'attempt_deadline = "31m"', "jobs.daily-sync.attempt_deadline", "15s .. 30m"[:3]),
    (JOB + "attempt_deadline = true", "jobs.daily-sync.attempt_deadline", "duration"),
    # every integer
    (JOB + "retry_count = 6", "jobs.daily-sync.retry_count", "between 0 and 5"),
    (JOB + "retry_count = -1", "jobs.daily-sync.retry_count", "between 0 and 5"),
    (JOB + "retry_count = 2.0", "jobs.daily-sync.retry_count", "an integer"),
    (JOB + "retry_count = true", "jobs.daily-sync.retry_count", "an integer"),
    (JOB + "max_doublings = 17", "jobs.daily-sync.max_doublings", "between 0 and 16"),
    (JOB + "max_doublings = 9223372036854775807", "jobs.daily-sync.max_doublings", "16"),
    # every string length and character set
    (JOB + f'path = "/{"p" * 2000}"', "jobs.daily-sync.path", "2000"),
    (JOB + 'path = "/sync\\u0000"', "jobs.daily-sync.path", "control characters"),
    (JOB + 'path = "/sync\\u007f"', "jobs.daily-sync.path", "control characters"),
    (JOB + f'body = "{"b" * 1_000_001}"', "jobs.daily-sync.body", "1 MB"),
    (JOB + 'id = "thoth-daily-sync\\n"', "jobs.daily-sync.id", "1-500 letters"),
    (JOB + 'headers = {Host = "evil.example.com"}', "jobs.daily-sync.headers", "Cloud Scheduler"),
    (JOB + 'headers = {"X A" = "b"}', "jobs.daily-sync.headers", "header name"),
    (SECRET + 'description = "Token\\u001b[2J"', "secrets.gitlab-token.description", "control"),
    (SECRET + f'description = "{"d" * 201}"', "secrets.gitlab-token.description", "at most 200"),
    (SECRET + 'description = ""', "secrets.gitlab-token.description", "empty"),
    (SECRET + 'env = ""', "secrets.gitlab-token.env", "environment variable"),
    (SECRET + 'env = "PORT"', "secrets.gitlab-token.env", "Cloud Run"),
    (SECRET + 'env = "GITLAB_TOKEN\\n"', "secrets.gitlab-token.env", "environment variable"),
    (SECRET + 'env = "GITLAB_BASE_URL"', "secrets.gitlab-token.env", "also used by"),
    (SECRET + 'default = ""', "secrets.gitlab-token.default", "empty"),
    (SECRET + 'default = "a\\u0000b"', "secrets.gitlab-token.default", "NUL byte"),
    (SECRET + f'default = "{"x" * 65537}"', "secrets.gitlab-token.default", "64 KiB"),
    (
        '[secrets.google-application-credentials]\ndefault = "{nope"',
        "secrets.google-application-credentials.default",
        "JSON",
    ),
    (SECRET + 'aliases = ["current", "current"]', "secrets.gitlab-token.aliases", "twice"),
    (SECRET + 'aliases = ["current\\n"]', "secrets.gitlab-token.aliases", "version alias"),
    # every choice
    (SECRET + 'format = "JSON"', "secrets.gitlab-token.format", "text, json"),
    (JOB + 'method = "post\\n"', "jobs.daily-sync.method", "one of POST"),
    ('project = ""', "project", "6-30 lowercase"),
    ('region = "us-central1\\n"', "region", "region"),
    ('service = "thoth-mcp-server\\n"', "service", "49 lowercase"),
    ('apis = ["run\\n"]', "apis", "API name"),
    ('runtime_service_account = "bob@example.com"', "runtime_service_account", "gservice"),
    ('scheduler_service_account = "x@gmail.com"', "scheduler_service_account", "gservice"),
    ('[env."prod\\n"]\nproject = "p-12345"', "env.'prod\\n'", "environment's name"),
]


@pytest.mark.parametrize(
    ("toml", "key", "allowed"), LATER_FAILURES, ids=[f"{k}:{t[-30:]}" for t, k, _ in LATER_FAILURES]
)
def test_a_value_that_would_fail_later_is_refused_at_load_naming_file_key_and_rule(
    tmp_path, toml, key, allowed
):
    err = refused(tmp_path, toml)
    assert (err.source, err.key) == ("thothctl.toml", key), str(err)
    assert allowed in err.rule, err.rule


def test_a_header_value_of_the_wrong_type_is_blamed_on_the_file_not_the_default(tmp_path):
    err = refused(tmp_path, JOB + "headers = {X-A = 5}")
    assert (err.source, err.key) == ("thothctl.toml", "jobs.daily-sync.headers.X-A")
    assert "expected a string" in err.rule


def test_an_explicitly_empty_project_in_the_file_is_refused_not_taken_from_the_environment(
    tmp_path,
):
    err = refused(tmp_path, 'project = ""', environ={"CLOUDSDK_CORE_PROJECT": "other-project"})
    assert err.key == "project"


# --- explicitly empty options and variables ------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"flags": {"project": ""}}, "--project"),
        ({"flags": {"region": ""}}, "--region"),
        ({"flags": {"project": "  "}}, "--project"),
        ({"config_path": ""}, "--config"),
        ({"env_name": ""}, "--env"),
        ({"environ": {"THOTHCTL_PROJECT": ""}}, "$THOTHCTL_PROJECT"),
        ({"environ": {"THOTHCTL_REGION": ""}}, "$THOTHCTL_REGION"),
        ({"environ": {"THOTHCTL_CONFIG": ""}}, "$THOTHCTL_CONFIG"),
        ({"environ": {"THOTHCTL_ENV": ""}}, "$THOTHCTL_ENV"),
        ({"environ": {"CLOUDSDK_CORE_PROJECT": ""}}, "$CLOUDSDK_CORE_PROJECT"),
        ({"environ": {"GOOGLE_CLOUD_PROJECT": ""}}, "$GOOGLE_CLOUD_PROJECT"),
    ],
)
def test_an_explicitly_empty_value_is_an_error_never_a_fall_through(tmp_path, kwargs, named):
    environ = kwargs.pop("environ", {})
    if "GOOGLE_CLOUD_PROJECT" not in environ:  # read only when $CLOUDSDK_CORE_PROJECT is unset
        environ = {"CLOUDSDK_CORE_PROJECT": "other-project", **environ}
    with pytest.raises(UsageError) as info:
        load_config(environ=environ, cwd=tmp_path, **kwargs)
    assert str(info.value).startswith(named) and "empty" in str(info.value)


def test_an_empty_google_variable_is_not_read_when_a_higher_source_gives_the_project(tmp_path):
    env = {"CLOUDSDK_CORE_PROJECT": "", "GOOGLE_CLOUD_PROJECT": ""}
    assert load_config(environ=env, cwd=tmp_path, flags={"project": "p-12345"}).project == (
        "p-12345"
    )


def test_gclouds_own_empty_config_variables_keep_gclouds_meaning(tmp_path):
    """gcloud reads CLOUDSDK_CONFIG="" and CLOUDSDK_ACTIVE_CONFIG_NAME="" as unset."""
    cfg = load_config(
        environ={"CLOUDSDK_CONFIG": "", "CLOUDSDK_ACTIVE_CONFIG_NAME": "", "HOME": str(tmp_path)},
        cwd=tmp_path,
        flags={"project": "p-12345"},
    )
    assert cfg.project == "p-12345"


def test_config_init_refuses_an_empty_or_invalid_project():
    for bad in ("", "Bad_Project", "p-12345\n"):
        with pytest.raises(UsageError, match="--project"):
            render_template(bad)


# --- files in other encodings, and files that are not regular ----------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ('project = "thoth-prod"\n'.encode("utf-16"), "UTF-16"),
        ('project = "thoth-prod"\n'.encode("utf-16-be").join([b"\xfe\xff", b""]), "UTF-16"),
        ('project = "thoth-prod"\n'.encode("utf-32"), "UTF-32"),
        ('# Café\nproject = "thoth-prod"\n'.encode("latin-1"), "line 1, column 6"),
        ('project = "thoth-prod"\n# \xe9t\xe9\n'.encode("cp1252"), "line 2, column 3"),
    ],
)
def test_a_config_file_that_is_not_utf8_is_one_error_saying_so(tmp_path, data, says):
    (tmp_path / "thothctl.toml").write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, cwd=tmp_path)
    assert info.value.source == "thothctl.toml"
    assert "UTF-8" in info.value.rule and says in info.value.rule
    assert info.value.__context__ is None or not isinstance(info.value.__context__, UnicodeError)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "thothctl.toml").write_bytes(b"\xef\xbb\xbf" + b'project = "thoth-prod"\n')
    assert load_config(environ={}, cwd=tmp_path).project == "thoth-prod"


def test_a_config_from_a_pipe_is_read_and_a_directory_is_refused(tmp_path):
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "w") as fh:
            fh.write('project = "from-a-pipe"\n')

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        assert load_config(config_path=str(fifo), environ={}, cwd=tmp_path).project == (
            "from-a-pipe"
        )
    finally:
        if writer.is_alive():  # the pipe was never opened: unblock the writer
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)
    with pytest.raises(UsageError, match="is a directory"):
        load_config(config_path=str(tmp_path), environ={}, cwd=tmp_path)


def test_a_gcloud_configuration_that_cannot_be_read_is_named(tmp_path):
    gcloud = tmp_path / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "active_config").write_bytes(b"\xff\xfe")  # unreadable: the default one is used
    (gcloud / "configurations" / "config_default").write_bytes(b"[core]\nproject = caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(environ={"CLOUDSDK_CONFIG": str(gcloud)}, cwd=tmp_path)
    assert "config_default" in info.value.source and "not UTF-8" in info.value.rule
