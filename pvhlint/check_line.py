"""What a `check` command line names before typer parses it, for the work that starts
first: the result cache (pvhlint.result_cache) and the prefetch (pvhlint.prefetch)."""

from __future__ import annotations

from typing import NamedTuple

# `pvhlint check` options followed by a value, which is never an image
# (tests/test_prefetch.py keeps this in step with the command's definition).
VALUE_OPTIONS = frozenset({
    "--require", "-r", "--select", "--ignore", "--severity", "--fail-on", "--format", "-f",
    "--output-format", "--output-file", "-o", "--baseline", "--jobs", "-j", "--config",
    "--max-decompressed", "--loaders",
})  # fmt: skip


class CheckLine(NamedTuple):
    """A `check` command line as far as it matters before typer parses it: the images
    named, and the options given (`--name=value` as `--name`)."""

    positional: tuple[str, ...]
    options: frozenset[str]


def parse_check(argv: list[str]) -> CheckLine | None:
    """The images and options of a `check` command line; None for another command or help."""
    if not argv or argv[0] != "check":
        return None
    positional, options, expect_value, only_positional = [], set(), False, False
    for arg in argv[1:]:
        if expect_value:
            expect_value = False
        elif only_positional or not arg.startswith("-") or arg == "-":
            positional.append(arg)
        elif arg == "--":
            only_positional = True
        elif arg in ("--help", "-h"):
            return None
        else:
            options.add(arg.split("=", 1)[0])
            expect_value = arg in VALUE_OPTIONS
    return CheckLine(tuple(positional), frozenset(options))
