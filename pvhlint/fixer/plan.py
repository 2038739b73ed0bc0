"""Stage 2, plan: a byte-minimal rewrite of an ELF's Xen notes, made in memory.

The notes that remain are packed in their original order (untouched notes are
copied byte for byte), the freed tail is zero-filled, and PT_NOTE p_filesz
(p_memsz when it equalled p_filesz) and the SHT_NOTE sections inside the area
are updated. Growth uses zero bytes right after the area that nothing else owns;
failing that, the whole area is appended at the end of the file and PT_NOTE and
its sections are repointed there, leaving the loaded bytes as they were.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import EditError, UsageError
from ..model import SHT_NOTE, ElfInfo, Note, NoteArea, Section, align_up
from ..xennotes import XenNote

if TYPE_CHECKING:
    from .request import Edit

SIGNED = (
    "the image carries an Authenticode signature that any change invalidates; "
    "nothing written (pass --break-signature to proceed and re-sign afterwards)"
)


@dataclass
class Change:
    action: str  # "remove" | "add" | "change"
    type: int
    note: Note | None  # the note removed or changed
    desc: bytes | None = None  # the new descriptor


@dataclass
class Plan:
    """The plan stage's value: the kernel's bytes after the edit (`data`), the note
    `changes`, the [start, end) ranges `touched`, each note area's old and new place
    (`areas`), and whether one grew into free bytes (`used_room`) or `moved` to the end."""

    data: bytearray
    changes: list[Change] = field(default_factory=list)
    touched: list[tuple[int, int]] = field(default_factory=list)  # [start, end) ranges
    moved: bool = False
    used_room: bool = False
    areas: list[tuple[int, int, int, int]] = field(default_factory=list)  # old off/size, new
    set_types: set[int] = field(default_factory=set)  # types whose note was changed so far

    def touch(self, start: int, end: int) -> None:
        if end > start:
            self.touched.append((start, end))


@dataclass
class Piece:
    """One note of the rewritten area: where it came from (None: added) and its bytes."""

    origin: int | None
    data: bytes


def encode_note(note_type: int, desc: bytes, owner: bytes = b"Xen\0") -> bytes:
    """A note the way Linux's ELFNOTE macro writes it: name and descriptor padded to 4."""
    head = struct.pack("<III", len(owner), len(desc), note_type)
    return head + owner + bytes(-len(owner) % 4) + desc + bytes(-len(desc) % 4)


def _raw(data: bytes, note: Note, area_end: int) -> bytes:
    end = note.desc_offset + align_up(note.descsz, 4)
    return bytes(data[note.offset : min(end, area_end)])


def plan(edit: Edit) -> Plan:
    """The rewrite of `edit.kernel` that drops and sets the notes asked; EditError when it
    cannot be made (or would void a signature the user did not agree to break)."""
    pe = edit.image.pe
    if pe is not None and pe.signed and not edit.request.break_signature:
        raise EditError(SIGNED)
    _check_note_areas(edit.elf, len(edit.kernel))
    return plan_edit(edit.elf, edit.kernel, edit.drop, edit.values)


MAX_NOTE_ALIGN = 1 << 16  # the largest page size: a moved area is padded to p_align


def _check_note_areas(elf: ElfInfo, size: int) -> None:
    """The areas an edit may rewrite must lie inside the kernel, with a real alignment: both
    come from the file, and rewriting 4 GiB claimed by a 4 KiB file, or padding it to a
    2^63 boundary, would take minutes and all memory."""
    for area in elf.note_areas:
        if not any(note.is_xen for note in area.notes):
            continue
        where = f"{area.source} {area.index} at {area.offset:#x}"
        if area.offset + area.size > size:
            raise UsageError(f"{where} claims {area.size:#x} bytes, past the end of the kernel "
                             f"({size:#x} bytes): repair it before editing notes")  # fmt: skip
        if area.align > MAX_NOTE_ALIGN:
            raise UsageError(f"{where} has p_align {area.align:#x}, no real alignment: "
                             "repair it before editing notes")  # fmt: skip


def plan_edit(elf: ElfInfo, data: bytes, drop: frozenset[int], values: dict[int, bytes]) -> Plan:
    """Plan removing every Xen note of a type in `drop` and setting those in `values`."""
    plan = Plan(bytearray(data))
    areas = [a for a in elf.note_areas if a.source == "PT_NOTE" and a.offset and
             any(n.is_xen for n in a.notes)]  # fmt: skip
    if not areas:
        areas = [a for a in elf.note_areas if a.source == "SHT_NOTE" and
                 any(n.is_xen for n in a.notes)]  # fmt: skip
    if not areas:
        raise EditError("the image has no note segment or section holding Xen notes to edit")
    areas = _distinct(areas)
    pending = dict(values)
    entry = XenNote.PHYS32_ENTRY
    home = next((a for a in areas if any(n.type == entry and n.is_xen for n in a.notes)), areas[0])
    for area in areas:
        added = pending if area is home else {}
        pieces = _rebuild(area, data, drop, pending, added, plan)
        _apply(elf, area, b"".join(piece.data for piece in pieces), pieces, plan)
    return plan


