"""Decoded values as plain text (no rich: rules use it on the hot path)."""

from __future__ import annotations

from typing import Any

from .xennotes import NoteValue


def plain_value(value: Any) -> str:
    """A decoded note or header value as text: hex numbers, quoted strings; a typed note
    value describes itself (pvhlint.xennotes.NoteValue)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:#x}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, NoteValue):
        return value.describe()
    if isinstance(value, list):
        return ", ".join(plain_value(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}={plain_value(item)}" for key, item in value.items())
    return str(value)
