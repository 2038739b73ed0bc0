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
from ..model import (
    EM_386,
    EM_ARM,
    EM_X86_64,
    FORMAT_DESCRIPTIONS,
    ElfInfo,
    Image,
    Note,
    ProblemCode,
    XenBinTable,
)
from ..profiles import Loader
from ..xenbin import (
    FLAGS_MASK,
    FLAGS_REQUIRED,
    GUEST_TYPES,
    MASK32,
    PAE_MASK,
    PAE_SHIFT,
    TABLE_SIZE,
)
from ..xennotes import (
    FEATURE_BITS,
    NOTE_KINDS,
    FeatureBits,
    Features,
    ValueKind,
    XenNote,
    numeric_value,
    parse_features,
)
from .common import (
    UNSET_ADDR32,
    cached_fact,
    elf_big_endian,
    layer_size,
    note_size,
    unsupported_machine,
)
from .common import bzimage_protocol_too_old as common_bzimage_protocol_too_old
from .grub import GRUB_FILTERS
from .outcome import Check, ErrorCode, LoaderError, Outcome, narrowed, walk


class XenLoader(StrEnum):
    """libxenguest's loaders, in the order xc_dom_find_loader tries them: the first whose
    probe succeeds is the one that parses (and refuses or accepts) the image."""

    MULTIBOOT_BINARY = "multiboot-binary"
    LATER = "HVM-generic, Linux bzImage or ELF-generic"  # the ELF and bzImage rules' loaders


XEN_TARGETS = ("xen-pvh", "xen-pv")
PV, PVH = ("xen-pv",), ("xen-pvh",)


class XenError(ErrorCode, targets=XEN_TARGETS):
    """libxenguest's and libelf's messages, as xl and the domain builder's log print them
    (libelf's "ERROR: " prefix left out). Where libxenguest prints nothing (probes are
    silent: xl says only "no loader found"; an ELF32 the HVM-generic loader takes boots
    as firmware), the text says what xl shows instead. An error refuses both Xen targets
    unless its member names one (PV, PVH)."""

    # xg_dom_binloader.c xc_dom_parse_bin_kernel, then xg_dom_boot.c xc_dom_compat_check
    BINARY_FLAGS = "xc_dom_parse_bin_kernel: xen_bin_image_table flags required"
    BINARY_HEADER_ADDR = "xc_dom_parse_bin_kernel: Invalid header_addr."
    BINARY_LOAD_END_ADDR = "xc_dom_parse_bin_kernel: Invalid load_end_addr."
    BINARY_BSS_END_ADDR = "xc_dom_parse_bin_kernel: Invalid bss_end_addr."
    BINARY_GUEST_TYPE = "xc_dom_compat_check: guest type not supported by xen kernel, sorry"
    BINARY_PV_ONLY = "(no error: the binary loader makes a PV guest type, never PVH)", PVH
    # xg_dom_bzimageloader.c xc_dom_probe_bzimage_kernel
    PAYLOAD_OFFSET_OVERFLOW = "xc_dom_probe_bzimage_kernel: payload offset overflow"
    PAYLOAD_LENGTH_OVERFLOW = "xc_dom_probe_bzimage_kernel: payload length overflow"
    PAYLOAD_TOO_SHORT = "xc_dom_probe_bzimage_kernel: unknown compression format"
    UNKNOWN_COMPRESSION = "xc_dom_probe_bzimage_kernel: unknown compression format"
    DECOMPRESS_UNAVAILABLE = "decompress support unavailable"  # xc_try_*_decode stubs
    KERNEL_TOO_LARGE = "kernel image too large"  # xg_dom_core.c xc_dom_kernel_check_size
    SIZE_TRAILER_MISMATCH = "xc_dom_probe_bzimage_kernel unable to decompress kernel"
    PAYLOAD_CORRUPT = "xc_dom_probe_bzimage_kernel unable to decompress kernel"
    PAYLOAD_UNDECODABLE = "xc_dom_probe_bzimage_kernel unable to decompress kernel"
    # libelf-loader.c elf_init, in every ELF probe
    ELF_PHDR_OVERFLOW = "ELF: phdr overflow"
    ELF_SHDR_OVERFLOW = "ELF: shdr overflow"
    # xg_dom_core.c xc_dom_find_loader: no probe takes the image
    NO_LOADER = "xc_dom_find_loader: no loader found"
    # libelf-dominfo.c elf_xen_parse_features fails the note walk (silently)
    FEATURE_UNKNOWN_REQUIRED = "xc_dom_find_loader: no loader found"
    # libelf-dominfo.c elf_xen_note_check (PV)
    PV_NO_NOTES = "Not a Xen-ELF image: No ELF notes or '__xen_guest' section found", PV
    PV_LOADER_GUEST_OS = "Will only load images built for the generic loader or Linux images", PV
    PV_XEN_VERSION = "Xen will only load images built for Xen v3.0", PV
    # libelf-dominfo.c elf_xen_addr_calc_check
    PV_PADDR_OFFSET = "ELF_PADDR_OFFSET set, VIRT_BASE unset", PV
    PVH_PADDR_OFFSET = "ELF_PADDR_OFFSET set, VIRT_BASE unset", PVH  # 4.17 only (b77ed96fce)
    PV_NO_LOADABLE_SEGMENT = "ELF start or entries are out of bounds", PV
    PV_ENTRY_OUT_OF_BOUNDS = "ELF start or entries are out of bounds", PV
    PV_P2M_OUT_OF_BOUNDS = "P->M table base is out of bounds", PV
    PHYS32_NO_LOADABLE_SEGMENT = "ELF start or entries are out of bounds", PVH
    PHYS32_OUT_OF_BOUNDS = "ELF start or entries are out of bounds", PVH
    # xg_dom_elfloader.c xc_dom_parse_elf_kernel
    FEATURE_DOM0_REQUIRED = ("xc_dom_parse_elf_kernel: Kernel does not support unprivileged "
                             "(DomU) operation")  # fmt: skip
    # xg_dom_elfloader.c xc_dom_guest_type; xg_dom_hvmloader.c for an ELF the PVH parse fails
    PHYS32_MISSING = "xc_dom_guest_type: image not capable of booting inside a HVM container", PVH
    PHYS32_MISSING_ELF64 = "xc_dom_parse_hvm_kernel: ELF image is not 32bit", PVH
    PHYS32_MISSING_ELF32 = "(no error: the HVM-generic loader boots it as HVM firmware)", PVH
    # xg_dom_boot.c xc_dom_compat_check: Debian 12's Xen has no 32-bit PV
    PV32_UNSUPPORTED = "xc_dom_compat_check: guest type not supported by xen kernel, sorry", PV

    # A big-endian ELF or an unknown e_machine (elf-unsupported-machine); the bzImage
    # header's version and setup_sects (bzimage-protocol, bzimage-setup-sects).
    PVH_ELF64_BIG_ENDIAN = "xc_dom_parse_hvm_kernel: ELF image is not 32bit", PVH
    PVH_ELF32_BIG_ENDIAN = "an HVM firmware load, not PVH", PVH  # no message: loaded as firmware
    PV_BIG_ENDIAN = "xc_dom_find_loader: no loader found", PV
    PV_UNKNOWN_MACHINE = "xc_dom_guest_type: unknown image type", PV  # "... type %d"
    BZIMAGE_PROTOCOL_TOO_OLD = "xc_dom_probe_bzimage_kernel: boot protocol too old"  # (%04x)
    BZIMAGE_SETUP_SECTS_ZERO = "xc_dom_probe_bzimage_kernel: unknown compression format"


