"""Configuration: built-in defaults, thothctl.toml, environments, env vars, flags, provenance,
and one clear error (file, key, rule) for every bad value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from thothctl.config import DEFAULTS, load_config, render_template
from thothctl.errors import ConfigError, UsageError


def write(tmp_path: Path, text: str, name: str = "thothctl.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_builtin_defaults_are_the_thoth_deployment(tmp_path):
    cfg = load_config(environ={}, cwd=tmp_path)
    assert cfg.service == "thoth-mcp-server" and cfg.region == "us-central1"
    assert cfg.apis == (
        "secretmanager.googleapis.com",
        "cloudscheduler.googleapis.com",
        "run.googleapis.com",
        "iam.googleapis.com",
    )
    assert cfg.runtime_email("p-123456") == "thoth-mcp-sa@p-123456.iam.gserviceaccount.com"
    assert cfg.scheduler_email("p-123456") == "thoth-scheduler@p-123456.iam.gserviceaccount.com"
    assert set(cfg.secrets) == {"gitlab-token", "gitlab-url", "google-application-credentials"}
    assert (
        cfg.secrets["gitlab-token"].env == "GITLAB_TOKEN" and cfg.secrets["gitlab-token"].required
    )
    assert cfg.secrets["gitlab-url"].default == "https://gitlab.com"
    creds = cfg.secrets["google-application-credentials"]
    assert creds.format == "json" and not creds.required
    daily = cfg.job("daily-sync")
    assert (daily.id, daily.schedule, daily.time_zone, daily.attempt_deadline) == (
        "thoth-daily-sync",
        "0 2 * * *",
        "UTC",
        320.0,
    )
    assert (
        daily.retry.retry_count,
        daily.retry.min_backoff,
        daily.retry.max_backoff,
        daily.retry.max_doublings,
    ) == (3, 5, 3600, 5)
    assert daily.body == '{"scheduled":true,"sync_type":"daily"}'
    hourly = cfg.job("thoth-hourly-incremental-sync")  # by job id too
    assert (
        hourly.schedule,
        hourly.attempt_deadline,
        hourly.retry.retry_count,
        hourly.retry.max_backoff,
        hourly.retry.max_doublings,
    ) == (
        "0 * * * *",
        180.0,
        2,
        1800,
        3,
    )
    assert cfg.source_of("jobs.daily-sync.schedule") == "default"


def test_file_overrides_merge_over_defaults_and_record_their_source(tmp_path):
    write(
        tmp_path,
        """
        project = "thoth-prod"
        [jobs.daily-sync]
        schedule = "30 3 * * *"
        time_zone = "Europe/Berlin"
        """,
    )
    cfg = load_config(environ={}, cwd=tmp_path)
    daily = cfg.job("daily-sync")
    assert daily.schedule == "30 3 * * *" and daily.time_zone == "Europe/Berlin"
    assert daily.attempt_deadline == 320  # untouched keys keep their default
    assert cfg.project == "thoth-prod"
    assert cfg.source_of("jobs.daily-sync.schedule") == "thothctl.toml"
    assert cfg.source_of("jobs.daily-sync.path") == "default"


def test_named_environment_overrides_the_file(tmp_path):
    write(
        tmp_path,
        """
        project = "thoth-dev"
        [env.prod]
        project = "thoth-prod"
        region = "europe-west1"
        [env.prod.secrets.gitlab-url]
        default = "https://gitlab.example.com"
        """,
    )
    cfg = load_config(env_name="prod", environ={}, cwd=tmp_path)
    assert (cfg.project, cfg.region) == ("thoth-prod", "europe-west1")
    assert cfg.secrets["gitlab-url"].default == "https://gitlab.example.com"
    assert cfg.source_of("project") == "thothctl.toml [env.prod]"
    assert cfg.environments == ("prod",)
    with pytest.raises(UsageError, match=r"unknown environment 'staging'.*prod"):
        load_config(env_name="staging", environ={}, cwd=tmp_path)


def test_project_precedence_flag_env_file_cloudsdk_gcloud(tmp_path):
    gcloud = tmp_path / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "active_config").write_text("work\n")
    (gcloud / "configurations" / "config_work").write_text(
        "[core]\nproject = from-gcloud\n[run]\nregion = asia-east1\n"
    )
    env = {"CLOUDSDK_CONFIG": str(gcloud)}

    cfg = load_config(environ=env, cwd=tmp_path)
    assert cfg.project == "from-gcloud" and "gcloud config 'work'" in cfg.source_of("project")
    assert cfg.region == "asia-east1"

    env["CLOUDSDK_CORE_PROJECT"] = "from-cloudsdk"
    assert load_config(environ=env, cwd=tmp_path).project == "from-cloudsdk"

    write(tmp_path, 'project = "from-file"\n')
    assert load_config(environ=env, cwd=tmp_path).project == "from-file"

    env["THOTHCTL_PROJECT"] = "from-thothctl-env"
    cfg = load_config(environ=env, cwd=tmp_path)
    assert cfg.project == "from-thothctl-env" and cfg.source_of("project") == "$THOTHCTL_PROJECT"

    cfg = load_config(environ=env, cwd=tmp_path, flags={"project": "from-flag"})
    assert cfg.project == "from-flag" and cfg.source_of("project") == "--project"


def test_emulator_mode_defaults_to_the_seeded_project_and_ignores_gcloud(tmp_path):
    gcloud = tmp_path / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "configurations" / "config_default").write_text("[core]\nproject = real-project\n")
    cfg = load_config(
        environ={"CLOUDSDK_CONFIG": str(gcloud), "CLOUDSDK_CORE_PROJECT": "real-project"},
        cwd=tmp_path,
        emulator=True,
    )
    assert cfg.project == "thoth-local" and cfg.source_of("project") == "emulator default"


@pytest.mark.parametrize(
    ("toml", "key", "rule"),
    [
        ('projct = "x"', "projct", "unknown key (did you mean 'project'?)"),
        (
            '[jobs.daily-sync]\nschedul = "0 1 * * *"',
            "jobs.daily-sync.schedul",
            "did you mean 'schedule'",
        ),
        ('[secrets."bad id!"]\nenv = "X"', "secrets.bad id!", "not a valid secret id"),
        (
            '[jobs.daily-sync]\nschedule = "0 25 * * *"',
            "jobs.daily-sync.schedule",
            "not a valid cron schedule",
        ),
        ('[jobs.daily-sync]\nschedule = "every day"', "jobs.daily-sync.schedule", "5 fields"),
        (
            '[jobs.daily-sync]\ntime_zone = "Mars/Olympus"',
            "jobs.daily-sync.time_zone",
            "not a known time zone",
        ),
        (
            '[jobs.daily-sync]\nattempt_deadline = "5 minutes"',
            "jobs.daily-sync.attempt_deadline",
            "not a duration",
        ),
        (
            '[jobs.daily-sync]\nattempt_deadline = "10s"',
            "jobs.daily-sync.attempt_deadline",
            "between 15s and 30m",
        ),
        ('[jobs.daily-sync]\npath = "sync"', "jobs.daily-sync.path", "must start with '/'"),
        (
            '[jobs.daily-sync]\npath = "https://evil.example/sync"',
            "jobs.daily-sync.path",
            "not a valid URL path",
        ),
        ("[jobs.daily-sync]\nretry_count = 9", "jobs.daily-sync.retry_count", "between 0 and 5"),
        (
            '[jobs.daily-sync]\nretry_count = "3"',
            "jobs.daily-sync.retry_count",
            "expected an integer",
        ),
        ('[jobs.daily-sync]\nmethod = "GET"', "jobs.daily-sync.method", "only allowed with POST"),
        ('region = "middle-earth"', "region", "not a valid region"),
        (
            '[secrets.gitlab-token]\nformat = "yaml"',
            "secrets.gitlab-token.format",
            "one of text, json",
        ),
        (
            '[secrets.gitlab-token]\nenv = "1BAD"',
            "secrets.gitlab-token.env",
            "environment variable",
        ),
        ('apis = "secretmanager"', "apis", "expected a list"),
        (
            'scheduler_service_account = "Bad_Account"',
            "scheduler_service_account",
            "not a service account",
        ),
    ],
)
def test_bad_values_name_the_file_the_key_and_the_rule(tmp_path, toml, key, rule):
    write(tmp_path, toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, cwd=tmp_path)
    err = info.value
    assert err.source == "thothctl.toml"
    assert err.key == key
    assert rule in err.rule
    assert err.exit_code == 2


def test_malformed_toml_is_one_error_with_the_position(tmp_path):
    write(tmp_path, "project = \n")
    with pytest.raises(ConfigError, match=r"thothctl.toml: invalid TOML: .*line 1"):
        load_config(environ={}, cwd=tmp_path)


def test_bad_value_from_an_env_var_names_the_variable(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(environ={"THOTHCTL_PROJECT": "Not A Project"}, cwd=tmp_path)
    assert info.value.source == "$THOTHCTL_PROJECT" and info.value.key == "project"


def test_the_template_is_valid_toml_holding_exactly_the_defaults(tmp_path):
    import tomllib

    data = tomllib.loads(render_template())
    for key in (
        "region",
        "service",
        "apis",
        "runtime_service_account",
        "scheduler_service_account",
        "secrets",
        "jobs",
    ):
        assert data[key] == DEFAULTS[key], key
    assert "project" not in data
    assert tomllib.loads(render_template("thoth-prod"))["project"] == "thoth-prod"
