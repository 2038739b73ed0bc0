"""`check` reports: rich console and JSON (schema in docs/check-json.md)."""

from __future__ import annotations

import json
from typing import Any

from .checker import ImageResult, Report
from .model import Image
from .rule import TARGETS

CHECK_SCHEMA_VERSION = 1
STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def where(image: Image | None, layer: int, offset: int | None) -> str:
    kind = image.layers[layer].kind if image is not None else f"layer{layer}"
    return kind if offset is None else f"{kind}+{offset:#x}"


def result_to_dict(result: ImageResult) -> dict[str, Any]:
    if result.error is not None:
        return {"path": result.path, "error": result.error}
    image = result.image
    assert image is not None
    return {
        "path": result.path,
        "format": image.format,
        "kernel_format": image.kernel_format,
        "layers": [
            {
                "index": layer.index,
                "kind": layer.kind,
                "format": layer.format,
                "codec": layer.codec,
                "parent": layer.parent,
                "offset": layer.offset,
                "size": layer.size,
            }
            for layer in image.layers
        ],
        "required": list(result.required),
        "required_from": result.required_from,
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "layer": f.layer,
                "layer_kind": image.layers[f.layer].kind,
                "offset": f.offset,
                "length": f.length,
                "rejects": list(f.rejects),
            }
            for f in result.findings
        ],
        "verdicts": {target: result.verdicts[target].to_dict() for target in TARGETS},
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    return {"version": CHECK_SCHEMA_VERSION,
            "images": [result_to_dict(result) for result in report.results]}  # fmt: skip


def report_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2) + "\n"


def print_console(report: Report, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    for result in report.results:
        if result.error is not None:
            continue
        image = result.image
        assert image is not None
        codec = next((ly.codec for ly in image.layers if ly.kind == "payload"), None)
        kind = f"{image.format} → {image.kernel_format}" + (f" ({codec})" if codec else "")
        source = "--require/config" if result.required_from == "option" else "claimed by the image"
        required = ", ".join(result.required) or "none"
        console.print(f"[bold]{escape(result.path)}[/]  {kind}  required: {required} ({source})")
        for finding in result.findings:
            console.print(f"  [{STYLE[finding.severity]}]{finding.severity:<7}[/] "
                          f"{finding.rule}  {where(image, finding.layer, finding.offset)}  "
                          f"{escape(finding.message)}")  # fmt: skip
        table = Table("target", "verdict", "path", "rejected by", box=None, pad_edge=False)
        for target in TARGETS:
            verdict = result.verdicts[target]
            name = f"{target}*" if verdict.required else target
            state = "[green]accept[/]" if verdict.accept else "[red]reject[/]"
            table.add_row(name, state, verdict.path or "", ", ".join(verdict.rules))
        console.print(table)
    _summary(report, console)


def _summary_table(report: Report, console: Any) -> None:
    """For several images: verdict counts per target and findings per rule."""
    from collections import Counter

    from rich.table import Table

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
