"""The image model as plain JSON data (`pvhlint inspect --json`, schema in docs/inspect-json.md).

Bytes become lowercase hex strings; every object keeps its `layer` and `offset`.
A few derived names (note names, segment types, flag names) are added so the
JSON reads without the reference tables.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..bzimage import LOADFLAG_NAMES, XLOADFLAG_NAMES, flag_names
from ..model import Image, Note, NoteArea, Segment
from ..xennotes import NoteValue, note_label

INSPECT_SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, NoteValue):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # elf64: rust-vmm's reading of an ELF32's bytes, a loader's view, not the file's
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in ("facts", "blobs", "elf64")}  # fmt: skip
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _note(note: Note) -> dict[str, Any]:
    data = _plain(note)
    data["label"] = note_label(note.type) if note.is_xen else None
    data["owner_text"] = note.owner_name
    return data


def _area(area: NoteArea) -> dict[str, Any]:
    data = _plain(area)
    data["notes"] = [_note(note) for note in area.notes]
    if area.notes_by_align is not None:
        data["notes_by_align"] = [_note(note) for note in area.notes_by_align]
    if area.qemu_pvh_note is not None:
        data["qemu_pvh_note"] = _note(area.qemu_pvh_note)
    return data


def _segment(segment: Segment) -> dict[str, Any]:
    return _plain(segment) | {"type_name": segment.type_name}


def image_to_dict(image: Image, authenticode: dict[str, Any] | None = None) -> dict[str, Any]:
    """`authenticode`: a signed PE image's signers and verification (`inspect` asks LIEF)."""
    data = _plain(image)
    data["kernel_format"] = image.kernel_format
    if image.elf:
        elf = data["elf"]
        elf["machine_name"] = image.elf.machine_name
        elf["segments"] = [_segment(seg) for seg in image.elf.segments]
        elf["note_areas"] = [_area(area) for area in image.elf.note_areas]
        elf["xen_notes"] = [_note(note) for note in image.elf.xen_notes]
    if image.setup:
        fields = image.setup.fields
        data["setup"]["loadflags_names"] = flag_names(fields.get("loadflags", 0), LOADFLAG_NAMES)
        data["setup"]["xloadflags_names"] = flag_names(fields.get("xloadflags", 0), XLOADFLAG_NAMES)
        data["setup"]["linux_release"] = image.setup.linux_release
        data["setup"]["crc_trailer"] = image.setup.crc_trailer.value
    if image.pe:
        data["pe"] = _after(data["pe"], "certificates", "authenticode", authenticode)
        data["pe"]["signed"] = image.pe.signed
    return data


def _after(data: dict[str, Any], key: str, new: str, value: Any) -> dict[str, Any]:
    """`data` with `new` placed right after `key` (the documented order of the fields)."""
    items = list(data.items())
    at = [name for name, _ in items].index(key) + 1
    return dict([*items[:at], (new, value), *items[at:]])


def report_to_dict(inspected: list[tuple[Image, dict[str, Any] | None]]) -> dict[str, Any]:
    """`inspected`: each image with its Authenticode details (None unless signed)."""
    images = [image_to_dict(image, details) for image, details in inspected]
    return {"version": INSPECT_SCHEMA_VERSION, "images": images}
