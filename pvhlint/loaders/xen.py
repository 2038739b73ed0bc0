"""Xen's toolstack: libxenguest's loaders (xg_dom_binloader.c, xg_dom_bzimageloader.c,
xg_dom_elfloader.c) and libelf (xen/common/libelf/), Xen 4.17 (Debian 12) and 4.20 (Debian 13),
checked against the real library by tests/loaders' libxenguest probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..bzimage import FIELD_OFFSETS
from ..codecs import UNCOMPRESSED
from ..codecs.gzip import GUNZIP_SLACK
from ..model import ElfInfo, Image, Note, ProblemCode, XenBinTable
from ..profiles import Loader
from ..xenbin import FLAGS_MASK, FLAGS_REQUIRED, GUEST_TYPES, MASK32, PAE_MASK, PAE_SHIFT
from ..xennotes import FEATURE_BITS, FeatureBits, Features, XenNote, parse_features
from .common import UNSET_ADDR32, cached_fact, elf_big_endian, layer_size, unsupported_machine
from .common import bzimage_protocol_too_old as common_bzimage_protocol_too_old
from .grub import GRUB_FILTERS
from .outcome import Check, ErrorCode, LoaderError, Outcome, walk


class XenLoader(StrEnum):
    """libxenguest's loaders, in the order xc_dom_find_loader tries them: the first whose
    probe succeeds is the one that parses (and refuses or accepts) the image."""

    MULTIBOOT_BINARY = "multiboot-binary"
    LATER = "HVM-generic, Linux bzImage or ELF-generic"  # the ELF and bzImage rules' loaders


@dataclass(frozen=True)
class BinOutcome:
    """What xc_dom_parse_bin_kernel and xc_dom_compat_check make of the table."""

    guest_type: str | None  # set when the parse succeeds
    error: str | None  # the panic message when a check fails


def parse_bin_table(table: XenBinTable, image_size: int, xen_caps: str) -> BinOutcome:
    """xc_dom_parse_bin_kernel's checks in its order (uint32 fields, a size_t image size),
    then xc_dom_compat_check against the hypervisor's capabilities."""
    found = table.flags & FLAGS_MASK
    if found != FLAGS_REQUIRED:
        return BinOutcome(None, "xc_dom_parse_bin_kernel: xen_bin_image_table flags required "
                                f"0x{FLAGS_REQUIRED:08x} found 0x{found:08x}")  # fmt: skip
    if (table.header_addr < table.load_addr
            or table.offset < table.header_addr - table.load_addr):  # fmt: skip
        return BinOutcome(None, "xc_dom_parse_bin_kernel: Invalid header_addr.")
    start = (table.header_addr - table.offset) & MASK32
    load_end = table.load_end_addr or (start + image_size) & MASK32
    bss_end = table.bss_end_addr or load_end
    if start + image_size < load_end:
        return BinOutcome(None, "xc_dom_parse_bin_kernel: Invalid load_end_addr.")
    if bss_end < load_end:
        return BinOutcome(None, "xc_dom_parse_bin_kernel: Invalid bss_end_addr.")
    pae = (table.flags & PAE_MASK) >> PAE_SHIFT
    guest = GUEST_TYPES[pae]
    if pae == 3 and "xen-3.0-x86_32p" in xen_caps.split():
        guest = "xen-3.0-x86_32p"
    if guest not in xen_caps.split():
        return BinOutcome(guest, f"xc_dom_compat_check: guest type {guest} not supported by "
                                 "xen kernel, sorry")  # fmt: skip
    return BinOutcome(guest, None)


# Debian 12's libxenguest links zlib, liblzma and libzstd only (linux-boot.md §9).
XEN_DEBIAN12_CODECS = frozenset({"gzip", "xz", "lzma", "zstd", "lz4"})


# libxenguest's max_kernel_size (XC_DOM_DECOMPRESS_MAX, xenguest.h): a payload whose size
# trailer says more is refused before decoding ("kernel image too large"), or for gzip not
# inflated at all (xc_dom_check_gzip: "looks insane, skip gunzip").
XEN_DECOMPRESS_MAX = 1 << 30


# Debian 12's hypervisor capabilities (xl info xen_caps): built without CONFIG_PV32.
XEN_DEBIAN12_CAPS = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"


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


@cached_fact("elf-init")
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


@cached_fact("xen")
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


def xen_first_loader(image: Image) -> XenLoader:
    """The loader whose probe takes the image first: the binary loader's probe succeeds on
    any valid table in the first 8 KiB, ELF or bzImage or not."""
    return XenLoader.MULTIBOOT_BINARY if image.xen_bin_table else XenLoader.LATER


@cached_fact("xen-binary")
def xen_binary(image: Image) -> BinOutcome | None:
    """The binary loader's parse and compat check, when its probe finds a table."""
    table = image.xen_bin_table
    if table is None:
        return None
    # the kernel blob xl hands every loader: the file, or a whole-file gzip's content
    return parse_bin_table(table, libelf_size(image, table.layer), XEN_DEBIAN12_CAPS)


