"""What each real loader sees in an image, computed from the model (never from bytes).

Rules share these facts so that each states one condition and the loaders it
breaks. Sources: Xen 4.17 libelf and libxenguest (Debian 12), QEMU 7.2
hw/i386/x86.c and include/hw/elf_ops.h, GRUB 2.06 loader/multiboot*.c,
rust-vmm/linux-loader src/loader/x86_64/elf/mod.rs — summarised in
shared/reference and checked against the real programs by tests/test_verdicts_real.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from .codecs import UNCOMPRESSED
from .codecs.gzip import GUNZIP_SLACK
from .model import (
    PT_LOAD,
    ElfInfo,
    Image,
    MultibootHeader,
    Note,
    ProblemCode,
    Section,
    Segment,
    align_up,
)
from .multiboot import MULTIBOOT, QEMU_MB1_LIMIT, Mb1Flag
from .xenbin import BinOutcome, XenLoader, parse_bin_table
from .xennotes import FEATURE_BITS, FeatureBits, Features, XenNote

UNSET_ADDR32 = 0xFFFFFFFF
GRUB_FILTERS = ("gzip", "xz", "lzo")  # whole-file streams GRUB reads through (gzip first)
# Debian 12's libxenguest links zlib, liblzma and libzstd only (linux-boot.md §9).
XEN_DEBIAN12_CODECS = frozenset({"gzip", "xz", "lzma", "zstd", "lz4"})
# libxenguest's max_kernel_size (XC_DOM_DECOMPRESS_MAX, xenguest.h): a payload whose size
# trailer says more is refused before decoding ("kernel image too large"), or for gzip not
# inflated at all (xc_dom_check_gzip: "looks insane, skip gunzip").
XEN_DECOMPRESS_MAX = 1 << 30
# Debian 12's hypervisor capabilities (xl info xen_caps): built without CONFIG_PV32.
XEN_DEBIAN12_CAPS = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"


def _cached(name: str):  # type: ignore[no-untyped-def]
    """Compute a fact once per image (rules ask for the same facts many times)."""

    def wrap(function):  # type: ignore[no-untyped-def]
        def get(image: Image, *args: Any) -> Any:
            key = (name, *args)
            if key not in image.facts:
                image.facts[key] = function(image, *args)
            return image.facts[key]

        get.__doc__ = function.__doc__
        return get

    return wrap


def layer_size(image: Image, layer: int) -> int:
    if layer == 0:
        return image.size
    info = image.layers[layer]
    # A prefix decoded to at least 1 MiB covers every search window.
    return info.decoded_size if info.decoded_size is not None else info.decoded_prefix


def boot_layer(image: Image) -> int:
    """The layer a loader is handed as "the file": a Unified Kernel Image's .linux section
    (its stub boots that kernel, and pvhlint's verdicts are for it), else the file itself."""
    kernel = image.uki_kernel
    return kernel.index if kernel is not None else 0


def grub_layer(image: Image) -> int:
    """GRUB opens files through its gzip, xz and lzop filters (gzio, xzio, lzopio)."""
    if image.format in GRUB_FILTERS and len(image.layers) > 1:
        return 1
    return boot_layer(image)


def xen_reads_inside(image: Image) -> bool:
    """libxenguest unwraps a whole-file gzip (xc_dom_try_gunzip), never xz or lzop: the
    ELF inside those is GRUB's only."""
    return image.format not in GRUB_FILTERS[1:]


def xen_elf(image: Image) -> ElfInfo | None:
    """The ELF libxenguest parses: in the file, in a whole-file gzip (xc_dom_try_gunzip),
    in a bzImage payload; not inside a whole-file xz or lzop, which only GRUB unwraps; and
    only when libelf's elf_init takes it (see libelf_init_error)."""
    elf = image.elf
    if elf is None or not xen_reads_inside(image):
        return None
    return None if libelf_init_error(image) else elf


def libelf_size(image: Image, layer: int) -> int:
    """The size libxenguest hands libelf: the file; a gzip's ISIZE (xc_dom_try_gunzip sizes
    its buffer by it); a payload's size trailer (the decoders' outsize), the payload itself
    when uncompressed (xg_dom_bzimageloader.c); what was decoded otherwise (LZO)."""
    info = image.layers[layer]
    if info.kind == "payload" and info.codec == UNCOMPRESSED and info.size is not None:
        return info.size
    if info.kind in ("gzip", "payload") and info.codec != "lzo" and info.size_trailer is not None:
        # xc_dom_check_gzip sizes the gunzip buffer (and the kernel) ISIZE + 16
        return info.size_trailer + (GUNZIP_SLACK if info.codec == "gzip" else 0)
    return layer_size(image, layer)


@_cached("elf-init")
def libelf_init_error(image: Image) -> str | None:
    """libelf's elf_init (libelf-loader.c, 4.17): the header tables must end inside the
    image, computed in 64 bits from the header's fields (the section count capped at
    size / 40, as elf_shdr_count does); its own message, else None."""
    elf = image.elf
    if elf is None or not xen_reads_inside(image):
        return None
    size = libelf_size(image, elf.layer)
    mask = 2**64 - 1
    phdr_end = (elf.phoff + elf.phentsize * elf.phnum) & mask
    if phdr_end > size:
        return f"ELF: phdr overflow (off {phdr_end:x} > size {size:x})"
    shdr_end = (elf.shoff + elf.shentsize * min(elf.shnum, size // 40)) & mask
    if shdr_end > size:
        return f"ELF: shdr overflow (off {shdr_end:x} > size {size:x})"
    return None


def _first(headers: list[MultibootHeader]) -> MultibootHeader | None:
    return min(headers, key=lambda h: h.offset) if headers else None


def grub_scan_limit(image: Image, version: int) -> int:
    """The last offset GRUB's multiboot scan tries in the layer it reads: it reads the
    first 8 KiB (MB1) or 32 KiB (MB2) and stops 12 or 16 bytes before the end of that."""
    return MULTIBOOT[version].scan_limit(layer_size(image, grub_layer(image)))


def grub_mb1(image: Image) -> MultibootHeader | None:
    """GRUB: 4-byte steps up to min(8192, size) - 12, magic plus a zero checksum."""
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 1)
    return _first([h for h in image.multiboot if h.version == 1 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset <= limit])  # fmt: skip


def qemu_mb1(image: Image) -> MultibootHeader | None:
    """QEMU: the raw file (no gzip), 4-byte steps below 8144."""
    layer = boot_layer(image)
    return _first([h for h in image.multiboot if h.version == 1 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset < QEMU_MB1_LIMIT])  # fmt: skip


def grub_mb2(image: Image, *, loader: bool = True) -> MultibootHeader | None:
    """GRUB: 8-byte steps up to min(32768, size) - 16; the loader (not grub-file) also
    needs architecture 0."""
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 2)
    return _first([h for h in image.multiboot if h.version == 2 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset <= limit
                   and (h.architecture == 0 or not loader)])  # fmt: skip


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


@_cached("qemu-rom-overlap")
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


def loadable_range(elf: ElfInfo) -> tuple[int, int] | None:
    """libelf's pstart/pend (elf_parse_binary): lowest p_paddr and highest p_paddr + p_memsz
    of the loadable PT_LOADs, the sum in uint64_t (it wraps)."""
    loads = [seg for seg in elf.segments if seg.loadable]
    if not loads:
        return None
    return min(s.paddr for s in loads), max((s.paddr + s.memsz) & (2**64 - 1) for s in loads)


@dataclass
class XenParse:
    """elf_xen_parse and its callers' view of one image, for PV (hvm=False) or PVH."""

    hvm: bool
    elf: ElfInfo
    source: str | None  # "PT_NOTE" | "SHT_NOTE" | "__xen_guest" | None
    notes: list[Note]
    scanned: bool  # a note area was walked (libelf's elf_note_start is valid)
    values: dict[int, Any] = field(default_factory=dict)  # by note type, last one wins
    loader: str = ""
    guest_os: str = ""
    xen_version: str = ""
    supported: int = 0
    required: int = 0
    unknown_required: list[str] = field(default_factory=list)
    unknown_supported: list[str] = field(default_factory=list)
    phys_entry: int | None = None  # after truncation to libelf's u32
    virt_base: int | None = None
    paddr_offset: int | None = None
    virt_entry: int | None = None
    p2m_base: int | None = None

    @property
    def found_pvh(self) -> bool:
        return self.hvm and self.phys_entry is not None


def _apply_features(parse: XenParse, text: str) -> None:
    from .xennotes import parse_features

    for feature in parse_features(text):
        bit = FEATURE_BITS.get(feature.name)
        if bit is None:
            target = parse.unknown_required if feature.required else parse.unknown_supported
            target.append(feature.name)
            continue
        parse.supported |= 1 << bit
        if feature.required:
            parse.required |= 1 << bit


# elf_strfmt's text for a string elf_strval cannot end inside the image (libelf-tools.c: it
# returns NULL there, without marking the image broken).
LIBELF_INVALID = "(invalid)"


def _features(text: str) -> Features:
    from .xennotes import parse_features

    return Features(text, tuple(parse_features(text)))


def _apply_note(parse: XenParse, note: Note) -> None:
    value = note.value
    if isinstance(value, str | Features) and ProblemCode.STRING_UNTERMINATED in note.problems:
        value = LIBELF_INVALID if isinstance(value, str) else _features(LIBELF_INVALID)
    parse.values[note.type] = value
    strings = {XenNote.LOADER: "loader", XenNote.GUEST_OS: "guest_os",
               XenNote.XEN_VERSION: "xen_version"}  # fmt: skip
    if note.type in strings and isinstance(value, str):
        setattr(parse, strings[XenNote(note.type)], value[:15])  # 16-byte buffers in libelf
    elif isinstance(value, Features):
        _apply_features(parse, value.text)
    elif isinstance(value, FeatureBits):
        parse.supported |= value.value
    elif isinstance(value, int):
        numbers = {XenNote.VIRT_BASE: "virt_base", XenNote.PADDR_OFFSET: "paddr_offset",
                   XenNote.ENTRY: "virt_entry", XenNote.INIT_P2M: "p2m_base"}  # fmt: skip
        if note.type in numbers:
            setattr(parse, numbers[XenNote(note.type)], value)
        elif note.type == XenNote.PHYS32_ENTRY:
            parse.phys_entry = value & UNSET_ADDR32
            if parse.phys_entry == UNSET_ADDR32:
                parse.phys_entry = None


def _apply_guest_string(parse: XenParse) -> None:
    assert parse.elf.xen_guest is not None
    for key, value in parse.elf.xen_guest.pairs:
        if key in ("LOADER", "GUEST_OS", "XEN_VER"):
            attr = {"LOADER": "loader", "GUEST_OS": "guest_os", "XEN_VER": "xen_version"}[key]
            setattr(parse, attr, value[:15])
        elif key == "FEATURES":
            _apply_features(parse, value)
        elif key in ("VIRT_BASE", "VIRT_ENTRY", "ELF_PADDR_OFFSET"):
            attr = {"VIRT_BASE": "virt_base", "VIRT_ENTRY": "virt_entry",
                    "ELF_PADDR_OFFSET": "paddr_offset"}[key]  # fmt: skip
            setattr(parse, attr, _strtoull(value))


def _strtoull(text: str) -> int:
    """C's strtoull(text, NULL, 0): the longest valid prefix, 0 if none."""
    text = text.strip()
    base, digits = 10, text
    if text[:2].lower() == "0x":
        base, digits = 16, text[2:]
    elif text.startswith("0") and len(text) > 1:
        base, digits = 8, text[1:]
    valid = "0123456789abcdef"[:base]
    prefix = ""
    for char in digits.lower():
        if char not in valid:
            break
        prefix += char
    return int(prefix, base) if prefix else 0


@_cached("xen")
def xen_parse(image: Image, hvm: bool) -> XenParse | None:
    """libelf's reading of the ELF that Xen's toolstack loads (inside gzip or a bzImage)."""
    elf = xen_elf(image)
    if elf is None:
        return None
    source = elf.xen_notes_from
    if hvm and source == "__xen_guest":  # a PVH parse never uses the legacy string
        source = None
    notes = elf.xen_notes if source in ("PT_NOTE", "SHT_NOTE") else []
    scanned = any(a.source == "SHT_NOTE" or a.offset != 0 for a in elf.note_areas)
    parse = XenParse(hvm, elf, source, notes, scanned)
    for note in notes:
        _apply_note(parse, note)
    if source == "__xen_guest":
        _apply_guest_string(parse)
    return parse


def xen_bounds(parse: XenParse) -> tuple[int, int, int] | None:
    """(kstart, kend, entry) as elf_xen_addr_calc_check computes them, or None without
    loadable segments (then kstart > kend and the check fails)."""
    span = loadable_range(parse.elf)
    if span is None:
        return None
    if parse.hvm:
        virt_base = paddr_offset = 0  # forced for PVH
        entry = parse.phys_entry if parse.phys_entry is not None else parse.elf.entry
    else:
        virt_base = parse.virt_base or 0
        if parse.paddr_offset is not None:
            paddr_offset = parse.paddr_offset
        else:
            paddr_offset = 0 if parse.source != "__xen_guest" else virt_base
        entry = parse.virt_entry if parse.virt_entry is not None else parse.elf.entry
    offset = (virt_base - paddr_offset) & (2**64 - 1)
    mask = 2**64 - 1
    return (span[0] + offset) & mask, (span[1] + offset) & mask, entry


@dataclass
class PvhEntry:
    """The outcome of a PVH note search by QEMU or rust-vmm."""

    entry: int | None = None
    note: Note | None = None
    error: str | None = None  # the loader's own error text when the search itself fails
    segment: Segment | None = None


def _pt_notes(elf: ElfInfo) -> list[tuple[Segment, Any]]:
    by_index = {seg.index: seg for seg in elf.segments}
    return [(by_index[a.index], a) for a in elf.note_areas if a.source == "PT_NOTE"]


@_cached("qemu-pvh")
def qemu_pvh(image: Image) -> PvhEntry:
    """QEMU's load_elf note search: every PT_NOTE, sizes padded to p_align, owner not
    checked; the entry read as u32 (ELF32) or u64 (ELF64) whatever descsz says. Program
    headers at sizeof(Phdr) steps: load_elf ignores e_phentsize."""
    found = PvhEntry()
    if image.elf is None or image.elf.layer != 0:
        return found
    elf = image.elf.packed_view()
    for segment, area in _pt_notes(elf):
        if segment.align == 0:
            return PvhEntry(error="SIGFPE: PT_NOTE p_align 0 divides by zero", segment=segment)
        for note in area.notes_by_align or []:
            if note.type == XenNote.PHYS32_ENTRY:
                width = 8 if elf.elf_class == 64 else 4
                raw = (note.desc + note.after)[:width]
                found = PvhEntry(int.from_bytes(raw, "little"), note, segment=segment)
                break
    return found


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@_cached("rust-vmm")
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
    for segment, area in _pt_notes(elf):
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


def xen_first_loader(image: Image) -> XenLoader:
    """The loader whose probe takes the image first: the binary loader's probe succeeds on
    any valid table in the first 8 KiB, ELF or bzImage or not."""
    return XenLoader.MULTIBOOT_BINARY if image.xen_bin_table else XenLoader.LATER


@_cached("xen-binary")
def xen_binary(image: Image) -> BinOutcome | None:
    """The binary loader's parse and compat check, when its probe finds a table."""
    table = image.xen_bin_table
    if table is None:
        return None
    # the kernel blob xl hands every loader: the file, or a whole-file gzip's content
    return parse_bin_table(table, libelf_size(image, table.layer), XEN_DEBIAN12_CAPS)
