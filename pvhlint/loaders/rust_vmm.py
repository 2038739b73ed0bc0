"""rust-vmm linux-loader 0.14 (src/loader/elf/mod.rs): Elf::load's header checks, its load
of PT_LOAD segments into guest memory and its PVH note search, in its order, with its
errors' Display texts (checked against the real crate: tests/loaders/rust_vmm.py).
"""

from __future__ import annotations

from typing import Any

from ..model import PT_LOAD, PT_NOTE, Image, Note, ProblemCode, Segment, align_up
from ..profiles import Loader
from ..xennotes import XenNote
from .common import PvhEntry, cached_fact, pt_notes
from .outcome import Check, ErrorCode, Outcome, walk

# Cloud Hypervisor's call (vmm/src/vm.rs load_kernel): Elf::load(&guest_memory, None, &mut
# kernel, Some(arch::layout::HIGH_RAM_START)), with its default guest RAM (--memory
# size=512M: one region from 0, below the 32-bit hole).
HIGH_RAM_START = 0x10_0000
GUEST_MEMORY = 512 << 20
# Every Seek is lseek(2), which fails (EINVAL) past the file system's largest file: ext4's
# (4 KiB blocks, Debian's default and where the comparison runs) is 2**44 - 4096. On tmpfs,
# xfs or btrfs the limit is 2**63 - 1 (off_t): only which error is reported changes, or a
# zero-sized PT_NOTE so far out stops the load.
SEEK_LIMIT = (1 << 44) - 4096
_U32_PADDED_MAX = 0xFFFF_FFFC  # align_up(n, 4) > u32::MAX above this: Error::Overflow
_U64_MAX = (1 << 64) - 1
_ELF64_EHDR = 64  # size_of::<Elf64_Ehdr>()
_ELF64_PHDR = 56  # size_of::<Elf64_Phdr>()
_NHDR = 12  # size_of::<Elf64_Nhdr>(): three u32s
# linux-loader 0.14 src/loader/mod.rs: Error::Elf(e) displays as
# "Kernel Loader: failed to load ELF kernel image: {e}", and elf::Error's Display
# (src/loader/elf/mod.rs) starts with "Kernel Loader: " again.
_ELF_ERROR = "Kernel Loader: failed to load ELF kernel image: Kernel Loader: "


def _elf_error(text: str, **where: Any) -> PvhEntry:
    return PvhEntry(error=_ELF_ERROR + text, **where)


@cached_fact("rust-vmm")
def rust_vmm_pvh(image: Image) -> PvhEntry:
    """rust-vmm linux-loader 0.14 Elf::load (src/loader/elf/mod.rs), as Cloud Hypervisor
    calls it: the Elf64 header of any EI_CLASS, the e_entry floor, every program header in
    order (PT_LOAD copied into guest memory, PT_NOTE searched for the PVH note padded by 4);
    the last PT_NOTE decides."""
    # load(): read_exact of an Elf64_Ehdr, before any check: ReadElfHeader.
    if image.size < _ELF64_EHDR:
        return _elf_error("Unable to read elf header")
    elf = image.elf
    if image.format not in ("elf32", "elf64") or elf is None or elf.layer != 0:
        if image.has_problem(ProblemCode.ELF_HEADER_UNREADABLE):
            # The magic, 64 bytes, and still no ELF header to read: EI_DATA is neither 1 nor
            # 2, and validate_header tests EI_DATA != ELFDATA2LSB.
            return _elf_error("Trying to load big-endian binary on little-endian machine")
        return _elf_error("Invalid Elf magic number")
    # validate_header: magic, EI_DATA, e_phentsize, e_phoff, in that order.
    if image.has_problem(ProblemCode.BIG_ENDIAN):
        return _elf_error("Trying to load big-endian binary on little-endian machine")
    elf = elf.elf64_view()
    if elf is None or elf.phentsize != _ELF64_PHDR:
        return _elf_error("Invalid program header size")
    if elf.phoff < _ELF64_EHDR:
        return _elf_error("Invalid program header offset")
    if elf.entry < HIGH_RAM_START:  # highmem_start_address
        return _elf_error("Invalid entry address")
    if elf.phoff > SEEK_LIMIT:
        return _elf_error("Unable to seek to program header")
    if len(elf.segments) < elf.phnum:  # every header is read before any is used
        return _elf_error("Unable to read program header")
    areas = {seg.index: area for seg, area in pt_notes(elf)}
    result = PvhEntry()  # PvhEntryIgnored without any PT_NOTE: no entry either
    for segment in elf.segments:
        if segment.type == PT_LOAD and segment.filesz:
            failed = _load_segment(segment, image.size)
            if failed is not None:
                return failed
        elif segment.type == PT_NOTE:
            result = _parse_elf_note(segment, areas[segment.index])
            if result.error:
                return result
    return result


