"""`check` for people: a rich report per image, a verdict table, and a summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..checker import Report, Verdict
from ..profiles import describe
from ..rule import FIXABLE, TARGETS, fix_of
from ..text import printable
from .layers import where

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def print_console(report: Report, console: Any, quiet: bool = False,
                  config: str | None = None) -> None:  # fmt: skip
    """The report; `quiet`: only images with findings, and those findings; `config`: the
    configuration file the command line read."""
    if config is not None and not quiet:
        console.print(f"config: {escape(printable(config))}")
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
        name = escape(printable(result.path))
        console.print(f"[bold]{name}[/]  {kind}  required: {required} ({source})")
        if result.findings:  # one print for all: per-line prints took 44 s for 65536 findings
            lines = Text()
            for finding in result.findings:
                mark = f" {FIXABLE}" if fix_of(finding.rule) else ""
                lines.append("  ")
                lines.append(f"{finding.severity:<7}", style=STYLE[finding.severity])
                lines.append(f" {finding.rule}{mark}  {where(image, finding.layer, finding.offset)}"
                             f"  {finding.message}\n")  # fmt: skip
            lines.rstrip()
            console.print(lines)
        if quiet:
            continue
        console.print(f"  loaders: {describe(result.versions)}")
        table = Table("target", "verdict", "path", "rejected by", box=None, pad_edge=False)
        for target in TARGETS:
            verdict = result.verdicts[target]
            name = f"{target}*" if verdict.required else target
            table.add_row(name, _state(verdict), verdict.path or "",
                          ", ".join(verdict.rules))  # fmt: skip
        console.print(table)
    if not quiet:
        _summary(report, console)
        _fixable(report, console)


def _fixable(report: Report, console: Any) -> None:
    from .check_concise import fixable_lines

    for line in fixable_lines(report):
        console.print(escape(line))


def _word(accept: bool) -> str:
    return "[green]accept[/]" if accept else "[red]reject[/]"


def _state(verdict: Verdict) -> str:
    """One word, or where the versions in force disagree, one per version:
    "4.17 reject, 4.20 accept". "undefined": the loader reads memory that is not the image's."""
    if not verdict.split:
        return "[yellow]undefined[/]" if verdict.undefined else _word(verdict.accept)
    return ", ".join(f"{version} {'[yellow]undefined[/]' if v.undefined else _word(v.accept)}"
                     for version, v in verdict.versions.items())  # fmt: skip


def _summary_table(report: Report, console: Any) -> None:
    """For several images: verdict counts per target and findings per rule."""
    checked = [result for result in report.results if result.error is None]
    targets = Table("target", "accept", "reject", "required", box=None, pad_edge=False,
                    title=f"{len(checked)} images")  # fmt: skip
    for target in TARGETS:
        verdicts = [result.verdicts[target] for result in checked]
        accepted = sum(1 for verdict in verdicts if verdict.accept)
        required = sum(1 for verdict in verdicts if verdict.required)
        targets.add_row(target, str(accepted), str(len(verdicts) - accepted), str(required))
    console.print(targets)
    rules = Counter((f.rule, f.severity) for result in checked for f in result.findings)
    if rules:
        table = Table("rule", "severity", "findings", box=None, pad_edge=False)
        for (rule, severity), count in rules.most_common():
            table.add_row(rule, severity, str(count))
        console.print(table)


def _summary(report: Report, console: Any) -> None:
    if len(report.results) > 1:
        _summary_table(report, console)
    counts = {"error": 0, "warning": 0, "info": 0}
    for result in report.results:
        for finding in result.findings:
            counts[finding.severity] += 1
    failed = sum(1 for result in report.results if result.error)
    text = (f"{len(report.results)} image(s): {counts['error']} error(s), "
            f"{counts['warning']} warning(s), {counts['info']} info")  # fmt: skip
    if failed:
        text += f", {failed} unreadable"
    console.print(text + "  (* = required target)")
