"""Entry point for the ``thothctl`` command and ``python -m thothctl``."""

from __future__ import annotations


def main() -> None:
    from thothctl.cli import app

    app()


if __name__ == "__main__":
    main()
