"""Decoded values as plain text (no rich: rules use it on the hot path)."""

from __future__ import annotations

from typing import Any


def plain_value(value: Any) -> str:
    """A decoded note or header value as text: hex numbers, quoted strings, named bits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:#x}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict) and "features" in value:
        required = [f["name"] for f in value["features"] if f["required"]]
        unknown = [f["name"] for f in value["features"] if f["bit"] is None]
        text = repr(value["text"])
        if required:
            text += f" required: {', '.join(required)}"
        return text + (f" unknown: {', '.join(unknown)}" if unknown else "")
    if isinstance(value, dict) and "bits" in value:
        names = [b["name"] or f"bit{b['bit']}" for b in value["bits"]]
        return f"{value['value']:#x} [{', '.join(names)}]"
    if isinstance(value, list):
        return ", ".join(plain_value(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}={plain_value(item)}" for key, item in value.items())
    return str(value)
