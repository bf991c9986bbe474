"""Shell completion: the checked-in scripts match the app, names come from the config alone, and
real bash, zsh and fish complete commands, options and config values with them."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COMPLETIONS = REPO / "completions"
PACKAGED = REPO / "src" / "thothctl" / "completions"  # what `thothctl completion SHELL` prints
BIN = Path(sys.executable).parent
DEFAULT_SECRETS = ["gitlab-token", "gitlab-url", "google-application-credentials"]

TEAM_CONFIG = """
[secrets.sentry-dsn]
env = "SENTRY_DSN"
description = "Sentry DSN"

[jobs.weekly-report]
id = "thoth-weekly-report"
schedule = "0 6 * * 1"

[env.staging]
project = "thoth-staging"

[env.prod]
project = "thoth-prod"

[env.prod.secrets.prod-only-token]
env = "PROD_ONLY_TOKEN"
"""


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return load_script("gen_completions")


@pytest.fixture
def team_dir(tmp_path):
    """A project directory holding a thothctl.toml with an extra secret, job and environments."""
    (tmp_path / "thothctl.toml").write_text(TEAM_CONFIG)
    return tmp_path


def shell_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THOTHCTL_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


# --- the checked-in scripts are generated from the app -----------------------------------------


def test_checked_in_scripts_match_the_app(gen):
    for name, text in gen.generate().items():
        for where in (COMPLETIONS, PACKAGED):
            assert (where / name).read_text() == text, (
                f"{where / name} is stale: run `python scripts/gen_completions.py`"
            )


def test_thothctl_completion_prints_the_packaged_script_for_each_shell(cli, gen):
    """A pip or pipx install has no completions/ directory: the command prints the same text."""
    for shell, name in gen.FILES.items():
        r = cli("completion", shell)
        assert r.exit_code == 0, r.output
        assert r.stdout == (COMPLETIONS / name).read_text()
    bad = cli("completion", "tcsh")
    assert bad.exit_code == 2 and "'tcsh' is not one of bash, zsh, fish" in bad.stderr


def test_completion_install_writes_where_the_shell_looks_and_says_what_is_left(cli, tmp_path):
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""}
    bash = cli("completion", "bash", "--install", env=env)
    assert bash.exit_code == 0, bash.output
    path = tmp_path / ".local/share/bash-completion/completions/thothctl"
    assert path.read_text() == (COMPLETIONS / "thothctl.bash").read_text()
    assert f"source {path}" in bash.stderr  # what works without the bash-completion package
    zsh = cli("completion", "zsh", "--install", "-o", "json", env=env)
    assert zsh.json()["path"] == str(tmp_path / ".zfunc/_thothctl")
    assert "fpath=(~/.zfunc $fpath)" in zsh.json()["steps"]
    fish = cli("completion", "fish", "--install", env=env)
    assert (tmp_path / ".config/fish/completions/thothctl.fish").is_file(), fish.output


def test_each_script_names_the_command_tree_hash(gen):
    apptree = load_script("apptree")
    digest = apptree.tree_hash(apptree.command_tree())
    for name in gen.FILES.values():
        assert f"command-tree-sha256: {digest}" in (COMPLETIONS / name).read_text()


def test_a_new_command_or_option_makes_the_check_fail(gen, tmp_path, monkeypatch):
    import typer

    from thothctl.cli import app

    assert gen.main(["--out", str(tmp_path)]) == 0
    assert gen.main(["--check", "--out", str(tmp_path)]) == 0

    extra = typer.Typer()

    def frobnicate(loudly: bool = typer.Option(False, "--loudly")) -> None:
        """Frobnicate."""

    extra.command("frobnicate")(frobnicate)
    monkeypatch.setattr(app, "registered_groups", [*app.registered_groups])
    app.add_typer(extra, name="gadgets")
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert "frobnicate" in gen.generate()["thothctl.bash"]


def test_check_flags_a_hand_edited_script(gen, tmp_path, capsys):
    gen.main(["--out", str(tmp_path)])
    fish = tmp_path / "thothctl.fish"
    fish.write_text(fish.read_text().replace("secrets", "secretz", 1))
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert "thothctl.fish" in capsys.readouterr().err


# --- the hidden provider answers from the config only ------------------------------------------


def names(stdout: str) -> list[str]:
    return [line.split("\t", 1)[0] for line in stdout.splitlines() if line]


def test_provider_lists_the_built_in_secrets_and_jobs(cli):
    r = cli("__complete", "secret")
    assert r.exit_code == 0
    assert names(r.stdout) == DEFAULT_SECRETS
    assert "GitLab personal access token" in r.stdout
    jobs = names(cli("__complete", "job").stdout)
    assert jobs == [
        "daily-sync",
        "hourly-incremental-sync",
        "thoth-daily-sync",
        "thoth-hourly-incremental-sync",
    ]
    assert names(cli("__complete", "output").stdout) == ["table", "json"]
    assert "secretmanager.googleapis.com" in names(cli("__complete", "api").stdout)


def test_provider_reads_an_edited_thothctl_toml(cli, tmp_path):
    (tmp_path / "thothctl.toml").write_text(TEAM_CONFIG)  # cli runs in tmp_path
    assert names(cli("__complete", "secret").stdout) == [*DEFAULT_SECRETS, "sentry-dsn"]
    jobs = names(cli("__complete", "job").stdout)
    assert "weekly-report" in jobs and "thoth-weekly-report" in jobs
    assert names(cli("__complete", "env").stdout) == ["staging", "prod"]
    prod = names(cli("__complete", "secret", "--env", "prod").stdout)
    assert "prod-only-token" in prod
    assert names(cli("__complete", "secret", "sen").stdout) == ["sentry-dsn"]


def test_provider_follows_config_flag_and_env_var(cli, team_dir):
    path = str(team_dir / "thothctl.toml")
    assert "sentry-dsn" in names(cli("__complete", "secret", "--config", path).stdout)
    r = cli("__complete", "env", env={"THOTHCTL_CONFIG": path})
    assert names(r.stdout) == ["staging", "prod"]


def test_provider_never_fails_on_a_broken_config(cli, tmp_path):
    (tmp_path / "thothctl.toml").write_text("[secrets.half-typed\nenv = ")
    r = cli("__complete", "secret")
    assert r.exit_code == 0
    assert names(r.stdout) == DEFAULT_SECRETS
    assert r.stderr == ""
    r = cli("__complete", "secret", "--env", "nope", "--config", str(tmp_path / "missing.toml"))
    assert r.exit_code == 0 and r.stderr == ""
    r = cli("__complete", "no-such-kind")
    assert r.exit_code == 0 and r.stdout == ""


def test_typer_completion_protocol_completes_env_and_output(team_dir):
    """What `thothctl --install-completion` installs: typer's protocol, answered from the config."""
    env = shell_env(
        _THOTHCTL_COMPLETE="complete_bash", COMP_WORDS="thothctl --env ", COMP_CWORD="2"
    )
    out = subprocess.run(
        [str(BIN / "thothctl")], cwd=team_dir, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.split() == ["staging", "prod"]
    env.update(COMP_WORDS="thothctl -o j")
    out = subprocess.run(
        [str(BIN / "thothctl")], cwd=team_dir, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.split() == ["json"]


HEAVY = ("grpc", "google.api_core", "google.cloud", "google.auth", "google.protobuf")
PROBE = """
import sys, io, contextlib
sys.argv = ["thothctl", "__complete", "secret"]
from thothctl.__main__ import main
buf = io.StringIO()
try:
    with contextlib.redirect_stdout(buf):
        main()
except SystemExit:
    pass
print(buf.getvalue())
print("HEAVY:" + ",".join(sorted(m for m in sys.modules if m.split(".")[0] == "grpc"
                                 or m.startswith({heavy!r}))))
"""


def test_completion_request_imports_no_google_module(team_dir):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        cwd=team_dir,
        env=shell_env(NO_GCE_CHECK="true"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "sentry-dsn" in out.stdout
    assert out.stdout.splitlines()[-1] == "HEAVY:", out.stdout.splitlines()[-1]


# --- real shells -------------------------------------------------------------------------------


def bash_complete(line: str, cwd: Path) -> list[str]:
    """Complete ``line`` (cursor at its end) with the bash script, as bash would on TAB."""
    script = f"""
source {COMPLETIONS / "thothctl.bash"}
read -ra COMP_WORDS <<< "$LINE"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_thothctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        cwd=cwd,
        env=shell_env(LINE=line),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return [x for x in out.stdout.splitlines() if x]


@pytest.mark.skipif(not shutil.which("bash"), reason="bash not installed")
def test_bash_completes_commands_options_and_config_values(team_dir):
    top = bash_complete("thothctl ", team_dir)
    assert {"secrets", "jobs", "apis", "config", "emulator", "logs"} <= set(top)
    assert "__complete" not in top
    assert bash_complete("thothctl sec", team_dir) == ["secrets"]
    subs = bash_complete("thothctl secrets ", team_dir)
    assert {"list", "get", "set", "rotate", "describe"} <= set(subs)
    assert sorted(bash_complete("thothctl secrets get --re", team_dir)) == ["--region", "--reveal"]
    assert bash_complete("thothctl --env ", team_dir) == ["staging", "prod"]
    assert bash_complete("thothctl secrets list -o ", team_dir) == ["table", "json"]
    assert "sentry-dsn" in bash_complete("thothctl secrets get ", team_dir)
    assert "prod-only-token" in bash_complete("thothctl -e prod secrets get ", team_dir)
    assert bash_complete("thothctl logs --job weekly", team_dir) == ["weekly-report"]


def zsh_complete(line: str, cwd: Path) -> list[str]:
    """Run the zsh completion function with compsys' builtins replaced by printers."""
    script = f"""
compdef() {{ : }}
compadd() {{ while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; print -l -- "$@" }}
_describe() {{ local -a items; items=("${{(@P)4}}"); print -l -- "${{(@)items%%:*}}" }}
_files() {{ print -- FILES }}
compset() {{ : }}
source {COMPLETIONS / "_thothctl"}
words=(${{(z)LINE}})
[[ $LINE == *" " ]] && words+=("")
CURRENT=${{#words}}
_thothctl
"""
    out = subprocess.run(
        ["zsh", "-f", "-c", script],
        cwd=cwd,
        env=shell_env(LINE=line),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    prefix = line.rsplit(" ", 1)[-1]
    return [x for x in out.stdout.splitlines() if x and x.startswith(prefix)]


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh not installed")
def test_zsh_completes_commands_options_and_config_values(team_dir):
    assert {"secrets", "jobs", "apis", "config"} <= set(zsh_complete("thothctl ", team_dir))
    subs = zsh_complete("thothctl secrets ", team_dir)
    assert {"list", "get", "set", "rotate"} <= set(subs)
    assert sorted(zsh_complete("thothctl secrets get --re", team_dir)) == ["--region", "--reveal"]
    assert zsh_complete("thothctl --env ", team_dir) == ["staging", "prod"]
    assert "sentry-dsn" in zsh_complete("thothctl secrets get ", team_dir)
    assert zsh_complete("thothctl --config ", team_dir) == ["FILES"]


def fish_complete(line: str, cwd: Path) -> list[str]:
    script = f'source {COMPLETIONS / "thothctl.fish"}; complete -C"$LINE"'
    out = subprocess.run(
        ["fish", "--no-config", "-c", script],
        cwd=cwd,
        env=shell_env(LINE=line),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return [x.split("\t", 1)[0] for x in out.stdout.splitlines() if x]


@pytest.mark.skipif(not shutil.which("fish"), reason="fish not installed")
def test_fish_completes_commands_options_and_config_values(team_dir):
    assert {"secrets", "jobs", "apis", "config"} <= set(fish_complete("thothctl ", team_dir))
    assert {"list", "get", "rotate"} <= set(fish_complete("thothctl secrets ", team_dir))
    assert sorted(fish_complete("thothctl secrets get --re", team_dir)) == ["--region", "--reveal"]
    assert sorted(fish_complete("thothctl --env ", team_dir)) == ["prod", "staging"]
    assert "sentry-dsn" in fish_complete("thothctl secrets get ", team_dir)
    assert fish_complete("thothctl --output=j", team_dir) == ["--output=json"]


def test_fast_path_and_typer_command_give_the_same_answer(team_dir):
    """`thothctl __complete ...` skips building the CLI; with a global option first it goes
    through the typer command. Both must say the same."""

    def run(*args: str) -> str:
        out = subprocess.run(
            [str(BIN / "thothctl"), *args],
            cwd=team_dir,
            env=shell_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    fast = run("__complete", "secret", "--env=prod")
    assert "prod-only-token" in fast
    assert run("--env", "prod", "__complete", "secret") == fast
    assert run("__complete", "job", "thoth-w") == "thoth-weekly-report\tjob id of weekly-report\n"
    assert "Usage" in run("__complete", "--help")