def _load_segment(segment: Segment, file_size: int) -> PvhEntry | None:
    """A PT_LOAD with file bytes: seek to p_offset, read_exact_volatile_from p_filesz bytes
    into guest memory at p_paddr (vm-memory: every byte must land in guest RAM and come
    from the file), then p_paddr + p_memsz must not overflow."""
    if segment.offset > SEEK_LIMIT:
        return _elf_error("Unable to seek to kernel start", segment=segment)
    in_memory = segment.paddr + segment.filesz <= GUEST_MEMORY
    if not in_memory or segment.offset + segment.filesz > file_size:
        return _elf_error("Unable to read kernel image", segment=segment)
    if segment.paddr + segment.memsz > _U64_MAX:  # KernelLoaderError::MemoryOverflow
        return PvhEntry(error="Kernel Loader: memory to load kernel image is not enough",
                        segment=segment)  # fmt: skip
    return None


def _parse_elf_note(segment: Segment, area: Any) -> PvhEntry:
    """parse_elf_note: notes from p_offset while the padded sizes read so far are below
    p_filesz, names and descriptors padded by ELFNOTE_ALIGN = 4 whatever p_align says.
    Those are the positions of the model's 4-padded walk (NoteArea.notes) up to the first
    namesz or descsz above 0xfffffffc, where libelf's 32-bit padding wraps and
    linux-loader stops with Overflow. That walk ends where a 12-byte header cannot be read
    (ReadNoteHeader here); it also stops after 65536 notes (libelf's cap), which
    linux-loader does not have: a PT_NOTE of more notes is beyond this model."""
    if segment.offset > SEEK_LIMIT:
        return _elf_error("Unable to seek to note header", segment=segment)
    end = segment.offset + segment.filesz
    pos = segment.offset
    for note in area.notes:
        if note.type == XenNote.PHYS32_ENTRY and note.namesz == 4:
            if len(note.owner) < 4:  # the 4 name bytes are read to compare them
                return _elf_error("Unable to read note header", note=note, segment=segment)
            if note.owner == b"Xen\0":
                return _pvh_entry(note, segment)
        if note.namesz > _U32_PADDED_MAX or note.descsz > _U32_PADDED_MAX:
            return _elf_error("Overflow occurred during an arithmetic operation", note=note,
                              segment=segment)  # fmt: skip
        pos = note.desc_offset + align_up(note.descsz, 4)
        if pos > SEEK_LIMIT:  # the seek to the next note header
            return _elf_error("Unable to seek to note header", note=note, segment=segment)
    if pos < end:  # the next note header is past the end of the file
        return _elf_error("Unable to read note header", segment=segment)
    return PvhEntry(segment=segment)  # PvhEntryNotPresent


def _pvh_entry(note: Note, segment: Segment) -> PvhEntry:
    """The PVH note found: descsz must hold a u32, then 4 bytes are read from the
    descriptor (little-endian)."""
    if note.descsz < 4:
        return _elf_error("Invalid PVH note header", note=note, segment=segment)
    if len(note.desc) < 4:
        return _elf_error("Unable to read note header", note=note, segment=segment)
    return PvhEntry(int.from_bytes(note.desc[:4], "little"), note, segment=segment)


class RustVmmError(ErrorCode):
    """linux-loader's Error Display texts (src/loader/mod.rs, elf/mod.rs)."""


CHECKS: tuple[Check, ...] = ()


def run(image: Image) -> Outcome:
    return walk(image, Loader.LINUX_LOADER, CHECKS)