@dataclass(frozen=True)
class BinOutcome:
    """What xc_dom_parse_bin_kernel and xc_dom_compat_check make of the table."""

    guest_type: str | None  # set when the parse succeeds
    error: XenError | None = None  # the check that fails
    text: str | None = None  # its panic message


def parse_bin_table(table: XenBinTable, image_size: int, xen_caps: str) -> BinOutcome:
    """xc_dom_parse_bin_kernel's checks in its order (uint32 fields, a size_t image size),
    then xc_dom_compat_check against the hypervisor's capabilities."""
    found = table.flags & FLAGS_MASK
    if found != FLAGS_REQUIRED:
        return BinOutcome(None, XenError.BINARY_FLAGS, f"{XenError.BINARY_FLAGS.text} "
                          f"0x{FLAGS_REQUIRED:08x} found 0x{found:08x}")  # fmt: skip
    if (table.header_addr < table.load_addr
            or table.offset < table.header_addr - table.load_addr):  # fmt: skip
        return _bin_error(XenError.BINARY_HEADER_ADDR)
    start = (table.header_addr - table.offset) & MASK32
    load_end = table.load_end_addr or (start + image_size) & MASK32
    bss_end = table.bss_end_addr or load_end
    if start + image_size < load_end:
        return _bin_error(XenError.BINARY_LOAD_END_ADDR)
    if bss_end < load_end:
        return _bin_error(XenError.BINARY_BSS_END_ADDR)
    pae = (table.flags & PAE_MASK) >> PAE_SHIFT
    guest = GUEST_TYPES[pae]
    if pae == 3 and "xen-3.0-x86_32p" in xen_caps.split():
        guest = "xen-3.0-x86_32p"
    if guest not in xen_caps.split():
        return BinOutcome(guest, XenError.BINARY_GUEST_TYPE, compat_refusal(guest))
    return BinOutcome(guest)


def _bin_error(code: XenError) -> BinOutcome:
    return BinOutcome(None, code, code.text)


