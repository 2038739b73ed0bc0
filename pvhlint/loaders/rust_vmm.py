"""rust-vmm linux-loader 0.14 (src/loader/elf/mod.rs): Elf::load's header checks and its PVH
note search, with its Error enum's messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Image, ProblemCode, Segment, align_up
from ..profiles import Loader
from ..xennotes import XenNote
from .common import PvhEntry, cached_fact, elf_big_endian, pt_notes, unsupported_machine
from .outcome import Check, ErrorCode, LoaderError, Outcome, walk


class RustVmmError(ErrorCode):
    """linux-loader's Error Display texts (src/loader/mod.rs, elf/mod.rs), and the error a
    VMM reports when the load succeeds without a PVH entry (Cloud Hypervisor's)."""

    INVALID_ELF_MAGIC = "Kernel Loader: Invalid Elf magic number"
    BIG_ENDIAN_ELF_ON_LITTLE = (
        "Kernel Loader: Trying to load big-endian binary on little-endian machine"
    )
    # the same refusal as part of elf-unsupported-machine's account of a big-endian ELF
    ELF_BIG_ENDIAN = "Kernel Loader: Trying to load big-endian binary on little-endian machine"
    INVALID_PROGRAM_HEADER_SIZE = "Kernel Loader: Invalid program header size"
    INVALID_PROGRAM_HEADER_OFFSET = "Kernel Loader: Invalid program header offset"
    ALIGN = "Kernel Loader: Invalid alignment"
    INVALID_PVH_NOTE = "Kernel Loader: Invalid PVH note header"
    READ_NOTE_HEADER = "Kernel Loader: Unable to read note header"
    MISSING_PVH_HEADER = "KernelMissingPvhHeader"  # Cloud Hypervisor's, not linux-loader's


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@cached_fact("rust-vmm")
def rust_vmm_pvh(image: Image) -> PvhEntry:
    """rust-vmm linux-loader Elf::load: ELF64 only; every PT_NOTE walked padded to
    p_align; the last PT_NOTE decides; owner exactly "Xen\\0" (namesz 4); desc >= 4."""
    elf = image.elf
    if image.format not in ("elf32", "elf64") or elf is None:
        return PvhEntry(error=RustVmmError.INVALID_ELF_MAGIC)
    if image.has_problem(ProblemCode.BIG_ENDIAN):  # validate_header checks EI_DATA next
        return PvhEntry(error=RustVmmError.BIG_ENDIAN_ELF_ON_LITTLE)
    # validate_header (linux-loader 0.14 src/loader/elf/mod.rs): e_phentsize must be
    # sizeof(Elf64_Phdr); an ELF32 read as Elf64_Ehdr fails the same check.
    if elf.elf_class != 64 or elf.phentsize != 56:
        return PvhEntry(error=RustVmmError.INVALID_PROGRAM_HEADER_SIZE)
    if elf.phoff < 64:
        return PvhEntry(error=RustVmmError.INVALID_PROGRAM_HEADER_OFFSET)
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
                return PvhEntry(error=RustVmmError.ALIGN, segment=segment)
            if note.descsz < 4:
                return PvhEntry(error=RustVmmError.INVALID_PVH_NOTE, note=note,
                                segment=segment)  # fmt: skip
            if len(note.desc) < 4:
                return PvhEntry(error=RustVmmError.READ_NOTE_HEADER, note=note)
            return PvhEntry(int.from_bytes(note.desc[:4], "little"), note, segment=segment)
        if not _power_of_two(segment.align):
            return PvhEntry(error=RustVmmError.ALIGN, segment=segment)
        pos = note.desc_offset + align_up(note.descsz, segment.align)
    if segment.filesz and not notes and not _power_of_two(segment.align):
        return PvhEntry(error=RustVmmError.ALIGN, segment=segment)
    if pos < end and (not notes or pos > notes[-1].offset):
        return PvhEntry(error=RustVmmError.READ_NOTE_HEADER, segment=segment)
    return PvhEntry(segment=segment)


RUST_VMM = ("rust-vmm",)
# Elf::validate_header's errors; the rest come from the PT_NOTE walk (parse_elf_note).
HEADER_ERRORS = (RustVmmError.INVALID_ELF_MAGIC, RustVmmError.BIG_ENDIAN_ELF_ON_LITTLE,
                 RustVmmError.INVALID_PROGRAM_HEADER_SIZE,
                 RustVmmError.INVALID_PROGRAM_HEADER_OFFSET)  # fmt: skip


def _failure(image: Image, found: PvhEntry) -> LoaderError:
    assert found.error is not None
    layer = image.elf.layer if image.elf is not None else 0
    where = found.note.offset if found.note else (found.segment.offset if found.segment else 0)
    kind = image.kernel_format if image.format != image.kernel_format else image.format
    return LoaderError(found.error, f'rust-vmm\'s PVH loader fails on this {kind} image: '
                       f'"{found.error.text}"', layer, where, None, RUST_VMM)  # fmt: skip


def validate_header(image: Image) -> Iterator[LoaderError]:
    """Elf::load reads the Elf64_Ehdr, then validate_header: magic, EI_DATA, e_phentsize,
    e_phoff. A big-endian ELF is also elf-unsupported-machine's cause (told there too)."""
    found = rust_vmm_pvh(image)
    if found.error in HEADER_ERRORS:
        yield _failure(image, found)
    cause = unsupported_machine(image)
    if cause is not None and elf_big_endian(image):
        yield from cause.error(RustVmmError.ELF_BIG_ENDIAN, Loader.LINUX_LOADER)


def parse_elf_notes(image: Image) -> Iterator[LoaderError]:
    """Elf::load's program header loop: parse_elf_note on each PT_NOTE."""
    found = rust_vmm_pvh(image)
    if found.error is not None and found.error not in HEADER_ERRORS:
        yield _failure(image, found)


def missing_pvh_entry(image: Image) -> Iterator[LoaderError]:
    """The load succeeds, the last PT_NOTE holds no PVH entry: the VMM has none to boot."""
    found = rust_vmm_pvh(image)
    if found.error is None and found.entry is None:
        layer = image.elf.layer if image.elf is not None else 0
        last = found.segment
        where = f"the last PT_NOTE ({last.index})" if last else "no PT_NOTE"
        yield LoaderError(RustVmmError.MISSING_PVH_HEADER, f"{where} holds no PVH note: Cloud "
                          'Hypervisor says "KernelMissingPvhHeader"', layer,
                          last.offset if last else 0, None, RUST_VMM)  # fmt: skip


# Elf::load's order (linux-loader v0.14.0 src/loader/elf/mod.rs).
CHECKS: tuple[Check, ...] = (
    validate_header,  # Elf::load: read_exact(Elf64_Ehdr), validate_header
    parse_elf_notes,  # Elf::load's program header loop: parse_elf_note per PT_NOTE
    missing_pvh_entry,  # the VMM, after Elf::load: pvh_boot_cap PvhEntryNotPresent
)


def run(image: Image) -> Outcome:
    return walk(image, Loader.LINUX_LOADER, CHECKS)
