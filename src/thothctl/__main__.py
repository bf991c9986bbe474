"""Entry point for the ``thothctl`` command and ``python -m thothctl``.

A TAB press from the completion scripts runs ``thothctl __complete KIND ...``: answered here from
the config alone (``thothctl.config.names``), without building the typer CLI and without any
``google`` import, so it stays fast. Anything else (including ``__complete --help``, or global
options before ``__complete``) goes to the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

_CONFIG_OPTS = ("--config", "-c")
_ENV_OPTS = ("--env", "-e")


def complete_args(args: Sequence[str]) -> dict[str, str] | None:
    """``KIND [INCOMPLETE] [--config PATH] [--env NAME]`` as keyword arguments of
    ``completion_lines``; None when the arguments need the full CLI (e.g. --help)."""
    positional: list[str] = []
    found: dict[str, str] = {}
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in _CONFIG_OPTS or name in _ENV_OPTS:
            key = "config_path" if name in _CONFIG_OPTS else "env_name"
            found[key] = value if eq else next(it, "")
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            positional.append(arg)
    if not 1 <= len(positional) <= 2:
        return None
    return {"kind": positional[0], "incomplete": "".join(positional[1:]), **found}


def main() -> None:
    import sys

    request = complete_args(sys.argv[2:]) if sys.argv[1:2] == ["__complete"] else None
    if request is not None:
        from thothctl.config.names import completion_lines
        from thothctl.output import Output

        out = Output()
        for line in completion_lines(**request):
            out.line(line)
        return

    from thothctl.cli import app

    app()


if __name__ == "__main__":
    main()