class XenError(ErrorCode):
    """libxenguest's and libelf's messages, as xl and the domain builder's log print them."""

    # --- conv-qemu: the elf-unsupported-machine, bzimage-protocol, bzimage-setup-sects codes
    PVH_ELF64_BIG_ENDIAN = "xc_dom_parse_hvm_kernel: ELF image is not 32bit"
    PVH_ELF32_BIG_ENDIAN = "an HVM firmware load, not PVH"  # no message: loaded as firmware
    PV_BIG_ENDIAN = "xc_dom_find_loader: no loader found"
    PV_UNKNOWN_MACHINE = "xc_dom_guest_type: unknown image type"  # "... type %d"
    BZIMAGE_PROTOCOL_TOO_OLD = "xc_dom_probe_bzimage_kernel: boot protocol too old"  # (%04x)
    BZIMAGE_SETUP_SECTS_ZERO = "xc_dom_probe_bzimage_kernel: unknown compression format"
    # --- end conv-qemu


# --- conv-qemu: checks of elf-unsupported-machine, bzimage-protocol and bzimage-setup-sects


def hvm_big_endian(image: Image) -> Iterator[LoaderError]:
    """HVM-generic loader (xg_dom_hvmloader.c), for a PVH domain: a big-endian ELF64 is
    refused by xc_dom_parse_hvm_kernel, a big-endian ELF32 loaded as firmware."""
    cause = unsupported_machine(image)
    if cause is not None and image.elf is not None and elf_big_endian(image):
        code = (XenError.PVH_ELF64_BIG_ENDIAN if image.elf.elf_class == 64
                else XenError.PVH_ELF32_BIG_ENDIAN)  # fmt: skip
        yield from _only(cause.error(code, Loader.XEN), "xen-pvh")


def bzimage_protocol_too_old(image: Image) -> Iterator[LoaderError]:
    """xc_dom_probe_bzimage_kernel (xg_dom_bzimageloader.c): hdr->version < 2.08."""
    cause = common_bzimage_protocol_too_old(image)
    if cause is not None:
        version = image.setup.version if image.setup is not None else 0
        for error in cause.error(XenError.BZIMAGE_PROTOCOL_TOO_OLD, Loader.XEN):
            yield replace(error, text=f"{error.code.text} ({version:04x})")


def bzimage_setup_sects_zero(image: Image) -> Iterator[LoaderError]:
    """xc_dom_probe_bzimage_kernel: the payload at (setup_sects + 1) * 512 + payload_offset,
    with no "0 means 4": for setup_sects 0, 2048 bytes too early, in no known format."""
    setup = image.setup
    if setup is None or setup.setup_sects != 0 or not setup.has_hdrs or setup.version < 0x208:
        return
    offset, size = FIELD_OFFSETS["setup_sects"]
    payload = setup.fields.get("payload_offset", 0)
    yield LoaderError(XenError.BZIMAGE_SETUP_SECTS_ZERO,
                      f"setup_sects 0 at {offset:#x}: Linux, GRUB and QEMU read 4, Xen reads 0 and "
                      f"looks for the payload at {512 + payload:#x}, 2048 bytes before "
                      f"{2560 + payload:#x} (libxenguest: \"xc_dom_probe_bzimage_kernel: unknown "
                      'compression format")', setup.layer, offset, size,
                      refuses=("xen-pvh", "xen-pv"))  # fmt: skip


def elf_machine(image: Image) -> Iterator[LoaderError]:
    """ELF-generic loader, for a PV domain: a big-endian ELF is no loader's (each probe
    fails); xc_dom_parse_elf_kernel's xc_dom_guest_type refuses a non-x86 e_machine."""
    cause = unsupported_machine(image)
    if cause is not None:
        code = XenError.PV_BIG_ENDIAN if elf_big_endian(image) else XenError.PV_UNKNOWN_MACHINE
        for error in _only(cause.error(code, Loader.XEN), "xen-pv"):
            machine = image.elf.machine if image.elf is not None else 0
            text = None if elf_big_endian(image) else f"{code.text} {machine}"
            yield replace(error, text=text)


def _only(errors: Iterator[LoaderError], target: str) -> Iterator[LoaderError]:
    """The errors narrowed to one target (a shared cause names both Xen targets)."""
    for error in errors:
        if target in error.refuses:
            yield replace(error, refuses=(target,))


CONV_QEMU_HVM_CHECKS: tuple[Check, ...] = (hvm_big_endian,)  # HVM-generic loader, first
CONV_QEMU_BZIMAGE_CHECKS: tuple[Check, ...] = (
    bzimage_protocol_too_old,  # xc_dom_probe_bzimage_kernel: version
    bzimage_setup_sects_zero,  # xc_dom_probe_bzimage_kernel: the payload's codec
)
CONV_QEMU_ELF_CHECKS: tuple[Check, ...] = (elf_machine,)  # ELF-generic loader, last
# --- end conv-qemu


# xc_dom_find_loader tries the loaders in order and the first whose probe succeeds parses:
# the binary loader's checks when its table is in the first 8 KiB, else the ELF loaders'
# (HVM-generic, Linux bzImage, ELF-generic), each list in the order libxenguest meets them.
BINARY_CHECKS: tuple[Check, ...] = ()
ELF_CHECKS: tuple[Check, ...] = (
    *CONV_QEMU_HVM_CHECKS,  # conv-qemu
    *CONV_QEMU_BZIMAGE_CHECKS,  # conv-qemu
    *CONV_QEMU_ELF_CHECKS,  # conv-qemu
)


def run(image: Image) -> Outcome:
    binary = xen_first_loader(image) is XenLoader.MULTIBOOT_BINARY
    return walk(image, Loader.XEN, BINARY_CHECKS if binary else ELF_CHECKS)