MAX_EDITED_AREAS = 64  # no real kernel has more than a few note segments or sections


def _distinct(areas: list[NoteArea]) -> list[NoteArea]:
    """One area per span: note sections repeated over the same bytes are one rewrite (their
    headers are all repointed by it), not one rewrite each (N sections: N^2 work)."""
    spans: dict[tuple[int, int], NoteArea] = {}
    for area in areas:
        spans.setdefault((area.offset, area.size), area)
    if len(spans) > MAX_EDITED_AREAS:
        raise EditError(f"{len(spans)} distinct note areas hold Xen notes; pvhlint edits at "
                        f"most {MAX_EDITED_AREAS}")  # fmt: skip
    return list(spans.values())


def _rebuild(area: NoteArea, data: bytes, drop: frozenset[int],
             pending: dict[int, bytes], added: dict[int, bytes],
             plan: Plan) -> list[Piece]:  # fmt: skip
    """The area's notes after the edit, in their original order, new ones last."""
    end = area.offset + area.size
    pieces: list[Piece] = []
    for note in area.notes:
        if note.is_xen and note.type in drop:
            plan.changes.append(Change("remove", note.type, note))
        elif note.is_xen and note.type in pending:
            desc = pending.pop(note.type)
            if desc == note.desc and note.descsz == len(desc):
                pieces.append(Piece(note.offset, _raw(data, note, end)))
            else:
                plan.changes.append(Change("change", note.type, note, desc))
                plan.set_types.add(note.type)
                pieces.append(Piece(note.offset, encode_note(note.type, desc)))
        elif note.is_xen and note.type in plan.set_types:
            plan.changes.append(Change("remove", note.type, note))  # a duplicate of a set note
        else:
            pieces.append(Piece(note.offset, _raw(data, note, end)))
    for note_type in list(added):
        desc = added.pop(note_type)
        pending.pop(note_type, None)
        plan.changes.append(Change("add", note_type, None, desc))
        pieces.append(Piece(None, encode_note(note_type, desc)))
    return pieces


def _apply(elf: ElfInfo, area: NoteArea, new: bytes, pieces: list[Piece], plan: Plan) -> None:
    old = bytes(plan.data[area.offset : area.offset + area.size])
    if new == old:
        return
    _check_alignment(area, pieces)
    if len(new) <= area.size:
        target = area.offset
    elif len(new) - area.size <= _room_after(elf, area, plan.data):
        target, plan.used_room = area.offset, True
    else:
        target = _append(plan, len(new), max(4, area.align))
        plan.moved = True
    if target == area.offset:
        span = max(len(new), area.size)
        padded = new + bytes(span - len(new))
        changed = target + _first_difference(bytes(plan.data[target : target + span]), padded)
        _refuse_moving_owned(elf, area, changed, target + span)
        plan.data[target : target + span] = padded
        plan.touch(target, target + span)
    else:
        plan.data[target : target + len(new)] = new
        plan.touch(target, target + len(new))
    plan.areas.append((area.offset, area.size, target, len(new)))
    _repoint(elf, area, target, len(new), pieces, plan)


def _check_alignment(area: NoteArea, pieces: list[Piece]) -> None:
    """Under p_align > 4, kept notes must keep their offset modulo p_align."""
    if area.align <= 4:
        return
    pos = area.offset
    for piece in pieces:
        if piece.origin is not None and (piece.origin - pos) % area.align:
            raise EditError(
                f"PT_NOTE {area.index} has p_align {area.align}: this edit would move "
                f"the note at {piece.origin:#x} off its {area.align}-byte alignment"
            )
        pos += len(piece.data)


def _owners(elf: ElfInfo, area: NoteArea) -> list[tuple[str, int, int]]:
    """File ranges something other than this note area owns, named: the headers and their
    tables, every section that is not one of the area's own note sections, and every
    segment but PT_LOAD (it spans everything) and the area's own PT_NOTE."""
    head = 64 if elf.elf_class == 64 else 52
    ranges = [("the ELF header", 0, head),
              ("the program header table", elf.phoff,
               elf.phdr_offset(len(elf.segments)))]  # fmt: skip
    if elf.sections:
        ranges.append(("the section header table", elf.shoff,
                       elf.shoff + elf.shentsize * len(elf.sections)))  # fmt: skip
    for sec in elf.sections or []:
        if sec.index and sec.type != 8 and sec.size and not _note_section_of(sec, area):
            ranges.append((f"section {sec.index} ({sec.name})", sec.offset, sec.offset + sec.size))
    for seg in elf.segments:
        own = area.source == "PT_NOTE" and seg.index == area.index
        if seg.type != 1 and seg.filesz and not own:  # 1: PT_LOAD, 8: SHT_NOBITS above
            ranges.append((f"{seg.type_name} {seg.index}", seg.offset, seg.offset + seg.filesz))
    return [(name, start, end) for name, start, end in ranges if end > start]


