"""`thothctl config show|init` and the global options, as a user runs them."""

from __future__ import annotations

import json

from thothctl.cli.guard import global_options
from thothctl.cli.guard import hoist_global_options as _hoist


def test_config_init_writes_a_commented_file_and_refuses_to_overwrite(cli, tmp_path):
    result = cli("config", "init", "--project", "thoth-prod")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "thothctl.toml").read_text()
    assert text.startswith("# thothctl configuration")
    assert 'project = "thoth-prod"' in text

    again = cli("config", "init")
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert cli("config", "init", "--force").exit_code == 0


def test_config_show_reports_each_value_and_its_source(cli, tmp_path):
    (tmp_path / "thothctl.toml").write_text(
        '[env.prod]\nproject = "thoth-prod"\n[jobs.daily-sync]\nschedule = "0 4 * * *"\n'
    )
    result = cli(
        "config", "show", "--env", "prod", "-o", "json", env={"THOTHCTL_REGION": "europe-west4"}
    )
    assert result.exit_code == 0, result.output
    data = result.json()
    values = data["values"]
    assert values["project"] == {"value": "thoth-prod", "source": "thothctl.toml [env.prod]"}
    assert values["region"] == {"value": "europe-west4", "source": "$THOTHCTL_REGION"}
    assert values["jobs.daily-sync.schedule"] == {"value": "0 4 * * *", "source": "thothctl.toml"}
    assert values["jobs.daily-sync.retry_count"] == {"value": 3, "source": "default"}
    assert data["environments"] == ["prod"] and data["env"] == "prod"
    # every key of the field table, also those no layer sets (the table's default)
    assert values["secrets.gitlab-token.aliases"] == {"value": [], "source": "default"}
    assert values["secrets.gitlab-token.default"] == {"value": None, "source": "default"}


def test_config_show_in_a_pipe_is_tab_separated_rows(cli):
    result = cli("config", "show", "-p", "thoth-prod")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["project", "thoth-prod", "--project"] in rows
    assert ["jobs.daily-sync.schedule", "0 2 * * *", "default"] in rows


def test_bad_config_file_is_one_line_exit_2_without_traceback(cli, tmp_path):
    (tmp_path / "thothctl.toml").write_text('[jobs.daily-sync]\nschedule = "61 * * * *"\n')
    result = cli("config", "show")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: thothctl.toml: jobs.daily-sync.schedule: '61 * * * *' is not a valid cron schedule"
    )
    assert "Traceback" not in result.output


def test_missing_explicit_config_file(cli):
    result = cli("--config", "nope.toml", "config", "show")
    assert result.exit_code == 2
    assert "config file nope.toml does not exist" in result.stderr


def test_global_options_work_before_or_after_the_subcommand(cli):
    before = cli("-o", "json", "-p", "thoth-prod", "config", "show")
    after = cli("config", "show", "-p", "thoth-prod", "--output", "json")
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(after.stdout)["values"]["project"]["value"] == "thoth-prod"


def test_hoisting_keeps_subcommand_options_and_everything_after_double_dash():
    assert hoist_global_options(["secrets", "list", "-o", "json", "--yes"]) == [
        "-o",
        "json",
        "--yes",
        "secrets",
        "list",
    ]
    assert hoist_global_options(["jobs", "next", "daily-sync", "-n", "5", "--project=p1"]) == [
        "--project=p1",
        "jobs",
        "next",
        "daily-sync",
        "-n",
        "5",
    ]
    assert hoist_global_options(["exec", "--", "env", "-v", "-p", "x"]) == [
        "exec",
        "--",
        "env",
        "-v",
        "-p",
        "x",
    ]
    # --version is only global before the subcommand (secrets get NAME --version 3)
    assert hoist_global_options(["secrets", "get", "t", "--version", "3"]) == [
        "secrets",
        "get",
        "t",
        "--version",
        "3",
    ]


def test_unknown_option_and_bad_output_format_exit_2_with_one_line(cli):
    result = cli("config", "show", "--frobnicate")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: thothctl config show has no option --frobnicate")
    assert len(result.stderr.strip().splitlines()) == 1
    bad = cli("-o", "yaml", "config", "show")
    assert bad.exit_code == 2 and "yaml" in bad.stderr


def test_version_and_help(cli):
    assert cli("--version").exit_code == 0
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("config", "apis", "secrets", "jobs", "logs", "emulator"):
        assert group in result.stdout


def test_bare_thothctl_shows_help_and_a_group_without_command_is_usage(cli):
    bare = cli()
    assert bare.exit_code == 0
    assert "Usage: thothctl" in bare.stdout and "error" not in bare.stderr
    group = cli("secrets")
    assert group.exit_code == 2
    assert "Usage: thothctl secrets" in group.stdout and "error" not in group.stderr


def hoist_global_options(args):
    from typer.main import get_command

    from thothctl.cli import app

    return _hoist(args, global_options(get_command(app)))


def test_global_options_are_derived_from_the_root_command():
    from typer.main import get_command

    from thothctl.cli import app

    options = global_options(get_command(app))
    assert options["--project"] is True and options["-p"] is True
    assert options["--emulator"] is False and options["--yes"] is False
    assert "--version" not in options  # eager: handled before hoisting matters
