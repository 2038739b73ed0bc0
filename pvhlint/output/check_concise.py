"""`check --format concise` (one line per finding, as `ruff --output-format concise` and
`shellcheck -f gcc` print) and `check --statistics` (findings per rule)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..checker import Report
from ..rule import FIXABLE, SEVERITIES, discover_rules, fix_of
from ..text import printable
from .layers import where


def report_concise(report: Report) -> str:
    """`path:layer+offset: rule [*] message` per shown finding; nothing else on stdout
    (an unreadable image is its line on stderr)."""
    lines = []
    for result in report.results:
        if result.image is None:
            continue
        for finding in result.findings:
            mark = f" {FIXABLE}" if fix_of(finding.rule) else ""
            at = where(result.image, finding.layer, finding.offset)
            lines.append(printable(f"{result.path}:{at}: {finding.rule}{mark} {finding.message}"))
    return "".join(line + "\n" for line in lines)


def _statistics(report: Report) -> list[dict[str, Any]]:
    counts = Counter(f.rule for result in report.results for f in result.findings)
    worst: dict[str, str] = {}
    for result in report.results:
        for finding in result.findings:
            seen = worst.get(finding.rule, "info")
            worst[finding.rule] = max(seen, finding.severity, key=SEVERITIES.index)
    titles = {rule.id: rule.title for rule in discover_rules()}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"rule": rule, "count": count, "severity": worst[rule], "fix": fix_of(rule),
             "title": titles[rule]} for rule, count in ranked]  # fmt: skip


def statistics_text(report: Report) -> str:
    rows = _statistics(report)
    width = max((len(row["rule"]) for row in rows), default=0)
    lines = [f"{row['count']:>6}  {row['rule']:<{width}}  {row['severity']:<7}  "
             f"{FIXABLE if row['fix'] else '   '} {row['title']}" for row in rows]  # fmt: skip
    return "".join(line + "\n" for line in lines + fixable_lines(report))


def fixable_lines(report: Report) -> list[str]:
    """`[*] 4 fixable with `pvhlint fix --drop-obsolete-notes IMAGE``, per fix command."""
    counts = Counter(fix_of(f.rule) for result in report.results for f in result.findings)
    fixable = sorted((command, n) for command, n in counts.items() if command is not None)
    return [f"{FIXABLE} {count} fixable with `{command} IMAGE`" for command, count in fixable]


def statistics_json(report: Report) -> str:
    return json.dumps(_statistics(report), indent=2) + "\n"
