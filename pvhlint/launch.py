"""The `pvhlint` command: answer a re-check from the result cache, else start opening the
image of a `check`, then import the command line."""

import sys

from . import result_cache


def main() -> None:
    argv = sys.argv[1:]
    entry = result_cache.entry_for(argv)
    if entry is not None:
        cached = result_cache.lookup(entry)
        if cached is not None:
            _replay(*cached)
        result_cache.pending = entry
    from . import prefetch

    prefetch.start(argv)
    from .cli import main as cli_main

    cli_main()


def _replay(output: str, status: int) -> None:
    """The cached answer, as the run that stored it printed it (typer is never imported)."""
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # a reader that went away does not change the verdict's status
    except OSError as exc:
        print(f"pvhlint: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        status = 2
    sys.exit(status)
