"""`check --format json` (schema in docs/check-json.md): the result types' own JSON form
(`Report.to_dict`), with the configuration file the command line read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..checker import Report


def report_json(report: Report, config: str | None = None) -> str:
    data = report.to_dict()
    data["config"] = config
    return json.dumps(data, indent=2) + "\n"