def compat_refusal(guest: str) -> str:
    """xc_dom_compat_check's panic for a guest type the hypervisor lacks."""
    return f"xc_dom_compat_check: guest type {guest} not supported by xen kernel, sorry"


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
def libelf_init_error(image: Image) -> tuple[XenError, str] | None:
    """libelf's elf_init (libelf-loader.c, 4.17): the header tables must end inside the
    image, computed in 64 bits from the header's fields (the section count capped at
    size / 40, as elf_shdr_count does); the failure and its own message, else None."""
    elf = image.elf
    if elf is None or not xen_reads_inside(image):
        return None
    size = libelf_size(image, elf.layer)
    mask = 2**64 - 1
    phdr_end = (elf.phoff + elf.phentsize * elf.phnum) & mask
    if phdr_end > size:
        return XenError.ELF_PHDR_OVERFLOW, f"ELF: phdr overflow (off {phdr_end:x} > size {size:x})"
    shdr_end = (elf.shoff + elf.shentsize * min(elf.shnum, size // 40)) & mask
    if shdr_end > size:
        return XenError.ELF_SHDR_OVERFLOW, f"ELF: shdr overflow (off {shdr_end:x} > size {size:x})"
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


def _in_buffer(note: Note, size: int) -> Note:
    """A numeric note whose descriptor runs past the data but not past libxenguest's buffer
    (a gunzipped kernel has 16 zero bytes after its data: xc_dom_check_gzip) reads zeros
    there (measured: Xen reads PHYS32_ENTRY 0x100000 from 4 bytes and 4 of slack)."""
    kind = NOTE_KINDS.get(note.type)
    short = len(note.desc) < note.descsz and note.desc_offset + note.descsz <= size
    if kind is None or kind.kind != ValueKind.NUMBER or not short:
        return note
    return replace(note, value=numeric_value(note.desc.ljust(note.descsz, b"\0"), note.descsz))


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
    size = libelf_size(image, elf.layer)
    for note in notes:
        _apply_note(parse, _in_buffer(note, size))
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


# --- The multiboot-binary loader (xg_dom_binloader.c) ------------------------------------


def binary_table_refused(image: Image) -> Iterator[LoaderError]:
    """xc_dom_parse_bin_kernel's checks, then xc_dom_compat_check (parse_bin_table)."""
    outcome, table = xen_binary(image), image.xen_bin_table
    if outcome is None or table is None or outcome.error is None:
        return
    yield LoaderError(outcome.error, "libxenguest's multiboot-binary loader takes this image "
                      "(its table is the first thing xl looks for) and refuses it: "
                      f'"{outcome.text}"',
                      table.layer, table.offset, TABLE_SIZE, XEN_TARGETS,
                      outcome.text)  # fmt: skip


def binary_pv_only(image: Image) -> Iterator[LoaderError]:
    """A table the binary loader takes makes a PV guest type (xc_dom_parse_bin_kernel sets
    it from the PAE bits), never an HVM container's: no PVH entry is ever read."""
    outcome, table = xen_binary(image), image.xen_bin_table
    if outcome is None or table is None or outcome.error is not None:
        return
    yield LoaderError(XenError.BINARY_PV_ONLY, "libxenguest's multiboot-binary loader takes "
                      f"this image as a PV guest ({outcome.guest_type}), never as PVH: xl's "
                      "type=pvh gets no PVH kernel and any Xen ELF notes are not read",
                      table.layer, table.offset, TABLE_SIZE, ("xen-pvh",))  # fmt: skip


# --- The Linux bzImage loader's probe (xg_dom_bzimageloader.c) -----------------------------


def bzimage_payload_bounds(image: Image) -> Iterator[LoaderError]:
    """xc_dom_probe_bzimage_kernel: the payload must start and end inside the file, and
    hold a compression magic (a payload under 8 bytes fails check_magic or its decoder)."""
    setup = image.setup
    if setup is None:
        return
    start = setup.pm_offset + setup.fields.get("payload_offset", 0)
    length = setup.fields.get("payload_length", 0)
    layer, end = setup.layer, layer_size(image, setup.layer)
    for problem in image.problems:
        if problem.code == ProblemCode.PAYLOAD_OFFSET_OVERFLOW:
            at, size = FIELD_OFFSETS["payload_offset"]
            yield LoaderError(XenError.PAYLOAD_OFFSET_OVERFLOW,
                              f"payload_offset puts the payload at {start:#x}, at or past the end "
                              f"of the file ({end:#x}) (libxenguest: "
                              '"xc_dom_probe_bzimage_kernel: payload offset overflow")', layer,
                              at, size, XEN_TARGETS)  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_LENGTH_OVERFLOW:
            at, size = FIELD_OFFSETS["payload_length"]
            yield LoaderError(XenError.PAYLOAD_LENGTH_OVERFLOW,
                              f"payload [{start:#x}, {start + length:#x}) runs past the end of the "
                              f"file ({end:#x}) (libxenguest: \"xc_dom_probe_bzimage_kernel: "
                              'payload length overflow")', layer, at, size,
                              XEN_TARGETS)  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_TOO_SHORT:
            at, size = FIELD_OFFSETS["payload_length"]
            yield LoaderError(XenError.PAYLOAD_TOO_SHORT,
                              f"payload_length {length} cannot hold a compressed kernel and its "
                              "4-byte size trailer (libxenguest: \"xc_dom_probe_bzimage_kernel: "
                              'unknown compression format", or the decoder fails)', layer, at,
                              size, XEN_TARGETS)  # fmt: skip


def bzimage_unknown_codec(image: Image) -> Iterator[LoaderError]:
    """xc_dom_probe_bzimage_kernel's check_magic chain: no decoder's magic matches."""
    for problem in image.problems:
        if problem.code != ProblemCode.UNKNOWN_CODEC:
            continue
        at = f" at {problem.offset:#x}" if problem.offset is not None else ""
        starts = problem.message.partition("(starts ")[2].rstrip(")")
        what = f" starts {starts}," if starts else ""
        yield LoaderError(XenError.UNKNOWN_COMPRESSION,
                          f"payload{at}{what} no known compression magic (libxenguest: "
                          '"xc_dom_probe_bzimage_kernel: unknown compression format")',
                          problem.layer, problem.offset, 6, XEN_TARGETS)  # fmt: skip


def bzimage_codec_unavailable(image: Image) -> Iterator[LoaderError]:
    """The decoder the magic picks is a stub in Debian 12's build (xc_try_bzip2_decode,
    xc_try_lzo1x_decode without their libraries)."""
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if payload is None or payload.codec in (None, UNCOMPRESSED, *XEN_DEBIAN12_CODECS):
        return  # an uncompressed ELF payload is parsed by Xen's ELF loader
    upper = payload.codec.upper()
    function = {"bzip2": "xc_try_bzip2_decode", "lzo": "xc_try_lzo1x_decode"}[payload.codec]
    said = f"{function}: {upper} decompress support unavailable"
    yield LoaderError(XenError.DECOMPRESS_UNAVAILABLE,
                      f'{payload.codec} payload: Debian 12\'s Xen says "{said}"',
                      payload.parent or 0, payload.offset, payload.size, XEN_TARGETS,
                      said)  # fmt: skip


# Codecs whose libxenguest decoder sizes its output by the trailer (LZO adds up its blocks).
TRAILER_SIZED = ("gzip", "bzip2", "lzma", "xz", "zstd", "lz4")
ONE_CALL = ("xz", "lzma", "bzip2")  # _xc_try_lzma_decode, xc_try_bzip2_decode


@dataclass(frozen=True)
class PayloadDecode:
    """What libxenguest's decoder makes of a payload whose trailer or stream is wrong: a
    refusal (`code`), or a payload it takes all the same (`code` None)."""

    code: XenError | None
    detail: str
    layer: int
    offset: int | None
    length: int | None
    text: str | None = None


def _decode_failure(image: Image) -> str:
    """The decoder's message for a payload that does not decode to the trailer's size."""
    codecs = [layer.codec for layer in image.layers if layer.kind == "payload" and layer.codec]
    if codecs and codecs[0] == "gzip":
        return "xc_dom_do_gunzip: inflate failed (rc=-3)"
    name = codecs[0].upper() if codecs else "<CODEC>"
    return f"xc_dom_probe_bzimage_kernel unable to {name} decompress kernel"


def _xen_takes(codec: str | None, decoded: int | None, trailer: int | None) -> bool:
    """Whether libxenguest's decoder accepts a payload whose trailer is not its size."""
    if decoded is None or trailer is None:
        return False
    if codec in ONE_CALL:  # one decode call into a trailer-sized buffer
        return trailer < decoded
    return codec == "lz4" and trailer > decoded  # the blocks fit; the size is not compared


@cached_fact("xen-payload-decode")
def payload_decode(image: Image) -> tuple[PayloadDecode, ...]:
    """The decoders (xc_try_*_decode, xc_dom_try_gunzip): xc_dom_kernel_check_size on the
    trailer before a byte is read, then the stream against the trailer."""
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    trailer = payload.size_trailer if payload is not None else None
    if payload is not None and payload.codec in TRAILER_SIZED and trailer is not None \
            and trailer > XEN_DECOMPRESS_MAX:  # fmt: skip
        # xg_dom_bzimageloader.c: every decoder sizes its buffer by the trailer and first
        # asks xc_dom_kernel_check_size (1 GiB) before reading a byte of the stream.
        return (PayloadDecode(XenError.KERNEL_TOO_LARGE,
                              f"the size trailer says {trailer:#x} bytes, more than libxenguest's "
                              f'1 GiB limit ("kernel image too large"; libxenguest: '
                              f'"{_decode_failure(image)}")', payload.parent or 0,
                              (payload.offset or 0) + (payload.size or 4) - 4, 4,
                              XenError.KERNEL_TOO_LARGE.text),)  # fmt: skip
    found = []
    corrupt = any(problem.code == ProblemCode.PAYLOAD_CORRUPT for problem in image.problems)
    for problem in image.problems:
        if problem.code == ProblemCode.SIZE_TRAILER_MISMATCH and not corrupt:  # else a consequence
            takes = payload is not None and _xen_takes(payload.codec, payload.decoded_size,
                                                       trailer)  # fmt: skip
            said = (f"libxenguest takes the first {trailer:#x} bytes as the kernel"
                    if takes else f'libxenguest: "{_decode_failure(image)}"')  # fmt: skip
            found.append(PayloadDecode(None if takes else XenError.SIZE_TRAILER_MISMATCH,
                                       f"{problem.message}: the build's trailer no longer fits "
                                       f"the payload ({said})", problem.layer, problem.offset, 4,
                                       None if takes else _decode_failure(image)))  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_CORRUPT:
            layer = image.layers[problem.layer]
            inside = layer.kind == "payload"
            # one decode call into a trailer-sized buffer stops before damage past it
            before = (inside and layer.codec in ONE_CALL and layer.size_trailer is not None
                      and layer.size_trailer <= (layer.decoded_prefix or 0))  # fmt: skip
            refused = f'libxenguest: "{_decode_failure(image)}"'
            said = (f"libxenguest stops after the trailer's {layer.size_trailer:#x} bytes, "
                    "before the damage" if before else refused)  # fmt: skip
            found.append(PayloadDecode(None if before else XenError.PAYLOAD_CORRUPT,
                                       f"the payload does not decompress ({problem.message}) "
                                       f"({said})", layer.parent or 0 if inside else problem.layer,
                                       layer.offset if inside else problem.offset,
                                       layer.size if inside else None,
                                       None if before else _decode_failure(image)))  # fmt: skip
    return tuple(found)


def bzimage_decode_refused(image: Image) -> Iterator[LoaderError]:
    """The decoder refuses the payload (payload_decode)."""
    for decode in payload_decode(image):
        if decode.code is not None:
            yield LoaderError(decode.code, decode.detail, decode.layer, decode.offset,
                              decode.length, XEN_TARGETS, decode.text)  # fmt: skip


# --- The ELF probes (HVM-generic, the bzImage loader's elf_loader.probe, ELF-generic) -------


def elf_init_refused(image: Image) -> Iterator[LoaderError]:
    """libelf's elf_init, the first thing every ELF probe does (libelf_init_error)."""
    failure = libelf_init_error(image)  # None for an ELF inside a whole-file xz or lzop
    if failure is not None and image.elf is not None:
        code, said = failure
        yield LoaderError(code, f'libelf\'s elf_init refuses the ELF: "{said}", so xl says '
                          '"xc_dom_find_loader: no loader found"', image.elf.layer, 0,
                          refuses=XEN_TARGETS, text=said)  # fmt: skip


# Problems whose own checks (above, and bzimage-protocol's) say why the bzImage probe stops.
PROBE_EXPLAINED = {
    ProblemCode.PAYLOAD_OFFSET_OVERFLOW,
    ProblemCode.PAYLOAD_LENGTH_OVERFLOW,
    ProblemCode.PAYLOAD_TOO_SHORT,
    ProblemCode.UNKNOWN_CODEC,
}


def no_loader_found(image: Image) -> Iterator[LoaderError]:
    """xc_dom_find_loader: no probe takes the image, for a reason no earlier check names
    (not an ELF, a payload that is not one, or does not decompress)."""
    if xen_elf(image) is not None or (image.elf is not None and libelf_init_error(image)):
        return  # elf_init_refused says why libelf refuses it
    setup = image.setup
    codes = {problem.code for problem in image.problems}
    if setup is not None and setup.has_hdrs and (setup.version < 0x208
                                                 or codes & PROBE_EXPLAINED):  # fmt: skip
        return  # bzimage-protocol, bzimage_payload_bounds, bzimage_unknown_codec
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if ProblemCode.PAYLOAD_CORRUPT in codes and payload is not None and payload.codec:
        said = f"xc_dom_probe_bzimage_kernel unable to {payload.codec.upper()} decompress kernel"
        yield LoaderError(XenError.PAYLOAD_UNDECODABLE,
                          f'the {payload.codec} payload does not decompress: Xen says "{said}"',
                          payload.parent or 0, payload.offset, payload.size, XEN_TARGETS,
                          said)  # fmt: skip
        return
    what = FORMAT_DESCRIPTIONS.get(image.format, image.format)
    if image.has_problem(ProblemCode.GZIP_NO_KERNEL):
        what = "what the gzip file unpacks to (xc_dom_try_gunzip unwraps one gzip layer)"
    yield LoaderError(XenError.NO_LOADER, f"Xen finds no ELF kernel in {what}: xl says "
                      '"xc_dom_find_loader: no loader found"', 0, 0,
                      refuses=XEN_TARGETS)  # fmt: skip


# --- libelf's elf_xen_parse (libelf-dominfo.c) and its callers -----------------------------


def feature_notes(image: Image) -> Iterator[tuple[Note, Features]]:
    """The FEATURES notes libelf parses, each with its list."""
    parse = xen_parse(image, False) or xen_parse(image, True)
    for note in parse.notes if parse is not None else []:
        if isinstance(note.value, Features):
            yield note, note.value


def _at_note(code: XenError, note: Note, detail: str, refuses: tuple[str, ...],
             text: str | None = None) -> LoaderError:  # fmt: skip
    return LoaderError(code, detail, note.layer, note.offset, note_size(note), refuses, text)


def _at_elf(code: XenError, elf: ElfInfo, detail: str, refuses: tuple[str, ...],
            text: str | None = None) -> LoaderError:  # fmt: skip
    """An error about the ELF as a whole, placed at its header."""
    return LoaderError(code, detail, elf.layer, 0, None, refuses, text)


def features_unknown_required(image: Image) -> Iterator[LoaderError]:
    """elf_xen_parse_note: elf_xen_parse_features fails on the first '!' name it does not
    know, and the note walk with it (silently: xl says only "no loader found")."""
    for note, features in feature_notes(image):
        for feature in features.features:
            if feature.bit is None and feature.required:
                yield _at_note(XenError.FEATURE_UNKNOWN_REQUIRED, note,
                               f"FEATURES requires unknown feature {feature.name!r}: the parse "
                               "fails and Xen refuses the image", XEN_TARGETS)  # fmt: skip
                return


def pv_note_check(image: Image) -> Iterator[LoaderError]:
    """elf_xen_note_check for a PV guest: a note area or __xen_guest (x86 machines only:
    another e_machine without notes passes, to fail at xc_dom_guest_type), then LOADER or
    GUEST_OS, then XEN_VERSION."""
    parse = xen_parse(image, False)
    if parse is None:
        return
    if not parse.scanned and parse.source != "__xen_guest":
        if parse.elf.machine not in (EM_386, EM_X86_64):
            return  # elf_xen_note_check: no notes is an error for x86 kernels only
        yield _at_elf(XenError.PV_NO_NOTES, parse.elf, 'no ELF notes and no __xen_guest section: '
                      "Xen says \"Not a Xen-ELF image: No ELF notes or '__xen_guest' section "
                      'found"', PV)  # fmt: skip
        return
    if parse.elf.machine == EM_ARM:
        return  # "ELF: Not bothering with notes on ARM"
    if not parse.loader.startswith("generic") and not parse.guest_os.startswith("linux"):
        said = (
            "Will only load images built for the generic loader or Linux images (Not "
            f"'{parse.loader}' and '{parse.guest_os}') or with PHYS32_ENTRY set"
        )
        yield _at_elf(XenError.PV_LOADER_GUEST_OS, parse.elf, 'neither LOADER "generic" nor '
                      f'GUEST_OS "linux": Xen says "{said}"', PV, said)  # fmt: skip
    elif not parse.xen_version.startswith("xen-3.0"):
        said = f"Xen will only load images built for Xen v3.0 (Not '{parse.xen_version}')"
        yield _at_elf(XenError.PV_XEN_VERSION, parse.elf, f"XEN_VERSION is "
                      f'{parse.xen_version or "missing"!r}: Xen says "{said}"', PV,
                      said)  # fmt: skip


def pv_addr_calc_check(image: Image) -> Iterator[LoaderError]:
    """elf_xen_addr_calc_check for a PV guest: PADDR_OFFSET needs VIRT_BASE, the entry lies
    in [kstart, kend] with VIRT_BASE not above kstart, INIT_P2M outside the kernel."""
    parse = xen_parse(image, False)
    if parse is None:
        return
    if parse.paddr_offset is not None and parse.virt_base is None:
        yield _at_elf(XenError.PV_PADDR_OFFSET, parse.elf, 'PADDR_OFFSET without VIRT_BASE: Xen '
                      'says "ELF_PADDR_OFFSET set, VIRT_BASE unset"', PV)  # fmt: skip
        return
    bounds = xen_bounds(parse)
    if bounds is None:
        yield _at_elf(XenError.PV_NO_LOADABLE_SEGMENT, parse.elf, "no loadable PT_LOAD: Xen "
                      'says "ELF start or entries are out of bounds"', PV)  # fmt: skip
        return
    kstart, kend, entry = bounds
    virt_base = parse.virt_base or 0
    if kstart > kend or not kstart <= entry <= kend or virt_base > kstart:
        yield _at_elf(XenError.PV_ENTRY_OUT_OF_BOUNDS, parse.elf,
                      f"entry {entry:#x} (ENTRY, else e_entry) against the kernel's virtual "
                      f"range [{kstart:#x}, {kend:#x}] and VIRT_BASE {virt_base:#x}: Xen says "
                      '"ELF start or entries are out of bounds"', PV)  # fmt: skip
    elif parse.p2m_base is not None and kstart <= parse.p2m_base < kend:
        yield _at_elf(XenError.PV_P2M_OUT_OF_BOUNDS, parse.elf,
                      f"INIT_P2M {parse.p2m_base:#x} lies inside the kernel [{kstart:#x}, "
                      f'{kend:#x}): Xen says "P->M table base is out of bounds"', PV)  # fmt: skip


def pvh_paddr_offset(image: Image) -> Iterator[LoaderError]:
    """elf_xen_addr_calc_check's first test, for PVH too in Xen 4.17 only: xen.git
    b77ed96fce (in 4.18) limits it to PV guests."""
    parse = xen_parse(image, True)
    if parse is None or parse.paddr_offset is None or parse.virt_base is not None:
        return
    note = [n for n in parse.notes if n.type == XenNote.PADDR_OFFSET][-1]
    seen = ('"xc_dom_parse_hvm_kernel: ELF image is not 32bit"' if parse.elf.elf_class == 64
            else "an HVM firmware load instead of PVH")  # fmt: skip
    yield _at_note(XenError.PVH_PADDR_OFFSET, note,
                   'PADDR_OFFSET without VIRT_BASE: Xen 4.17 fails the parse ("ELF_PADDR_OFFSET '
                   f'set, VIRT_BASE unset") and xl shows {seen}; Xen 4.18+ (b77ed96fce) checks it '
                   'for PV only: 4.20 says "Found PVH image"', ("xen-pvh@4.17",))  # fmt: skip


def phys32_bounds(image: Image) -> Iterator[LoaderError]:
    """elf_xen_addr_calc_check for PVH: the entry (PHYS32_ENTRY, as libelf's u32) inside
    [pstart, pend] of the loadable segments."""
    parse = xen_parse(image, True)
    if parse is None or parse.phys_entry is None:
        return
    note = [n for n in parse.notes if n.type == XenNote.PHYS32_ENTRY][-1]
    entry, span = parse.phys_entry, loadable_range(parse.elf)
    if span is None:
        yield _at_note(XenError.PHYS32_NO_LOADABLE_SEGMENT, note, "no loadable PT_LOAD segment: "
                       'Xen says "ELF start or entries are out of bounds"', PVH)  # fmt: skip
    elif not span[0] <= entry <= span[1]:
        yield _at_note(XenError.PHYS32_OUT_OF_BOUNDS, note,
                       f"XEN_ELFNOTE_PHYS32_ENTRY {entry:#x} is outside the loaded physical "
                       f'range [{span[0]:#x}, {span[1]:#x}]: Xen says "ELF start or entries are '
                       'out of bounds"', PVH)  # fmt: skip


def features_dom0_required(image: Image) -> Iterator[LoaderError]:
    """xc_dom_parse_elf_kernel, after elf_xen_parse: a kernel that requires dom0."""
    for note, features in feature_notes(image):
        for feature in features.features:
            if feature.bit is not None and feature.name == "dom0" and feature.required:
                yield _at_note(XenError.FEATURE_DOM0_REQUIRED, note, 'FEATURES requires dom0: '
                               'Xen says "Kernel does not support unprivileged (DomU) '
                               'operation"', XEN_TARGETS)  # fmt: skip


def phys32_missing(image: Image) -> Iterator[LoaderError]:
    """xc_dom_guest_type in an HVM container without PHYS32_ENTRY; without Xen notes the
    PVH parse fails and the HVM-generic loader takes the ELF (xg_dom_hvmloader.c)."""
    elf = xen_elf(image)
    parse = xen_parse(image, True)
    if elf is None or parse is None or parse.phys_entry is not None:
        return  # no_loader_found explains images Xen cannot open at all
    if parse.notes:
        code, detail = (
            XenError.PHYS32_MISSING,
            (
                "no usable XEN_ELFNOTE_PHYS32_ENTRY among the Xen notes: Xen says "
                '"xc_dom_guest_type: image not capable of booting inside a HVM container"'
            ),
        )
    elif elf.elf_class == 64:
        code, detail = (
            XenError.PHYS32_MISSING_ELF64,
            (
                'no Xen notes Xen can use for PVH: Xen says "xc_dom_parse_hvm_kernel: ELF image '
                'is not 32bit"'
            ),
        )
    else:
        code, detail = (
            XenError.PHYS32_MISSING_ELF32,
            (
                "no Xen notes Xen can use for PVH: Xen loads this ELF32 as an HVM firmware image "
                "(hvm-3.0-x86_32), not as a PVH kernel"
            ),
        )
    if elf.notes_of_type(XenNote.PHYS32_ENTRY):
        detail += " (the PHYS32_ENTRY note present reads as unset, all-ones)"
    yield _at_elf(code, elf, detail, PVH)


def pv32_compat_check(image: Image) -> Iterator[LoaderError]:
    """xc_dom_guest_type picks the guest type by e_machine; xc_dom_compat_check refuses a
    32-bit one on a hypervisor without 32-bit PV (Debian 12's, CONFIG_PV32 off)."""
    parse = xen_parse(image, False)
    if parse is None or parse.elf.machine != EM_386:
        return
    guest = "xen-3.0-x86_32p" if parse.values.get(9) in ("yes", "bimodal") else "xen-3.0-x86_32"
    said = compat_refusal(guest)
    yield _at_elf(XenError.PV32_UNSUPPORTED, parse.elf, "a 32-bit PV guest: Debian 12's Xen "
                  f'(CONFIG_PV32 off) says "{said}"', PV, said)  # fmt: skip


# --- The ELF's machine and the bzImage header: causes Xen shares with QEMU and GRUB


def hvm_big_endian(image: Image) -> Iterator[LoaderError]:
    """HVM-generic loader (xg_dom_hvmloader.c), for a PVH domain: a big-endian ELF64 is
    refused by xc_dom_parse_hvm_kernel, a big-endian ELF32 loaded as firmware."""
    cause = unsupported_machine(image)
    if cause is not None and image.elf is not None and elf_big_endian(image):
        code = (XenError.PVH_ELF64_BIG_ENDIAN if image.elf.elf_class == 64
                else XenError.PVH_ELF32_BIG_ENDIAN)  # fmt: skip
        yield from narrowed(cause.error(code, Loader.XEN), "xen-pvh")


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
                      refuses=XEN_TARGETS)  # fmt: skip


def _elf_machine(image: Image) -> Iterator[LoaderError]:
    """ELF-generic loader, for a PV domain: a big-endian ELF is no loader's (each probe
    fails); xc_dom_parse_elf_kernel's xc_dom_guest_type refuses a non-x86 e_machine."""
    cause = unsupported_machine(image)
    if cause is not None:
        code = XenError.PV_BIG_ENDIAN if elf_big_endian(image) else XenError.PV_UNKNOWN_MACHINE
        for error in narrowed(cause.error(code, Loader.XEN), "xen-pv"):
            machine = image.elf.machine if image.elf is not None else 0
            text = None if elf_big_endian(image) else f"{code.text} {machine}"
            yield replace(error, text=text)


def pv_big_endian(image: Image) -> Iterator[LoaderError]:
    """The ELF-generic probe refuses a big-endian ELF: xl finds no loader."""
    yield from (e for e in _elf_machine(image) if e.code is XenError.PV_BIG_ENDIAN)


def pv_unknown_machine(image: Image) -> Iterator[LoaderError]:
    """xc_dom_parse_elf_kernel: xc_dom_guest_type knows only EM_386 and EM_X86_64."""
    yield from (e for e in _elf_machine(image) if e.code is XenError.PV_UNKNOWN_MACHINE)


# xc_dom_find_loader tries the loaders in order and the first whose probe succeeds parses:
# the binary loader's checks when its table is in the first 8 KiB, else the ELF loaders'
# (HVM-generic, Linux bzImage, ELF-generic), each list in the order libxenguest meets them.
BINARY_CHECKS: tuple[Check, ...] = (
    binary_table_refused,  # xc_dom_parse_bin_kernel, then xc_dom_compat_check
    binary_pv_only,  # the guest type xc_dom_parse_bin_kernel sets: PV, never HVM
)
ELF_CHECKS: tuple[Check, ...] = (
    hvm_big_endian,  # the HVM-generic loader, tried before the bzImage loader (PVH only)
    # xc_dom_probe_bzimage_kernel, in its order
    bzimage_protocol_too_old,  # hdr->version < 2.08
    bzimage_payload_bounds,  # payload offset, payload length; too short for check_magic
    bzimage_setup_sects_zero,  # the payload read 2048 bytes early: no codec's magic
    bzimage_unknown_codec,  # check_magic matches no decoder
    bzimage_codec_unavailable,  # xc_try_bzip2_decode / xc_try_lzo1x_decode stubs
    bzimage_decode_refused,  # xc_dom_kernel_check_size, then the decoder
    # elf_loader.probe (and the HVM-generic and ELF-generic probes): elf_init
    elf_init_refused,
    no_loader_found,  # xc_dom_find_loader: no probe took it
    pv_big_endian,  # the ELF-generic probe refuses a big-endian ELF (PV)
    # elf_xen_parse: the note walk (elf_xen_parse_notes, elf_xen_parse_note)
    features_unknown_required,
    pv_note_check,  # elf_xen_note_check
    # elf_xen_addr_calc_check, in its order
    pvh_paddr_offset,  # ELF_PADDR_OFFSET without VIRT_BASE (PVH: 4.17 only)
    pv_addr_calc_check,  # the same for PV, then the bounds, then INIT_P2M
    phys32_bounds,  # the bounds, PVH's entry
    # xc_dom_parse_elf_kernel, after elf_xen_parse
    features_dom0_required,
    pv_unknown_machine,  # xc_dom_guest_type: e_machine (PV)
    phys32_missing,  # xc_dom_guest_type (or the HVM-generic loader)
    pv32_compat_check,  # xc_dom_parse_image: xc_dom_compat_check
)


def run(image: Image) -> Outcome:
    binary = xen_first_loader(image) is XenLoader.MULTIBOOT_BINARY
    return walk(image, Loader.XEN, BINARY_CHECKS if binary else ELF_CHECKS)
