"""`check --baseline FILE`: findings recorded once (`--write-baseline`) and not reported
again, so a fleet of existing images can adopt the gate while new findings still fail it.

The file is JSON, `{"version": 1, "findings": [{"path", "rule", "message"}, ...]}`. A
finding is the recorded one when its path (as given to `check`), rule and message are the
same; a message holds the offsets and values, so a finding that changes is reported again.
A reject of a required target is never recorded nor dropped: that image does not boot
where it must.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .checker import ImageResult, Report
from .rule import Finding

BASELINE_VERSION = 1
Key = tuple[str, str, str]


class BaselineError(Exception):
    """A baseline file that cannot be read or written (exit 2, one line)."""


def _key(result: ImageResult, finding: Finding) -> Key:
    return result.path, finding.rule, finding.message


def _recordable(result: ImageResult, finding: Finding) -> bool:
    return not set(finding.rejects) & set(result.required)


def write_baseline(path: Path, report: Report) -> None:
    keys = sorted({_key(result, finding) for result in report.results
                   for finding in result.findings if _recordable(result, finding)})  # fmt: skip
    entries = [{"path": file, "rule": rule, "message": message} for file, rule, message in keys]
    text = json.dumps({"version": BASELINE_VERSION, "findings": entries}, indent=2) + "\n"
    try:
        temporary = path.with_name(f".{path.name}.pvhlint-new")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise BaselineError(f"{exc.filename or path}: {exc.strerror or exc}") from None


def read_baseline(path: Path) -> set[Key]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a pvhlint baseline ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a version {BASELINE_VERSION} pvhlint baseline")
    keys = set()
    for entry in data.get("findings", []):
        try:
            keys.add((str(entry["path"]), str(entry["rule"]), str(entry["message"])))
        except (KeyError, TypeError):
            raise BaselineError(f"{path}: an entry without path, rule and message") from None
    return keys


def suppress(report: Report, known: set[Key]) -> None:
    """Drop the findings `known` records (never a reject of a required target)."""
    for result in report.results:
        result.findings = [
            finding for finding in result.findings if not _known(result, finding, known)
        ]


def _known(result: ImageResult, finding: Finding, known: set[Key]) -> bool:
    return _recordable(result, finding) and _key(result, finding) in known
