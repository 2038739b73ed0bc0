"""The `pvhlint` command: start opening the image of a `check`, then import the command line."""

import sys

from . import prefetch


def main() -> None:
    prefetch.start(sys.argv[1:])
    from .cli import main as cli_main

    cli_main()
