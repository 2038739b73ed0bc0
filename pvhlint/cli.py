"""Command line: `pvhlint inspect`. Bad input is one line on stderr and exit 2."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ImageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths.",
)
EXIT_BAD_INPUT = 2


@app.callback()
def _root() -> None:
    """Keeps sub-commands explicit even while only one exists (`pvhlint inspect ...`)."""


def fail(message: str) -> None:
    """One line on stderr, never a traceback."""
    print(f"pvhlint: {message}", file=sys.stderr)


@app.command()
def inspect(
    images: Annotated[list[Path], typer.Argument(help="Kernel images to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the model as JSON.")] = False,
) -> None:
    """Show what pvhlint reads in each image: layers, headers, notes, entry points."""
    from .image import open_image

    opened, failed = [], False
    for path in images:
        try:
            image = open_image(path, full=True)
        except ImageError as exc:
            fail(str(exc))
            failed = True
            continue
        if image.pe and image.pe.signed:
            from .authenticode import signature_details

            image.pe.authenticode = signature_details(image.path)
        opened.append(image)
    if as_json:
        from .serialize import report_to_dict

        json.dump(report_to_dict(opened), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from .render import image_tree

        # Off a terminal rich assumes 80 columns; addresses need more.
        console = Console(width=None if sys.stdout.isatty() else 160)
        for image in opened:
            console.print(image_tree(image))
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("rules")
def list_rules() -> None:
    """List every rule: id, severity, the boot targets it concerns, title."""
    from rich.console import Console
    from rich.table import Table

    from .rule import discover_rules

    table = Table("id", "severity", "targets", "title", box=None, pad_edge=False)
    for rule in discover_rules():
        table.add_row(rule.id, rule.severity, ", ".join(rule.targets), rule.title)
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(help="A rule id from `pvhlint rules`.")],
) -> None:
    """Print a rule's documentation: what it checks, why, how to fix, an example."""
    from .rule import discover_rules

    rules = {rule.id: rule for rule in discover_rules()}
    rule = rules.get(rule_id)
    if rule is None:
        fail(f"no rule {rule_id!r}; `pvhlint rules` lists them")
        raise typer.Exit(EXIT_BAD_INPUT)
    print(f"{rule.id}: {rule.title}")
    print(f"severity: {rule.severity}; targets: {', '.join(rule.targets)}")
    for name, text in rule.sections().items():
        print(f"\n{name.capitalize()}:\n{text}")


def main() -> None:
    """Entry point: no traceback reaches a user unless PVHLINT_DEBUG is set."""
    try:
        app()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130 if not isinstance(sys.exc_info()[1], BrokenPipeError) else 0)
    except Exception as exc:  # the last line of defence: one line, exit 2
        if os.environ.get("PVHLINT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
