"""Entry point for the ``thothctl`` command and ``python -m thothctl``."""

from __future__ import annotations


def main() -> None:
    import sys

    if sys.argv[1:2] == ["__complete"]:
        # A TAB press from the completion scripts: answer from the config without building the
        # CLI (thothctl.completion imports neither typer nor google).
        from thothctl.completion import answer

        lines = answer(sys.argv[2:])
        if lines is not None:
            sys.stdout.write("".join(f"{line}\n" for line in lines))
            return

    from thothctl.cli import app

    app()


if __name__ == "__main__":
    main()
