"""`check` as JSON (schema in docs/check-json.md); pvhlint.console_report prints it for people."""

from __future__ import annotations

import json
from typing import Any

from .checker import ImageResult, Report
from .model import Image
from .rule import TARGETS, fix_of

CHECK_SCHEMA_VERSION = 1


def where(image: Image, layer: int, offset: int | None) -> str:
    """'payload+0x16c1b90' style location: layer name and offset within it."""
    name = image.layers[layer].kind
    return name if offset is None else f"{name}+{offset:#x}"


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
        "pvh_only": result.pvh_only,
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
                "fix": fix_of(f.rule),
            }
            for f in result.findings
        ],
        "verdicts": {target: result.verdicts[target].to_dict() for target in TARGETS},
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    return {"version": CHECK_SCHEMA_VERSION, "config": report.config,
            "images": [result_to_dict(result) for result in report.results]}  # fmt: skip


def report_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2) + "\n"
