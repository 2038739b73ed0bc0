"""`check` for people: a report per image, a verdict table, and a summary.

On a terminal rich prints it (colour, lines wrapped to the width). Anywhere else (a pipe,
a file, a CI log) rich prints no style and wraps no line, so `Plain` writes those same
bytes without importing rich, about 14 ms of `check`'s start-up. A table wider than the
160 columns off a terminal (rich wraps its cells), or with text whose width on screen is
not its length, still goes through rich: that layout is rich's own.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ..checker import Report, Verdict
from ..profiles import describe
from ..rule import FIXABLE, TARGETS, fix_of
from ..text import printable
from .layers import where

if TYPE_CHECKING:
    from rich.console import Console

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
Span = tuple[str, str]  # text and its rich style ("" for none)
Cell = Sequence[Span]


class Out(Protocol):
    def line(self, spans: Cell) -> None:
        """One line (a terminal's rich highlights numbers and paths in it)."""

    def block(self, lines: Sequence[Cell]) -> None:
        """Lines printed at once, trailing white space stripped (a long list of findings)."""

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Cell]],
              title: str | None = None) -> None:  # fmt: skip
        """Columns without borders, each as wide as its widest cell."""


class RichOut:
    """The report through a rich Console: a terminal's (cli.console), or any other."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def line(self, spans: Cell) -> None:
        self.console.print(_markup(spans))

    def block(self, lines: Sequence[Cell]) -> None:
        from rich.text import Text

        text = Text()
        for spans in lines:
            for content, style in spans:
                text.append(content, style=style or None)
        text.rstrip()
        self.console.print(text)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Cell]],
              title: str | None = None) -> None:  # fmt: skip
        from rich.table import Table

        table = Table(*header, box=None, pad_edge=False, title=title)
        for row in rows:
            table.add_row(*(_markup(cell) for cell in row))
        self.console.print(table)


class Plain:
    """What cli.console prints off a terminal (no style, no wrapping, 160 columns), written
    to stdout without rich; `rich` makes the RichOut a table it cannot lay out goes to."""

    WIDTH = 160  # cli.console's width off a terminal: rich fits tables into it

    def __init__(self, rich: Callable[[], RichOut]) -> None:
        self.rich = rich

    def line(self, spans: Cell) -> None:
        sys.stdout.write(_plain(spans) + "\n")

    def block(self, lines: Sequence[Cell]) -> None:
        sys.stdout.write("".join(_plain(spans) for spans in lines).rstrip() + "\n")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Cell]],
              title: str | None = None) -> None:  # fmt: skip
        cells = [list(header), *([_plain(cell) for cell in row] for row in rows)]
        widths = [max(len(text) for text in column) for column in zip(*cells, strict=True)]
        total = sum(widths) + 2 * (len(widths) - 1)  # two spaces between columns, none outside
        simple = all(text.isascii() and text.isprintable() for row in cells for text in row)
        if not simple or total > self.WIDTH:
            self.rich().table(header, rows, title)
            return
        if title:
            sys.stdout.write(title + "\n")  # soft-wrapped, rich neither centres nor pads it
        for row in cells:
            padded = (text.ljust(width) for text, width in zip(row, widths, strict=True))
            sys.stdout.write("  ".join(padded) + "\n")


def _markup(spans: Cell) -> str:
    from rich.markup import escape

    return "".join(f"[{style}]{escape(text)}[/]" if style else escape(text)
                   for text, style in spans)  # fmt: skip


def _plain(spans: Cell) -> str:
    return "".join(text for text, _ in spans)


def print_console(report: Report, out: Out, quiet: bool = False,
                  config: str | None = None) -> None:  # fmt: skip
    """The report; `quiet`: only images with findings, and those findings; `config`: the
    configuration file the command line read."""
    if config is not None and not quiet:
        out.line([("config: ", ""), (printable(config), "")])
    for result in report.results:
        if result.error is not None or (quiet and not result.findings):
            continue
        image = result.image
        assert image is not None
        codec = next((ly.codec for ly in image.layers if ly.kind == "payload"), None)
        outer = "UKI: pe → .linux bzimage" if image.uki_kernel else image.format
        kind = f"{outer} → {image.kernel_format}" + (f" ({codec})" if codec else "")
        source = "--require/config" if result.required_from == "option" else "claimed by the image"
        required = ", ".join(result.required) or "none"
        if result.pvh_only:
            source += ", PVH-only"
        out.line([(printable(result.path), "bold"),
                  (f"  {kind}  required: {required} ({source})", "")])  # fmt: skip
        if result.findings:  # one print for all: per-line prints took 44 s for 65536 findings
            out.block([[("  ", ""), (f"{finding.severity:<7}", STYLE[finding.severity]),
                        (f" {finding.rule}{f' {FIXABLE}' if fix_of(finding.rule) else ''}  "
                         f"{where(image, finding.layer, finding.offset)}  {finding.message}\n",
                         "")] for finding in result.findings])  # fmt: skip
        if quiet:
            continue
        out.line([(f"  loaders: {describe(result.versions)}", "")])
        rows = []
        for target in TARGETS:
            verdict = result.verdicts[target]
            name = f"{target}*" if verdict.required else target
            rows.append([[(name, "")], _state(verdict), [(verdict.path or "", "")],
                         [(", ".join(verdict.rules), "")]])  # fmt: skip
        out.table(("target", "verdict", "path", "rejected by"), rows)
    if not quiet:
        _summary(report, out)
        _fixable(report, out)


def _fixable(report: Report, out: Out) -> None:
    from .check_concise import fixable_lines

    for line in fixable_lines(report):
        out.line([(line, "")])


def _word(accept: bool) -> Span:
    return ("accept", "green") if accept else ("reject", "red")


def _state(verdict: Verdict) -> list[Span]:
    """One word, or where the versions in force disagree, one per version:
    "4.17 reject, 4.20 accept". "undefined": the loader reads memory that is not the image's."""
    if not verdict.split:
        return [("undefined", "yellow") if verdict.undefined else _word(verdict.accept)]
    spans: list[Span] = []
    for version, v in verdict.versions.items():
        separator = ", " if spans else ""
        spans += [(f"{separator}{version} ", ""),
                  ("undefined", "yellow") if v.undefined else _word(v.accept)]  # fmt: skip
    return spans


