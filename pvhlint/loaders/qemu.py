"""QEMU `-kernel` (7.2 and 10.0): hw/i386/x86.c's dispatch (Linux setup header, Multiboot 1,
PVH ELF, else an old zImage), hw/i386/multiboot.c, include/hw/elf_ops.h's load_elf and
hw/core/loader.c's ROMs, checked against the real QEMU by tests/test_verdicts_real.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from ..model import (
    EM_386,
    EM_X86_64,
    PT_LOAD,
    PT_NOTE,
    ElfInfo,
    Image,
    MultibootHeader,
    Note,
    ProblemCode,
    Section,
    Segment,
    align_up,
)
from ..multiboot import QEMU_MB1_LIMIT, Mb1Flag
from ..profiles import Loader
from .common import (
    PvhEntry,
    boot_layer,
    bzimage_truncated,
    cached_fact,
    elf_big_endian,
    first_header,
    layer_size,
    note_size,
    pt_notes,
    unsupported_machine,
)
from .grub import elf_of_layer, is_big_endian
from .outcome import Check, ErrorCode, LoaderError, Outcome, walk


def qemu_mb1(image: Image) -> MultibootHeader | None:
    """QEMU: the raw file (no gzip), 4-byte steps below 8144."""
    layer = boot_layer(image)
    return first_header([h for h in image.multiboot if h.version == 1 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset < QEMU_MB1_LIMIT])  # fmt: skip


def qemu_sees_setup(image: Image) -> bool:
    """A Linux setup header in the layer QEMU is handed (the file, or a UKI's kernel)."""
    setup = image.setup
    return setup is not None and setup.has_hdrs and setup.layer == boot_layer(image)


def qemu_path(image: Image) -> str:
    """QEMU -kernel dispatch: HdrS, then Multiboot 1, then a PVH ELF, else an old zImage.
    QEMU reads the file as it is: a setup header inside a whole-file gzip or xz is not seen."""
    if qemu_sees_setup(image):
        return "linux"
    if qemu_mb1(image) is not None:
        return "multiboot"
    if image.format in ("elf32", "elf64") or image.has_problem(ProblemCode.ELF_HEADER_UNREADABLE):
        return "pvh"  # load_elfboot: the ELF magic alone sends the file to load_elf
    return "zimage"


def qemu_loads_elf(image: Image) -> bool:
    """QEMU runs load_elf on the file: the PVH path, or a Multiboot 1 header that asks for
    no a.out kludge (flag bit 16 clear)."""
    path = qemu_path(image)
    header = qemu_mb1(image)
    return path == "pvh" or (path == "multiboot" and header is not None
                              and not header.flags & Mb1Flag.AOUT_KLUDGE)  # fmt: skip


@dataclass(frozen=True)
class Rom:
    """A region QEMU registers in guest memory: an ELF segment's load range, or the BIOS."""

    name: str
    start: int
    size: int
    datasize: int = 0  # the bytes taken from the file; the rest of `size` is zeros


# SeaBIOS's bios-256k.bin, the pc and q35 machines' default, mapped to end at 4 GiB
# (hw/i386/x86.c x86_bios_rom_init: rom_add_file_fixed(bios, (uint32_t)(-bios_size))).
QEMU_BIOS = Rom("bios-256k.bin", 0xFFFC0000, 0x40000)


def _qemu_load_size(seg: Segment, loads: list[Segment], word: int) -> int:
    """load_elf's mem_size for a PT_LOAD: p_memsz, cut to p_filesz when the zero-fill tail
    overlaps another PT_LOAD's [p_paddr, p_paddr + p_memsz), sums in the ELF's word."""
    if seg.memsz <= seg.filesz:
        return seg.memsz
    zero = ((seg.paddr + seg.filesz) & word, (seg.paddr + seg.memsz) & word)
    for other in loads:
        end = (other.paddr + other.memsz) & word
        if other is not seg and not (other.paddr >= zero[1] or zero[0] >= end):
            return seg.filesz
    return seg.memsz


def qemu_elf_roms(elf: ElfInfo) -> list[Rom]:
    """load_elf's ROM blobs (QEMU 7.2 include/hw/elf_ops.h), one per PT_LOAD with a size."""
    word = 2**elf.elf_class - 1
    loads = [seg for seg in elf.segments if seg.type == PT_LOAD]
    roms = []
    for seg in loads:
        size = _qemu_load_size(seg, loads, word)
        if size:
            name = f"ELF program header segment {seg.index}"
            roms.append(Rom(name, seg.paddr, size, min(seg.filesz, size)))
    return roms


SHT_SYMTAB = 2


# g_malloc aborts (SIGTRAP) when malloc fails; no host gives one allocation this size.
QEMU_MALLOC_IMPOSSIBLE = 1 << 40


def qemu_symbols_crash(elf: ElfInfo, size: int) -> Section | None:
    """load_symbols (include/hw/elf_ops.h), which load_elf runs first on a `size`-byte file:
    the section header table (e_shnum * sizeof(Shdr) at e_shoff; none read, none used),
    the first SHT_SYMTAB, then its sh_link string table, each read with load_at, i.e.
    g_malloc(sh_size) before any read. The section whose size no malloc can give, else
    None (a size that fits but runs past the file only makes load_symbols give up)."""
    entry = 64 if elf.elf_class == 64 else 40
    if elf.shentsize != entry or not elf.sections or elf.shoff + elf.shnum * entry > size:
        return None
    symtab = next((sec for sec in elf.sections if sec.type == SHT_SYMTAB), None)
    if symtab is None or symtab.size >= QEMU_MALLOC_IMPOSSIBLE:
        return symtab
    if symtab.offset + symtab.size > size or symtab.link >= len(elf.sections):
        return None
    strtab = elf.sections[symtab.link]
    return strtab if strtab.size >= QEMU_MALLOC_IMPOSSIBLE else None


def qemu_elf_extent(elf: ElfInfo) -> tuple[int, int]:
    """load_elf's *lowaddr / *highaddr: over every PT_LOAD, zero-sized ones too, after the
    zero-fill cut, sign-extended from the ELF's word (include/hw/elf_ops.h)."""
    word, bits = 2**elf.elf_class - 1, elf.elf_class
    low, high = word, 0
    loads = [seg for seg in elf.segments if seg.type == PT_LOAD]
    for seg in loads:
        size = _qemu_load_size(seg, loads, word)
        low, high = min(low, seg.paddr & word), max(high, (seg.paddr + size) & word)

    def signed(value: int) -> int:
        return value - (1 << bits) if value >> (bits - 1) else value

    return signed(low) & (2**64 - 1), signed(high) & (2**64 - 1)


def qemu_multiboot_fetch_short(elf: ElfInfo) -> int | None:
    """hw/i386/multiboot.c, after load_elf: mb_kernel_size = elf_high - elf_low (u32), then
    rom_copy (hw/core/loader.c) copies [elf_low, +size) back out of the ROMs, walking them
    in address order: ROMs that end before the start are skipped, the walk stops at the
    first one that starts before the start or past the end, and the count returned is where
    the last copied ROM ends. Returns that count when it differs from the size ("Error
    while fetching elf kernel from rom"), else None. A load with no PT_LOAD has
    low = ~0 and high = 0: one byte wanted at 0xffffffff, none copied."""
    low, high = qemu_elf_extent(elf)
    start, size = low & 0xFFFFFFFF, (high - low) & 0xFFFFFFFF
    end = start + size
    copied = 0
    roms = sorted([QEMU_BIOS, *qemu_elf_roms(elf)], key=lambda rom: rom.start)
    for rom in roms:
        if rom.start + rom.size < start:
            continue
        if rom.start > end or rom.start < start:
            break
        copied = rom.start - start + max(rom.size, rom.datasize)
    return copied if copied != size else None


@cached_fact("qemu-rom-overlap")
def qemu_rom_overlap(image: Image) -> tuple[Rom, Rom] | None:
    """The first two ROMs that overlap, in rom_check_and_register_reset's order (sorted by
    address, each compared with the one before), or None."""
    if image.elf is None or not qemu_loads_elf(image):
        return None
    roms = sorted([*qemu_elf_roms(image.elf.packed_view()), QEMU_BIOS], key=lambda r: r.start)
    for before, rom in pairwise(roms):
        if before.start + before.size > rom.start:
            return before, rom
    return None


@cached_fact("qemu-pvh")
def qemu_pvh(image: Image) -> PvhEntry:
    """QEMU's load_elf note search: every PT_NOTE, each searched by get_elf_note_type
    (NoteArea.qemu_pvh_note: sizes padded to p_align, on past the segment's end), owner
    not checked, a later PT_NOTE's find overriding; the entry read as u32 (ELF32) or u64
    (ELF64) whatever descsz says. Program headers at sizeof(Phdr) steps: load_elf ignores
    e_phentsize."""
    found = PvhEntry()
    if image.elf is None or image.elf.layer != 0:
        return found
    elf = image.elf.packed_view()
    for segment, area in pt_notes(elf):
        if segment.align == 0:
            return PvhEntry(error=QemuError.NOTE_ALIGN_ZERO, segment=segment)
        note = area.qemu_pvh_note
        if note is not None:
            width = 8 if elf.elf_class == 64 else 4
            raw = (note.desc + note.after)[:width]
            found = PvhEntry(int.from_bytes(raw, "little"), note, segment=segment)
    return found


def qemu_elf_layer(image: Image) -> int | None:
    """Layer 0 when QEMU -kernel hands the file to load_elf: the Multiboot path without the
    a.out kludge, or the PVH path. None when QEMU never parses it as an ELF."""
    path = qemu_path(image)
    if path == "pvh":
        return 0
    header = qemu_mb1(image)
    if path == "multiboot" and header is not None and not header.flags & Mb1Flag.AOUT_KLUDGE:
        return 0
    return None


QEMU = ("qemu",)


class QemuError(ErrorCode, targets=QEMU):
    """QEMU's own messages (hw/i386/x86.c, multiboot.c, include/hw/elf_ops.h), or how it dies."""

    SYMBOLS_MALLOC = "failed to allocate"  # GLib's g_malloc, then abort (SIGTRAP)
    NO_PROGRAM_HEADERS = "Error while loading elf kernel"
    LOAD_SIZE_NEGATIVE = "Error while loading elf kernel"
    MULTIBOOT_ROM_FETCH = "Error while fetching elf kernel from rom"
    ELFBOOT_FLAGS = "elfboot unsupported flags"  # error_report("... = %x", flags)
    ELF_HEADER_UNREADABLE = "Error while loading elf kernel"
    ELF_WRONG_ENDIAN = "Error while loading elf kernel"  # ELF_LOAD_WRONG_ENDIAN
    ELF_WRONG_ARCH = "Error while loading elf kernel"  # ELF_LOAD_WRONG_ARCH
    PHDR_TABLE_PAST_EOF = "Error while loading elf kernel"
    SEGMENT_PAST_EOF = "Error while loading elf kernel"
    FILESZ_ABOVE_MEMSZ = "Error while loading elf kernel"  # 10.0; 7.2 hangs, no message
    NOTE_ALIGN_ZERO = "SIGFPE"  # no message: the note walk divides by p_align (exit 136)
    NO_PVH_NOTE = "Error loading uncompressed kernel without PVH ELF Note"
    PVH_ENTRY_ZERO = "Error loading uncompressed kernel without PVH ELF Note"
    SEGMENT_OUTSIDE_FILE = "(no fixed message: the segment is copied from memory past the file)"
    NOTES_OUTSIDE_FILE = "(no fixed message: the notes are read from memory past the file)"
    PVH_ENTRY_PAST_FILE = "(no fixed message: the entry comes from memory past the file)"
    ROM_OVERLAP = "Some ROM regions are overlapping"
    INVALID_KERNEL_HEADER = "qemu: invalid kernel header"
    # --- Multiboot 1 (hw/i386/multiboot.c load_multiboot); with the checks marked below ---
    MB1_AOUT_FIELDS_UNREAD = "(no fixed message: the fields come from uninitialised memory)"
    MB1_AOUT_LOAD_ADDR = "invalid load_addr address"
    MB1_AOUT_HEADER_ADDR = "invalid header_addr address"
    MB1_AOUT_LOAD_END_ADDR = "invalid load_end_addr address"
    MB1_AOUT_ADDRESS_SPACE = "kernel does not fit in address space"
    MB1_AOUT_BSS_END_ADDR = "invalid bss_end_addr address"
    MB1_AOUT_FREAD = "fread() failed"
    MB1_ELF64 = "Cannot load x86-64 image, give a 32bit one."
    MB1_NOT_ELF = "Error while loading elf kernel"
    MB1_ELF_TRUNCATED = "Error while loading elf kernel"
    # --- end of Multiboot 1 ---


EHDR_PHNUM = {32: 0x2C, 64: 0x38}
EHDR_PHOFF = {32: 0x1C, 64: 0x20}
EHDR_FLAGS = {32: 0x24, 64: 0x30}
PHDR_P_ALIGN = {32: (0x1C, 4), 64: (0x30, 8)}  # (offset in the header, size)
ELFBOOT_UNSUPPORTED_FLAGS = 0x00010004  # load_elfboot refuses these e_flags bits


def _on_pvh_path(image: Image) -> bool:
    return qemu_path(image) == "pvh" and image.elf is not None


def elfboot_flags(image: Image) -> Iterator[LoaderError]:
    """load_elfboot (hw/i386/x86.c), before load_elf: e_flags bits 0x10004 refused."""
    if not _on_pvh_path(image):
        return
    elf = image.elf
    assert elf is not None
    if elf.flags & ELFBOOT_UNSUPPORTED_FLAGS:  # error_report("... = %x", flags): all of them
        text = f"elfboot unsupported flags = {elf.flags:x}"
        yield LoaderError(QemuError.ELFBOOT_FLAGS, f'e_flags {elf.flags:#x}: QEMU says "{text}"',
                          elf.layer, EHDR_FLAGS[elf.elf_class], 4, refuses=QEMU,
                          text=text)  # fmt: skip


def elf_header_unreadable(image: Image) -> Iterator[LoaderError]:
    """load_elf_ram_sym (include/hw/elf_ops.h): the ELF magic sent the file to load_elf,
    which cannot read e_ident or the header, or refuses EI_DATA."""
    if qemu_path(image) != "pvh":  # on the Multiboot path load_multiboot ran first
        return
    for problem in image.problems:
        if problem.code == ProblemCode.ELF_HEADER_UNREADABLE:
            yield LoaderError(QemuError.ELF_HEADER_UNREADABLE,
                              f'{problem.message}: QEMU\'s load_elf says "Error while loading '
                              'elf kernel"', problem.layer, 0, 4, refuses=QEMU)  # fmt: skip


def elf_machine(image: Image) -> Iterator[LoaderError]:
    """load_elf_ram_sym's EI_DATA check (ELF_LOAD_WRONG_ENDIAN), then load_elf's e_machine
    switch (ELF_LOAD_WRONG_ARCH): x86_load_linux and load_multiboot print one message."""
    cause = unsupported_machine(image)
    if cause is not None:
        big = elf_big_endian(image)
        code = QemuError.ELF_WRONG_ENDIAN if big else QemuError.ELF_WRONG_ARCH
        yield from cause.error(code, Loader.QEMU)


def _elf_loaded(image: Image) -> ElfInfo | None:
    """The ELF QEMU hands to load_elf (the file itself), or None."""
    elf = image.elf
    if elf is None or elf.layer != 0 or not qemu_loads_elf(image):
        return None
    return elf


def load_symbols(image: Image) -> Iterator[LoaderError]:
    """load_elf's load_symbols (include/hw/elf_ops.h): g_malloc(sh_size) aborts."""
    elf = _elf_loaded(image)
    if elf is None:
        return
    huge = qemu_symbols_crash(elf, image.size)
    if huge is not None:
        yield LoaderError(QemuError.SYMBOLS_MALLOC,
                          f"section {huge.index} ({huge.name or 'no name'}) has sh_size "
                          f"{huge.size:#x}: QEMU's load_symbols asks g_malloc for that many "
                          "bytes before reading them and aborts (SIGTRAP)", elf.layer,
                          elf.shoff, refuses=QEMU,
                          text=f"failed to allocate {huge.size} bytes")  # fmt: skip


def no_program_headers(image: Image) -> Iterator[LoaderError]:
    """load_elf: g_malloc0(e_phnum * sizeof(Phdr)) is NULL for 0 bytes."""
    elf = _elf_loaded(image)
    if elf is not None and elf.phnum == 0:
        yield LoaderError(QemuError.NO_PROGRAM_HEADERS,
                          "e_phnum is 0: QEMU's load_elf allocates no program header table and "
                          'fails ("Error while loading elf kernel")', elf.layer,
                          EHDR_PHNUM[elf.elf_class], 2, refuses=QEMU)  # fmt: skip


@dataclass(frozen=True)
class PastEof:
    """The program header table or a segment that runs past the end of the file, and
    whether load_elf reads it there (then QEMU refuses)."""

    detail: str
    offset: int
    length: int | None
    refused: bool
    table: bool


@cached_fact("qemu-past-eof")
def elf_past_eof(image: Image) -> tuple[PastEof, ...]:
    """The program header table (read whole: e_phnum * sizeof(Phdr) at e_phoff), then each
    PT_LOAD and PT_NOTE whose file range ends past the end of the file; refused where load_elf
    reads it: a PT_LOAD on both ELF paths, a PT_NOTE on the PVH path only (elf_note_fn set)."""
    elf = image.elf
    if elf is None or elf.layer != 0:
        return ()
    loads = qemu_loads_elf(image)
    elf = elf.packed_view()  # as QEMU reads the table: load_elf ignores e_phentsize
    found = []
    table_end = elf.phoff + elf.phentsize * elf.phnum
    if elf.phnum and table_end > image.size:
        found.append(PastEof(f"the program header table ({elf.phnum} x {elf.phentsize} bytes at "
                             f"{elf.phoff:#x}) ends past the end of the file ({image.size:#x} "
                             'bytes): QEMU says "Error while loading elf kernel"',
                             EHDR_PHOFF[elf.elf_class], None, loads, table=True))  # fmt: skip
    read = (PT_LOAD, PT_NOTE) if qemu_path(image) == "pvh" else (PT_LOAD,)
    word = 2**elf.elf_class - 1
    for seg in elf.segments:
        end = seg.offset + seg.filesz
        if seg.type in (PT_LOAD, PT_NOTE) and seg.filesz and end > image.size:
            # load_elf compares p_filesz + p_offset summed in the ELF's word (it wraps)
            wraps = (seg.offset + seg.filesz) & word <= image.size
            refused = seg.type in read and loads and not wraps
            said = ': QEMU says "Error while loading elf kernel"' if refused else ""
            found.append(PastEof(f"PT_{seg.type_name} {seg.index} ends at {end:#x}, past the "
                                 f"end of the file ({image.size:#x} bytes){said}",
                                 elf.phdr_offset(seg.index), elf.phentsize, refused,
                                 table=False))  # fmt: skip
    return tuple(found)


def _past_eof_errors(image: Image, table: bool) -> Iterator[LoaderError]:
    code = QemuError.PHDR_TABLE_PAST_EOF if table else QemuError.SEGMENT_PAST_EOF
    for cut in elf_past_eof(image):
        if cut.refused and cut.table == table:
            yield LoaderError(code, cut.detail, 0, cut.offset, cut.length, QEMU)


def phdr_table_past_eof(image: Image) -> Iterator[LoaderError]:
    """load_elf: read(fd, phdr, e_phnum * sizeof(Phdr)) comes back short."""
    return _past_eof_errors(image, table=True)


def segment_past_eof(image: Image) -> Iterator[LoaderError]:
    """load_elf's program header loop: a PT_LOAD's (or, with elf_note_fn, a PT_NOTE's)
    p_offset + p_filesz past the mapped file's length."""
    return _past_eof_errors(image, table=False)


def segment_outside_file(image: Image) -> Iterator[LoaderError]:
    """load_elf's program header loop: a PT_LOAD whose p_offset + p_filesz wraps past the
    ELF's word to within the file passes the length check, and QEMU copies the segment from
    the mapping's start plus p_offset, memory that is not the file's (measured: QEMU 7.2
    dies of SIGSEGV)."""
    elf = _elf_loaded(image)
    if elf is None:
        return
    elf = elf.packed_view()
    word = 2**elf.elf_class - 1
    for seg in elf.segments:
        end = seg.offset + seg.filesz
        if seg.type == PT_LOAD and seg.filesz and seg.memsz and end > image.size \
                and end & word <= image.size:  # fmt: skip
            yield LoaderError(QemuError.SEGMENT_OUTSIDE_FILE,
                              f"PT_LOAD {seg.index}'s p_offset {seg.offset:#x} + p_filesz "
                              f"{seg.filesz:#x} wraps past 2**{elf.elf_class}: QEMU's length "
                              "check passes and it copies the segment from memory that is not "
                              "the file's", elf.layer, elf.phdr_offset(seg.index), elf.phentsize,
                              QEMU, undefined=True)  # fmt: skip
            return


def filesz_above_memsz(image: Image) -> Iterator[LoaderError]:
    """load_elf's program header loop, QEMU 10.0: p_filesz > p_memsz refused. 7.2 registers
    the ROM and hangs (refused too), except for p_memsz 0, which gets no ROM at all."""
    elf = _elf_loaded(image)
    if elf is None:
        return
    elf = elf.packed_view()  # load_elf ignores e_phentsize
    for seg in elf.segments:
        if seg.type == PT_LOAD and seg.filesz > seg.memsz:
            old = ("QEMU 7.2 hangs before starting the guest" if seg.memsz
                   else "QEMU 7.2 registers nothing for an empty segment and loads it")  # fmt: skip
            yield LoaderError(QemuError.FILESZ_ABOVE_MEMSZ,
                              f"PT_LOAD {seg.index} has p_filesz {seg.filesz:#x} > p_memsz "
                              f'{seg.memsz:#x}: QEMU 10.0 says "Error while loading elf kernel"; '
                              f"{old}", elf.layer, elf.phdr_offset(seg.index), elf.phentsize,
                              refuses=QEMU if seg.memsz else ("qemu@10.0",))  # fmt: skip


def note_align_zero(image: Image) -> Iterator[LoaderError]:
    """load_elf's program header loop on the PVH path, get_elf_note_type on each PT_NOTE: a
    range that wraps past the ELF's word is searched outside the file (undefined); the
    search pads by p_align, dividing by it, so p_align 0 kills QEMU with SIGFPE."""
    if not _on_pvh_path(image):
        return
    elf = image.elf
    assert elf is not None
    outside = _notes_outside_file(image)
    if outside is not None:
        yield LoaderError(QemuError.NOTES_OUTSIDE_FILE,
                          f"PT_NOTE {outside.index}'s p_offset {outside.offset:#x} + p_filesz "
                          f"{outside.filesz:#x} wraps past 2**{elf.elf_class}: QEMU's length check "
                          "passes and its note search reads memory that is not the file's",
                          elf.layer, elf.phdr_offset(outside.index), elf.phentsize, QEMU,
                          undefined=True)  # fmt: skip
        return
    found = qemu_pvh(image)
    if found.error is QemuError.NOTE_ALIGN_ZERO:
        assert found.segment is not None
        p_align_at, p_align_size = PHDR_P_ALIGN[elf.elf_class]  # QEMU's packed headers
        yield LoaderError(QemuError.NOTE_ALIGN_ZERO,
                          f"PT_NOTE {found.segment.index} has p_align 0: QEMU dies with SIGFPE "
                          "(exit status 136) while looking for the PVH note", elf.layer,
                          elf.packed_view().phdr_offset(found.segment.index) + p_align_at,
                          p_align_size, refuses=QEMU)  # fmt: skip


def load_size_negative(image: Image) -> Iterator[LoaderError]:
    """load_elf returns the summed ROM sizes; x86_load_linux and load_multiboot keep it in an
    int, where 2 GiB or more reads as negative."""
    elf = _elf_loaded(image)
    if elf is None:
        return
    total = sum(rom.size for rom in qemu_elf_roms(elf.packed_view()))
    if total & 0x80000000:
        yield LoaderError(QemuError.LOAD_SIZE_NEGATIVE,
                          f"the PT_LOAD segments add up to {total:#x} bytes: load_elf returns "
                          "that count, which QEMU keeps in an int, where it reads as negative "
                          '("Error while loading elf kernel")', elf.layer, elf.phoff,
                          refuses=QEMU)  # fmt: skip


PAGE = 4096


def _entry_past_mapping(image: Image, note: Note) -> bool:
    """load_elf searches the notes in the file's mmap (g_mapped_file): the entry's bytes
    past the last page of the mapping are not the file's (up to the page's end they read 0).
    Measured on one image, p_align 0x1000 to 0x10000000: QEMU 7.2 boots some, crashes on
    others, and 10.0 differs from 7.2 on each."""
    width = 8 if image.elf is not None and image.elf.elf_class == 64 else 4
    return note.desc_offset + width > align_up(image.size, PAGE)


def _notes_outside_file(image: Image) -> Segment | None:
    """A PT_NOTE whose p_offset + p_filesz wraps in the ELF's word to within the file:
    load_elf's length check passes and get_elf_note_type reads from the mapping's start
    plus p_offset, memory that is not the file's (measured: QEMU 7.2 dies of SIGSEGV)."""
    elf = image.elf
    if elf is None:
        return None
    word = 2**elf.elf_class - 1
    for seg in elf.packed_view().segments:
        end = seg.offset + seg.filesz
        if seg.type == PT_NOTE and seg.filesz and end > image.size and end & word <= image.size:
            return seg
    return None


def pvh_note_missing(image: Image) -> Iterator[LoaderError]:
    """load_elfboot after load_elf: no PHYS32_ENTRY note found, or its entry 0."""
    if not _on_pvh_path(image):
        return
    elf = image.elf
    assert elf is not None
    found = qemu_pvh(image)
    if found.error is not None:
        return
    if found.note is None:
        aligns = sorted({a.align for a in elf.note_areas if a.source == "PT_NOTE"})
        how = f" (walking PT_NOTE padded by p_align {aligns})" if aligns else " (no PT_NOTE)"
        yield LoaderError(QemuError.NO_PVH_NOTE,
                          f'QEMU finds no type-18 note{how}: "Error loading uncompressed '
                          'kernel without PVH ELF Note"', elf.layer, 0, refuses=QEMU)  # fmt: skip
    elif _entry_past_mapping(image, found.note):
        note = found.note
        yield LoaderError(QemuError.PVH_ENTRY_PAST_FILE,
                          f"QEMU reads the PVH entry at {note.desc_offset:#x}, past the end of the "
                          f"file ({image.size:#x}) and of the page mapping it: what it reads is "
                          "other memory, so whether it boots, refuses or crashes depends on that",
                          note.layer, note.offset, note_size(note), QEMU,
                          undefined=True)  # fmt: skip
    elif not found.entry:
        note = found.note
        yield LoaderError(QemuError.PVH_ENTRY_ZERO,
                          'the PVH entry QEMU reads is 0: "Error loading uncompressed '
                          'kernel without PVH ELF Note"', note.layer, note.offset,
                          note_size(note), QEMU)  # fmt: skip


def multiboot_rom_fetch(image: Image) -> Iterator[LoaderError]:
    """hw/i386/multiboot.c, after load_elf: the loaded range copied back out of the ROMs."""
    elf = _elf_loaded(image)
    if elf is None or qemu_path(image) != "multiboot" or elf.machine == EM_X86_64:
        return  # EM_X86_64 is mb1-elf64-qemu's case
    copied = qemu_multiboot_fetch_short(elf.packed_view())
    if copied is not None:
        header = qemu_mb1(image)
        yield LoaderError(QemuError.MULTIBOOT_ROM_FETCH,
                          f"QEMU's Multiboot loader copies the loaded range back out of its ROMs "
                          f"and gets {copied:#x} bytes, not the range's size (\"Error while "
                          'fetching elf kernel from rom")', elf.layer,
                          header.offset if header else None, refuses=QEMU)  # fmt: skip


def _span(rom: Rom) -> str:
    return f"{rom.name} [{rom.start:#x}, {rom.start + rom.size:#x})"


def rom_overlap(image: Image) -> Iterator[LoaderError]:
    """rom_check_and_register_reset (hw/core/loader.c), once the machine is built."""
    overlap = qemu_rom_overlap(image)
    if overlap is not None and image.elf is not None:
        first, second = overlap
        yield LoaderError(QemuError.ROM_OVERLAP,
                          f'{_span(first)} overlaps {_span(second)}: QEMU says "Some ROM '
                          'regions are overlapping"', image.elf.layer, 0, refuses=QEMU)  # fmt: skip


def invalid_kernel_header(image: Image) -> Iterator[LoaderError]:
    """x86_load_linux's size check on the Linux and the old-zImage path: the file must hold
    (setup_sects + 1) * 512 bytes, setup_sects read from byte 0x1f1 (0 meaning 4)."""
    cause = bzimage_truncated(image)
    if cause is not None:
        yield from cause.error(QemuError.INVALID_KERNEL_HEADER, Loader.QEMU)
    setup = image.setup
    if (setup is None or setup.layer != boot_layer(image)) and qemu_path(image) == "zimage":
        sects = image.setup_sects_byte or 4
        need = (sects + 1) * 512
        if image.size < need:
            yield LoaderError(QemuError.INVALID_KERNEL_HEADER,
                              f"QEMU loads this {image.format} file as an old zImage, and at "
                              f"{image.size:#x} bytes it is shorter than the ({sects} + 1) * 512 "
                              f"= {need:#x} its byte 0x1f1 calls for (QEMU: \"qemu: invalid "
                              'kernel header")', 0, 0x1F1, 1, refuses=QEMU)  # fmt: skip


# In the order QEMU meets them: x86_load_linux (hw/i386/x86.c) dispatches on the setup
# header, then load_multiboot, then load_elfboot (PVH); each check refuses on its paths only.
# --- Multiboot 1: load_multiboot (hw/i386/multiboot.c) before and around load_elf ---


def _multiboot_header(image: Image) -> MultibootHeader | None:
    """QEMU's Multiboot 1 header when QEMU boots the file as Multiboot."""
    return qemu_mb1(image) if qemu_path(image) == "multiboot" else None


def multiboot_aout(image: Image) -> Iterator[LoaderError]:
    """load_multiboot with flag bit 16: the address fields' checks, in QEMU's order, up to
    the first that fails (loaders/aout.py, shared with GRUB's account). A file that ends
    inside the fields leaves them to uninitialised memory: hw/i386/x86.c x86_load_linux
    reads the header into `uint8_t header[8192]` on the stack, which fread fills only up to
    the file's size. Measured: QEMU 7.2 and 10.0 load a flat image cut 12 bytes into its
    header at 0x100; 7.2 refuses the same cut at 0x1000 ("invalid load_addr address"),
    10.0 loads it. So the verdict is undefined."""
    from .aout import FIELDS, aout_causes  # aout.py reads GRUB's header as well as QEMU's

    header = _multiboot_header(image)
    if header is not None and header.flags & Mb1Flag.AOUT_KLUDGE:
        missing = ", ".join(name for name in FIELDS if name not in header.fields)
        if missing:
            yield LoaderError(QemuError.MB1_AOUT_FIELDS_UNREAD,
                              f"Multiboot 1 a.out kludge at {header.offset:#x}: the file ends "
                              f"before {missing}; QEMU reads them from uninitialised stack "
                              "memory, so whether it loads the image depends on that memory",
                              header.layer, header.offset + 12, refuses=QEMU,
                              undefined=True)  # fmt: skip
            return
    for cause in aout_causes(image):
        if cause.qemu is not None:
            yield LoaderError(cause.qemu, cause.detail, cause.layer, cause.offset, 4,
                              refuses=QEMU)  # fmt: skip


def _multiboot_elf_header(image: Image) -> MultibootHeader | None:
    """QEMU's Multiboot 1 header when QEMU loads the file as an ELF (flag bit 16 clear)."""
    header = _multiboot_header(image)
    return header if header is not None and not header.flags & Mb1Flag.AOUT_KLUDGE else None


def multiboot_elf64(image: Image) -> Iterator[LoaderError]:
    """load_multiboot without flag bit 16 reads e_machine from the header it read, before
    load_elf: EM_X86_64 exits with "Cannot load x86-64 image, give a 32bit one."."""
    header = _multiboot_elf_header(image)
    elf = image.elf
    if header is None or elf is None or elf.layer != 0 or elf.machine != EM_X86_64:
        return
    if is_big_endian(image, elf):
        return  # elf-unsupported-machine
    yield LoaderError(QemuError.MB1_ELF64, f"Multiboot 1 ELF{elf.elf_class} with e_machine 62 "
                      f"(x86-64) and flags {header.flags:#x} without bit 16 (header at "
                      f"{header.offset:#x}) (QEMU: \"Cannot load x86-64 image, give a 32bit "
                      'one.")', 0, 18, 2, refuses=QEMU)  # fmt: skip


def multiboot_not_elf(image: Image) -> Iterator[LoaderError]:
    """load_multiboot without flag bit 16 hands the file to load_elf, which fails on a
    file that is not an ELF."""
    if _multiboot_elf_header(image) is None or elf_of_layer(image, 0) is not None:
        return
    yield LoaderError(QemuError.MB1_NOT_ELF, "QEMU loads a Multiboot 1 image without flag bit 16 "
                      'as an ELF, and this file is not one (QEMU: "Error while loading elf '
                      'kernel", or "Cannot load x86-64 image, give a 32bit one." if bytes 18-19 '
                      'happen to read 62)', 0, 0, 4, refuses=QEMU)  # fmt: skip


def multiboot_elf_truncated(image: Image) -> Iterator[LoaderError]:
    """load_elf's PT_LOAD loop on the Multiboot path: a segment whose file bytes run past
    the end of the file fails ("Error while loading elf kernel"). EM_X86_64 stopped at
    multiboot_elf64; other machines are elf-unsupported-machine's."""
    elf = elf_of_layer(image, 0)
    if _multiboot_elf_header(image) is None or elf is None:
        return
    if elf.machine != EM_386 or is_big_endian(image, elf):
        return
    size = layer_size(image, 0)
    for seg in elf.segments:
        if seg.type == PT_LOAD and seg.filesz and seg.offset + seg.filesz > size:
            end = seg.offset + seg.filesz
            yield LoaderError(QemuError.MB1_ELF_TRUNCATED, f"Multiboot 1 ELF: PT_LOAD {seg.index} "
                              f"needs file bytes up to {end:#x}, but the file ends at {size:#x} "
                              '(QEMU: "Error while loading elf kernel")', 0,
                              elf.phdr_offset(seg.index), refuses=QEMU)  # fmt: skip
            return


# --- end of Multiboot 1 ---


CHECKS: tuple[Check, ...] = (
    multiboot_aout,  # load_multiboot: the a.out kludge's address fields
    multiboot_elf64,  # load_multiboot: e_machine before load_elf
    multiboot_not_elf,  # load_multiboot -> load_elf: no ELF header
    elfboot_flags,  # load_elfboot: e_flags, before load_elf
    elf_header_unreadable,  # load_elf_ram_sym: reading e_ident and the header
    elf_machine,  # load_elf_ram_sym: EI_DATA; load_elf: e_machine
    load_symbols,  # load_elf: load_symbols, first
    no_program_headers,  # load_elf: g_malloc0 of the program header table
    phdr_table_past_eof,  # load_elf: reading the program header table
    # load_elf's program header loop; modelled cause by cause, not segment by segment
    multiboot_elf_truncated,  # a PT_LOAD's file bytes past the end (Multiboot path)
    segment_past_eof,
    segment_outside_file,
    filesz_above_memsz,
    note_align_zero,
    load_size_negative,  # load_elf's return value, in the caller's int
    pvh_note_missing,  # load_elfboot, after load_elf
    multiboot_rom_fetch,  # load_multiboot, after load_elf
    invalid_kernel_header,  # x86_load_linux: the Linux and old-zImage paths
    rom_overlap,  # rom_check_and_register_reset, when the machine is done
)


def run(image: Image) -> Outcome:
    return walk(image, Loader.QEMU, CHECKS)