def _note_section_of(sec: Section, area: NoteArea) -> bool:
    """An SHT_NOTE section inside the area: the edit repoints it."""
    inside = area.offset <= sec.offset and sec.offset + sec.size <= area.offset + area.size
    return inside and sec.type == SHT_NOTE


def _refuse_moving_owned(elf: ElfInfo, area: NoteArea, start: int, end: int) -> None:
    """Bytes in [start, end) change; nothing another header points at may lie there (a
    program header table inside PT_NOTE would move while e_phoff stays)."""
    for name, own_start, own_end in _owners(elf, area):
        if own_start < end and start < own_end:
            raise EditError(
                f"{name} ({own_start:#x}-{own_end:#x}) lies inside {area.source} {area.index}"
                f" at {area.offset:#x}, where this edit moves bytes; nothing written"
            )


def _first_difference(old: bytes, new: bytes) -> int:
    """Index of the first byte where `old` and `new` differ (len when one is a prefix)."""
    low, high = 0, min(len(old), len(new))
    if old[:high] == new[:high]:
        return high
    while high - low > 1:  # old[:low] == new[:low], old[:high] != new[:high]
        middle = (low + high) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle
    return low


def _room_after(elf: ElfInfo, area: NoteArea, data: bytearray) -> int:
    """Zero bytes right after the area that no section, table or segment owns."""
    start = area.offset + area.size
    limit = min([s for _, s, _ in _owners(elf, area) if s >= start] + [len(data)])
    room = 0
    while start + room < limit and data[start + room] == 0:
        room += 1
    return room & ~3


def _append(plan: Plan, size: int, align: int) -> int:
    start = align_up(len(plan.data), align)
    plan.data.extend(bytes(start - len(plan.data) + size))
    return start


def _repoint(elf: ElfInfo, area: NoteArea, target: int, size: int, pieces: list[Piece],
             plan: Plan) -> None:  # fmt: skip
    if area.source == "PT_NOTE":
        seg = next(s for s in elf.segments if s.index == area.index)
        _write_phdr(elf, plan, seg.index, target, size, seg.memsz == seg.filesz)
    for sec in elf.sections or []:
        inside = area.offset <= sec.offset and sec.offset + sec.size <= area.offset + area.size
        if sec.type == SHT_NOTE and sec.size and inside:
            offset, length = _section_span(sec, area, target, pieces)
            _write_shdr(elf, plan, sec, offset, length)


def _section_span(sec: Section, area: NoteArea, target: int,
                  pieces: list[Piece]) -> tuple[int, int]:  # fmt: skip
    """Where the notes that were inside `sec` sit after the edit; added notes belong to
    the section that ended where the area ended."""
    sec_end = sec.offset + sec.size
    at_area_end = sec_end == area.offset + area.size
    pos, start, end = target, None, None
    for piece in pieces:
        if piece.origin is not None and piece.origin < sec.offset:
            pos += len(piece.data)
            continue
        mine = (piece.origin is None and at_area_end) or (
            piece.origin is not None and piece.origin < sec_end
        )
        if not mine:
            break
        start = pos if start is None else start
        pos += len(piece.data)
        end = pos
    if start is None:  # every note of the section went: an empty section where they were
        return pos, 0
    assert end is not None
    return start, end - start


def _write_phdr(elf: ElfInfo, plan: Plan, index: int, offset: int, size: int,
                memsz_too: bool) -> None:  # fmt: skip
    base = elf.phdr_offset(index)
    if elf.elf_class == 64:
        fields = [(base + 8, "<Q", offset), (base + 32, "<Q", size)]
        fields += [(base + 40, "<Q", size)] if memsz_too else []
    else:
        fields = [(base + 4, "<I", offset), (base + 16, "<I", size)]
        fields += [(base + 20, "<I", size)] if memsz_too else []
    _patch(plan, fields)


def _write_shdr(elf: ElfInfo, plan: Plan, sec: Section, offset: int, size: int) -> None:
    base = elf.shoff + sec.index * elf.shentsize
    shift = offset - sec.offset
    addr = sec.addr + shift if sec.addr and shift else sec.addr
    if elf.elf_class == 64:
        fields = [(base + 16, "<Q", addr), (base + 24, "<Q", offset), (base + 32, "<Q", size)]
    else:
        fields = [(base + 12, "<I", addr), (base + 16, "<I", offset), (base + 20, "<I", size)]
    _patch(plan, fields)


def _patch(plan: Plan, fields: list[tuple[int, str, int]]) -> None:
    for at, fmt, value in fields:
        new = struct.pack(fmt, value)
        if bytes(plan.data[at : at + len(new)]) != new:
            plan.data[at : at + len(new)] = new
            plan.touch(at, at + len(new))
