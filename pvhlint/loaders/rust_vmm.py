"""rust-vmm linux-loader 0.14 (src/loader/elf/mod.rs): Elf::load's header checks, its load
of PT_LOAD segments into guest memory and its PVH note search, in its order, with its
errors' Display texts (checked against the real crate: tests/loaders/rust_vmm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import PT_LOAD, PT_NOTE, Image, Note, ProblemCode, Segment, align_up
from ..profiles import Loader
from ..xennotes import XenNote
from .common import PvhEntry, cached_fact, elf_big_endian, pt_notes, unsupported_machine
from .outcome import Check, ErrorCode, LoaderError, Outcome, walk

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


RUST_VMM = ("rust-vmm",)


class RustVmmError(ErrorCode, targets=RUST_VMM):
    """linux-loader 0.14's Error Display texts (src/loader/mod.rs, elf/mod.rs) as the VMM
    prints them, and the error a VMM reports when the load succeeds without a PVH entry
    (Cloud Hypervisor's)."""

    READ_ELF_HEADER = _ELF_ERROR + "Unable to read elf header"
    INVALID_ELF_MAGIC = _ELF_ERROR + "Invalid Elf magic number"
    BIG_ENDIAN = _ELF_ERROR + "Trying to load big-endian binary on little-endian machine"
    # the same refusal as part of elf-unsupported-machine's account of a big-endian ELF
    ELF_BIG_ENDIAN = _ELF_ERROR + "Trying to load big-endian binary on little-endian machine"
    INVALID_PROGRAM_HEADER_SIZE = _ELF_ERROR + "Invalid program header size"
    INVALID_PROGRAM_HEADER_OFFSET = _ELF_ERROR + "Invalid program header offset"
    INVALID_ENTRY_ADDRESS = _ELF_ERROR + "Invalid entry address"
    SEEK_PROGRAM_HEADER = _ELF_ERROR + "Unable to seek to program header"
    READ_PROGRAM_HEADER = _ELF_ERROR + "Unable to read program header"
    SEEK_KERNEL_START = _ELF_ERROR + "Unable to seek to kernel start"
    READ_KERNEL_IMAGE = _ELF_ERROR + "Unable to read kernel image"
    MEMORY_OVERFLOW = "Kernel Loader: memory to load kernel image is not enough"
    SEEK_NOTE_HEADER = _ELF_ERROR + "Unable to seek to note header"
    READ_NOTE_HEADER = _ELF_ERROR + "Unable to read note header"
    OVERFLOW = _ELF_ERROR + "Overflow occurred during an arithmetic operation"
    INVALID_PVH_NOTE = _ELF_ERROR + "Invalid PVH note header"
    MISSING_PVH_HEADER = "KernelMissingPvhHeader"  # Cloud Hypervisor's, not linux-loader's


def _elf_error(code: RustVmmError, **where: Any) -> PvhEntry:
    return PvhEntry(error=code, **where)


@cached_fact("rust-vmm")
def rust_vmm_pvh(image: Image) -> PvhEntry:
    """rust-vmm linux-loader 0.14 Elf::load (src/loader/elf/mod.rs), as Cloud Hypervisor
    calls it: the Elf64 header of any EI_CLASS, the e_entry floor, every program header in
    order (PT_LOAD copied into guest memory, PT_NOTE searched for the PVH note padded by 4);
    the last PT_NOTE decides."""
    # load(): read_exact of an Elf64_Ehdr, before any check: ReadElfHeader.
    if image.size < _ELF64_EHDR:
        return _elf_error(RustVmmError.READ_ELF_HEADER)
    elf = image.elf
    if image.format not in ("elf32", "elf64") or elf is None or elf.layer != 0:
        if image.has_problem(ProblemCode.ELF_HEADER_UNREADABLE):
            # The magic, 64 bytes, and still no ELF header to read: EI_DATA is neither 1 nor
            # 2, and validate_header tests EI_DATA != ELFDATA2LSB.
            return _elf_error(RustVmmError.BIG_ENDIAN)
        return _elf_error(RustVmmError.INVALID_ELF_MAGIC)
    # validate_header: magic, EI_DATA, e_phentsize, e_phoff, in that order.
    if image.has_problem(ProblemCode.BIG_ENDIAN):
        return _elf_error(RustVmmError.BIG_ENDIAN)
    elf = elf.elf64_view()
    if elf is None or elf.phentsize != _ELF64_PHDR:
        return _elf_error(RustVmmError.INVALID_PROGRAM_HEADER_SIZE)
    if elf.phoff < _ELF64_EHDR:
        return _elf_error(RustVmmError.INVALID_PROGRAM_HEADER_OFFSET)
    if elf.entry < HIGH_RAM_START:  # highmem_start_address
        return _elf_error(RustVmmError.INVALID_ENTRY_ADDRESS)
    if elf.phoff > SEEK_LIMIT:
        return _elf_error(RustVmmError.SEEK_PROGRAM_HEADER)
    if len(elf.segments) < elf.phnum:  # every header is read before any is used
        return _elf_error(RustVmmError.READ_PROGRAM_HEADER)
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
        return _elf_error(RustVmmError.SEEK_KERNEL_START, segment=segment)
    in_memory = segment.paddr + segment.filesz <= GUEST_MEMORY
    if not in_memory or segment.offset + segment.filesz > file_size:
        return _elf_error(RustVmmError.READ_KERNEL_IMAGE, segment=segment)
    if segment.paddr + segment.memsz > _U64_MAX:  # KernelLoaderError::MemoryOverflow
        return PvhEntry(error=RustVmmError.MEMORY_OVERFLOW, segment=segment)
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
        return _elf_error(RustVmmError.SEEK_NOTE_HEADER, segment=segment)
    end = segment.offset + segment.filesz
    pos = segment.offset
    for note in area.notes:
        if note.type == XenNote.PHYS32_ENTRY and note.namesz == 4:
            if len(note.owner) < 4:  # the 4 name bytes are read to compare them
                return _elf_error(RustVmmError.READ_NOTE_HEADER, note=note, segment=segment)
            if note.owner == b"Xen\0":
                return _pvh_entry(note, segment)
        if note.namesz > _U32_PADDED_MAX or note.descsz > _U32_PADDED_MAX:
            return _elf_error(RustVmmError.OVERFLOW, note=note,
                              segment=segment)  # fmt: skip
        pos = note.desc_offset + align_up(note.descsz, 4)
        if pos > SEEK_LIMIT:  # the seek to the next note header
            return _elf_error(RustVmmError.SEEK_NOTE_HEADER, note=note, segment=segment)
    if pos < end:  # the next note header is past the end of the file
        return _elf_error(RustVmmError.READ_NOTE_HEADER, segment=segment)
    return PvhEntry(segment=segment)  # PvhEntryNotPresent


def _pvh_entry(note: Note, segment: Segment) -> PvhEntry:
    """The PVH note found: descsz must hold a u32, then 4 bytes are read from the
    descriptor (little-endian)."""
    if note.descsz < 4:
        return _elf_error(RustVmmError.INVALID_PVH_NOTE, note=note, segment=segment)
    if len(note.desc) < 4:
        return _elf_error(RustVmmError.READ_NOTE_HEADER, note=note, segment=segment)
    return PvhEntry(int.from_bytes(note.desc[:4], "little"), note, segment=segment)


# Elf::load up to and with validate_header, before any program header is used.
HEADER_ERRORS = (RustVmmError.READ_ELF_HEADER, RustVmmError.INVALID_ELF_MAGIC,
                 RustVmmError.BIG_ENDIAN, RustVmmError.INVALID_PROGRAM_HEADER_SIZE,
                 RustVmmError.INVALID_PROGRAM_HEADER_OFFSET,
                 RustVmmError.INVALID_ENTRY_ADDRESS)  # fmt: skip


def _failure(image: Image, found: PvhEntry) -> LoaderError:
    assert found.error is not None
    layer = image.elf.layer if image.elf is not None else 0
    where = found.note.offset if found.note else (found.segment.offset if found.segment else 0)
    kind = image.kernel_format if image.format != image.kernel_format else image.format
    return LoaderError(found.error, f'rust-vmm\'s PVH loader fails on this {kind} image: '
                       f'"{found.error.text}"', layer, where, None, RUST_VMM)  # fmt: skip


def validate_header(image: Image) -> Iterator[LoaderError]:
    """Elf::load reads the Elf64_Ehdr, then validate_header: magic, EI_DATA, e_phentsize,
    e_phoff, then the e_entry floor. A big-endian ELF is also elf-unsupported-machine's
    cause (told there too)."""
    found = rust_vmm_pvh(image)
    if found.error in HEADER_ERRORS:
        yield _failure(image, found)
    cause = unsupported_machine(image)
    if cause is not None and elf_big_endian(image):
        yield from cause.error(RustVmmError.ELF_BIG_ENDIAN, Loader.LINUX_LOADER)


def program_headers(image: Image) -> Iterator[LoaderError]:
    """Elf::load's program header loop: each PT_LOAD loaded, parse_elf_note on each PT_NOTE."""
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


# Elf::load's order (linux-loader v0.14.0 src/loader/elf/mod.rs), then the VMM.
CHECKS: tuple[Check, ...] = (
    validate_header,  # Elf::load: read_exact(Elf64_Ehdr), validate_header, e_entry
    program_headers,  # Elf::load's program header loop: PT_LOAD loads, parse_elf_note
    missing_pvh_entry,  # the VMM, after Elf::load: pvh_boot_cap PvhEntryNotPresent
)


def run(image: Image) -> Outcome:
    return walk(image, Loader.LINUX_LOADER, CHECKS)
