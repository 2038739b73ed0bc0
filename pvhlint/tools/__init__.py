"""Developer tools run with `python -m pvhlint.tools.<name>`; not part of the CLI."""
