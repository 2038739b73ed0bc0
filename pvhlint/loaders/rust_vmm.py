"""rust-vmm linux-loader 0.14 (src/loader/elf/mod.rs): Elf::load's header checks and its PVH
note search, with its Error enum's messages.
"""

from __future__ import annotations

from typing import Any

from ..model import Image, ProblemCode, Segment, align_up
from ..profiles import Loader
from ..xennotes import XenNote
from .common import PvhEntry, cached_fact, pt_notes
from .outcome import Check, ErrorCode, Outcome, walk


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@cached_fact("rust-vmm")
def rust_vmm_pvh(image: Image) -> PvhEntry:
    """rust-vmm linux-loader Elf::load: ELF64 only; every PT_NOTE walked padded to
    p_align; the last PT_NOTE decides; owner exactly "Xen\\0" (namesz 4); desc >= 4."""
    elf = image.elf
    if image.format not in ("elf32", "elf64") or elf is None:
        return PvhEntry(error="Kernel Loader: Invalid Elf magic number")
    if image.has_problem(ProblemCode.BIG_ENDIAN):  # validate_header checks EI_DATA next
        return PvhEntry(
            error="Kernel Loader: Trying to load big-endian binary on little-endian machine"
        )
    # validate_header (linux-loader 0.14 src/loader/elf/mod.rs): e_phentsize must be
    # sizeof(Elf64_Phdr); an ELF32 read as Elf64_Ehdr fails the same check.
    if elf.elf_class != 64 or elf.phentsize != 56:
        return PvhEntry(error="Kernel Loader: Invalid program header size")
    if elf.phoff < 64:
        return PvhEntry(error="Kernel Loader: Invalid program header offset")
    result = PvhEntry()
    for segment, area in pt_notes(elf):
        result = _rust_vmm_segment(segment, area)
        if result.error:
            return result
    return result


def _rust_vmm_segment(segment: Segment, area: Any) -> PvhEntry:
    notes = area.notes_by_align or []
    end = segment.offset + segment.filesz
    pos = segment.offset
    for note in notes:
        if note.type == XenNote.PHYS32_ENTRY and note.namesz == 4 and note.owner == b"Xen\0":
            if not _power_of_two(segment.align):
                return PvhEntry(error="Kernel Loader: Invalid alignment", segment=segment)
            if note.descsz < 4:
                return PvhEntry(error="Kernel Loader: Invalid PVH note header", note=note,
                                segment=segment)  # fmt: skip
            if len(note.desc) < 4:
                return PvhEntry(error="Kernel Loader: Unable to read note header", note=note)
            return PvhEntry(int.from_bytes(note.desc[:4], "little"), note, segment=segment)
        if not _power_of_two(segment.align):
            return PvhEntry(error="Kernel Loader: Invalid alignment", segment=segment)
        pos = note.desc_offset + align_up(note.descsz, segment.align)
    if segment.filesz and not notes and not _power_of_two(segment.align):
        return PvhEntry(error="Kernel Loader: Invalid alignment", segment=segment)
    if pos < end and (not notes or pos > notes[-1].offset):
        return PvhEntry(error="Kernel Loader: Unable to read note header", segment=segment)
    return PvhEntry(segment=segment)


class RustVmmError(ErrorCode):
    """linux-loader's Error Display texts (src/loader/mod.rs, elf/mod.rs)."""


CHECKS: tuple[Check, ...] = ()


def run(image: Image) -> Outcome:
    return walk(image, Loader.LINUX_LOADER, CHECKS)