def _summary_table(report: Report, out: Out) -> None:
    """For several images: verdict counts per target and findings per rule."""
    checked = [result for result in report.results if result.error is None]
    counts = []
    for target in TARGETS:
        verdicts = [result.verdicts[target] for result in checked]
        accepted = sum(1 for verdict in verdicts if verdict.accept)
        required = sum(1 for verdict in verdicts if verdict.required)
        counts.append([target, str(accepted), str(len(verdicts) - accepted), str(required)])
    out.table(("target", "accept", "reject", "required"), _cells(counts),
              title=f"{len(checked)} images")  # fmt: skip
    rules = Counter((f.rule, f.severity) for result in checked for f in result.findings)
    if rules:
        rows = [[rule, severity, str(count)] for (rule, severity), count in rules.most_common()]
        out.table(("rule", "severity", "findings"), _cells(rows))


def _cells(rows: list[list[str]]) -> list[list[Cell]]:
    return [[[(text, "")] for text in row] for row in rows]


def _summary(report: Report, out: Out) -> None:
    if len(report.results) > 1:
        _summary_table(report, out)
    counts = {"error": 0, "warning": 0, "info": 0}
    for result in report.results:
        for finding in result.findings:
            counts[finding.severity] += 1
    failed = sum(1 for result in report.results if result.error)
    text = (f"{len(report.results)} image(s): {counts['error']} error(s), "
            f"{counts['warning']} warning(s), {counts['info']} info")  # fmt: skip
    if failed:
        text += f", {failed} unreadable"
    out.line([(text + "  (* = required target)", "")])
