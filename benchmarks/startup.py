"""Startup budget: `thothctl --help`, `thothctl SUB --help`, `--version` and a completion request,
timed against a bare typer app with the same number of commands, side by side in one run.

Budget (issues #2 and #7): median at most 1.5x the bare app. Prints a table and exits 1 if over.

Both sides run from bytecode, as after `pip install` (which compiles it): the package is compiled
first and PYTHONDONTWRITEBYTECODE is dropped, so neither side pays for compiling its source on
every start (typer's own modules are always compiled in site-packages).

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET = 1.5


def count_commands() -> tuple[int, int]:
    from typer.main import get_command

    from thothctl.cli import app

    root = get_command(app)
    groups = list(root.commands.values())
    leaves = sum(len(getattr(g, "commands", {}) or {1: 1}) for g in groups)
    return len(groups), leaves


def top_level_commands() -> list[str]:
    from typer.main import get_command

    from thothctl.cli import app

    root = get_command(app)
    return [n for n, c in root.commands.items() if not getattr(c, "hidden", False)]


def bare_app(groups: int, leaves: int) -> str:
    per = max(1, leaves // max(groups, 1))
    lines = ["import typer", "app = typer.Typer(no_args_is_help=True)", ""]
    lines.append(
        "@app.callback()\ndef root(verbose: bool = typer.Option(False, '--verbose')):\n    '''Bare app.'''\n"
    )
    lines.append("@app.command()\ndef version():\n    '''Print.'''\n")
    for g in range(groups):
        lines.append(f"g{g} = typer.Typer(help='group {g}')")
        for c in range(per):
            lines.append(
                f"@g{g}.command('c{c}')\ndef g{g}_c{c}(name: str = typer.Argument('x')):\n    '''Command {c}.'''\n"
            )
        lines.append(f"app.add_typer(g{g}, name='group{g}')")
    lines.append("if __name__ == '__main__':\n    app()")
    return "\n".join(lines)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    groups, leaves = count_commands()
    tmp = Path(tempfile.mkdtemp())
    bare = tmp / "bare.py"
    bare.write_text(bare_app(groups, leaves))
    env = {**os.environ, "NO_GCE_CHECK": "true", "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    import thothctl

    subprocess.run(
        [py, "-m", "compileall", "-q", str(Path(thothctl.__file__).parent)], env=env, check=True
    )
    cases = {
        "--help": ([py, "-m", "thothctl", "--help"], [py, str(bare), "--help"], {}),
    }
    # `thothctl SUBCOMMAND --help` for every top-level command, against a bare group's --help.
    for name in top_level_commands():
        cases[f"{name} --help"] = (
            [py, "-m", "thothctl", name, "--help"],
            [py, str(bare), "group0", "--help"],
            {},
        )
    cases |= {
        "--version": ([py, "-m", "thothctl", "--version"], [py, str(bare), "version"], {}),
        "completion": (
            [py, "-m", "thothctl"],
            [py, str(bare)],
            {
                "COMP_WORDS": "thothctl sec",
                "COMP_CWORD": "1",
                "_THOTHCTL_COMPLETE": "complete_bash",
                "_BARE.PY_COMPLETE": "complete_bash",
            },
        ),
        # What the scripts in completions/ run for a secret name: config only, no network.
        "__complete secret": (
            [py, "-m", "thothctl", "__complete", "secret"],
            [py, str(bare), "group0", "c0"],
            {},
        ),
    }
    print(
        f"bare typer app: {groups} groups, ~{leaves} commands; {args.runs} runs each, interleaved"
    )
    print(f"{'case':<20}{'thothctl ms':>12}{'bare ms':>10}{'ratio':>8}")
    worst = 0.0
    for name, (ours, theirs, extra) in cases.items():
        e = {**env, **extra}
        a, b = [], []
        for _ in range(args.runs):
            a.append(timed(ours, e))
            b.append(timed(theirs, e))
        ma, mb = statistics.median(a), statistics.median(b)
        ratio = ma / mb
        worst = max(worst, ratio)
        print(f"{name:<20}{ma * 1000:>12.1f}{mb * 1000:>10.1f}{ratio:>8.2f}")
    print(
        f"worst ratio {worst:.2f} (budget {BUDGET}x): {'OK' if worst <= BUDGET else 'OVER BUDGET'}"
    )
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
