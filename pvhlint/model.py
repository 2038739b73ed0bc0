"""The image model: everything `open_image` finds, with the layer and byte offset of each.

Offsets are always relative to the start of the layer named by `layer`
(an index into `Image.layers`). Problems are recorded, never raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any


class ProblemCode(StrEnum):
    """What the reader found malformed. Every code is read by a rule, a loader fact or the
    fixer, or only shown by `inspect` (SHOWN_ONLY in tests/test_model_types.py, which checks)."""

    # the image (Image.problems)
    ELF_CLASS = "elf-class"
    BIG_ENDIAN = "big-endian"
    UNSUPPORTED_MACHINE = "unsupported-machine"
    PHDRS_PAST_EOF = "phdrs-past-eof"
    BAD_SECTION_HEADERS = "bad-section-headers"
    NOTE_SEGMENT_AT_ZERO = "note-segment-at-zero"
    TOO_MANY_NOTES = "too-many-notes"
    PAYLOAD_CORRUPT = "payload-corrupt"
    PAYLOAD_OFFSET_OVERFLOW = "payload-offset-overflow"
    PAYLOAD_LENGTH_OVERFLOW = "payload-length-overflow"
    PAYLOAD_TOO_SHORT = "payload-too-short"
    UNKNOWN_CODEC = "unknown-codec"
    SIZE_TRAILER_MISMATCH = "size-trailer-mismatch"
    PAYLOAD_NOT_ELF = "payload-not-elf"
    ELF_HEADER_UNREADABLE = "elf-header-unreadable"  # the ELF magic, no header behind it
    GZIP_NO_KERNEL = "gzip-no-kernel"  # a whole-file gzip that holds no kernel
    # the image, a note, or a multiboot header: data ends before the structure does
    TRUNCATED = "truncated"
    # a note (Note.problems)
    DESC_PAST_SEGMENT = "desc-past-segment"
    BAD_ALIGNMENT = "bad-alignment"
    OWNER_NOT_XEN = "owner-not-xen"
    OWNER_NOT_EXACT = "owner-not-exact"
    STRING_UNTERMINATED = "string-unterminated"
    STRING_NOT_IN_DESC = "string-not-in-desc"
    # a multiboot 2 header (MultibootHeader.problems)
    TOO_MANY_TAGS = "too-many-tags"
    MALFORMED_TAG = "malformed-tag"
    LENGTH_MISMATCH = "length-mismatch"
    TAGS_PAST_LENGTH = "tags-past-length"
    MISSING_END_TAG = "missing-end-tag"


@dataclass
class Problem:
    """Something malformed the reader found while building the model; rules turn these into
    findings. The words for "something wrong", one a kind, layer by layer:

    - Problem (its ProblemCode): what the reader found malformed. Image.problems carry a
      message and a place; a Note's or MultibootHeader's `problems` are codes only (the
      place is the note's or header's own).
    - Hit (pvhlint.rule): what a rule's check yields: a message, a place, the targets whose
      loaders refuse for it.
    - Finding (pvhlint.rule): a Hit as shown, with its rule id and severity.
    - A loader's own refusal, in its words: `LoaderError` (pvhlint.loaders.outcome; also
      PvhEntry.error in loaders/common.py and BinOutcome.error in loaders/xen.py).
    """

    code: ProblemCode
    message: str
    layer: int
    offset: int | None = None


@dataclass
class Layer:
    """One view of the bytes: the file, a decompressed gzip, a bzImage payload, an ELF."""

    index: int
    kind: str  # "file" | "gzip" | "xz" | "lzo" | "payload" | ".linux" (a UKI's kernel section)
    format: str  # "elf32" | "elf64" | "bzimage" | "flat" | "gzip" | "pe" | "payload"
    parent: int | None
    offset: int  # where this layer's bytes start in the parent layer
    size: int | None  # bytes the layer occupies in its parent (the compressed size)
    codec: str | None = None
    decoded_size: int | None = None  # None while only a prefix has been decoded
    decoded_prefix: int = 0  # bytes decoded so far: the layer holds at least these
    size_trailer: int | None = None  # the decompressed size the build appended
    # A whole-file gzip: how far GRUB's gzio can read it (codecs.gzip.grub_gzio_end): to the
    # deflate stream's last block, trailer or not, or, past a cut, to the 32 KiB window where
    # its inflate of stale input fails. None: no limit within what GRUB reads, or not known
    # (decoded only in part); loaders/grub.py grub_file.
    gzio_end: int | None = None


@dataclass
class Segment:
    index: int
    type: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: int
    align: int

    @property
    def type_name(self) -> str:
        return PT_NAMES.get(self.type, f"{self.type:#x}")

    @property
    def executable(self) -> bool:
        return bool(self.flags & 1)

    @property
    def loadable(self) -> bool:
        # libelf's elf_phdr_is_loadable: PT_LOAD with any of R/W/X.
        return self.type == PT_LOAD and bool(self.flags & 7)


@dataclass
class Section:
    index: int
    name: str
    type: int
    offset: int
    size: int
    addr: int
    flags: int
    link: int = 0


@dataclass
class Note:
    """One ELF note exactly as found; `value` is what Xen's libelf makes of it."""

    layer: int
    offset: int  # of the note header
    namesz: int
    descsz: int
    type: int
    owner: bytes  # the namesz bytes (clipped to the layer)
    desc: bytes  # the descsz bytes (clipped to the layer)
    desc_offset: int
    is_xen: bool  # libelf's test: strcmp(name, "Xen") == 0
    # The 4 bytes after the descriptor: what QEMU reads as the high half of an ELF64
    # PHYS32_ENTRY whose descriptor holds only 4 bytes.
    after: bytes = b""
    name: str | None = None  # XEN_ELFNOTE_* for Xen notes
    value: Any = None  # int | str | xennotes.NoteValue | None
    problems: list[ProblemCode] = field(default_factory=list)

    @property
    def owner_name(self) -> str:
        """The owner as the C string loaders compare (up to its first NUL)."""
        return self.owner.split(b"\0", 1)[0].decode("latin-1")


@dataclass
class NoteArea:
    """A PT_NOTE segment or SHT_NOTE section, walked with 4-byte padding (libelf)
    and with the segment's p_align (QEMU pads to p_align; rust-vmm pads by 4)."""

    layer: int
    source: str  # "PT_NOTE" | "SHT_NOTE"
    index: int
    offset: int
    size: int
    align: int
    name: str | None  # section name, when known
    notes: list[Note]
    notes_by_align: list[Note] | None  # None when p_align is 0 (QEMU divides by it)
    # QEMU's own search (get_elf_note_type): the PHYS32_ENTRY note it stops at, if any; it
    # may lie past the segment's end (None for a section, or p_align 0).
    qemu_pvh_note: Note | None = None


@dataclass
class XenGuestString:
    """The legacy `__xen_guest` section: KEY=VALUE pairs, comma separated."""

    layer: int
    offset: int
    text: str
    pairs: list[tuple[str, str]]


@dataclass
class ElfInfo:
    layer: int
    elf_class: int  # 32 | 64
    machine: int
    type: int
    flags: int
    entry: int
    phoff: int
    shoff: int
    phentsize: int  # the stride this reading used: e_phentsize, or sizeof(Phdr) when packed
    shentsize: int
    segments: list[Segment]
    sections: list[Section] | None  # None when not read (they sit at the end of the file)
    note_areas: list[NoteArea]
    xen_notes_from: str | None  # "PT_NOTE" | "SHT_NOTE" | "__xen_guest" | None
    xen_notes: list[Note]  # the Xen-owned notes libelf uses, in file order
    xen_guest: XenGuestString | None
    ei_class: int = 0  # the raw EI_CLASS byte: every value but 2 is read as ELF32
    phnum: int = 0  # the header's counts, whatever could be read
    shnum: int = 0
    # The same ELF with its program headers read at sizeof(Phdr) steps (QEMU's load_elf
    # ignores e_phentsize); None when e_phentsize is that size and both readings agree.
    packed: ElfInfo | None = field(default=None, repr=False)
    problems: list[Problem] = field(default_factory=list, repr=False)  # the packed reading's
    # The same bytes read as an ELF64 when EI_CLASS is not 2 (rust-vmm's linux-loader never
    # looks at EI_CLASS); None when that header cannot be read, or EI_CLASS is 2.
    elf64: ElfInfo | None = field(default=None, repr=False)

    def packed_view(self) -> ElfInfo:
        """The ELF as a loader that ignores e_phentsize reads it."""
        return self.packed if self.packed is not None else self

    def elf64_view(self) -> ElfInfo | None:
        """The ELF as a loader that reads an Elf64_Ehdr whatever EI_CLASS says reads it."""
        return self if self.elf_class == 64 else self.elf64

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")

    def phdr_offset(self, index: int) -> int:
        """Where program header `index` sits in the layer."""
        return self.phoff + index * self.phentsize

    def notes_of_type(self, note_type: int) -> list[Note]:
        return [note for note in self.xen_notes if note.type == note_type]

    def segments_containing(self, address: int, physical: bool) -> list[int]:
        """PT_LOAD segments whose [addr, addr + memsz) holds `address`."""
        found = []
        for seg in self.segments:
            base = seg.paddr if physical else seg.vaddr
            if seg.type == PT_LOAD and base <= address < base + seg.memsz:
                found.append(seg.index)
        return found


@dataclass
class MultibootTag:
    offset: int
    type: int
    flags: int
    size: int
    name: str
    fields: dict[str, Any]

    @property
    def optional(self) -> bool:
        """Flag bit 0: a loader that does not know the tag may ignore it."""
        return bool(self.fields.get("optional"))  # set by the reader from the flags


@dataclass
class MultibootHeader:
    """A multiboot1 or multiboot2 header: every magic whose checksum holds, anywhere in
    the layer, and inside the search window also magics whose checksum does not."""

    version: int  # 1 | 2
    layer: int
    offset: int
    in_window: bool  # wholly inside the 8 KiB (MB1) / 32 KiB (MB2) search window
    aligned: bool
    checksum_ok: bool = True
    flags: int = 0  # MB1 flags
    checksum: int = 0
    fields: dict[str, int] = field(default_factory=dict)  # MB1 address / video fields
    architecture: int = 0  # MB2
    header_length: int = 0  # MB2
    tags: list[MultibootTag] = field(default_factory=list)
    problems: list[ProblemCode] = field(default_factory=list)


class CrcTrailer(Enum):
    """What the 4 bytes that end a bzImage's syssize area hold (linux-boot.md §7)."""

    VALID = "valid"  # build.c's CRC over [0, N-4) matches
    VALID_BEFORE_SIGNING = "valid before signing"  # matches with PE CheckSum/Security zeroed
    NONE_EXPECTED = "none"  # no build.c wrote one: Linux >= 6.15, or not Linux at all
    MISMATCH = "mismatch"  # Linux < 6.15 (or unknown) and the stored value is wrong
    PAST_EOF = "past the end"  # syssize puts the trailer past the end of the file


# Linux 6.15 dropped the CRC and the build tool that wrote it (commit 9c54baab4401).
LINUX_LAST_CRC_RELEASE = (6, 14)


@dataclass
class XenBinTable:
    """libxenguest's xen_bin_image_table (xg_dom_binloader.c): the first magic 0x336ec578
    whose checksum holds, at a 4-byte step in the first 8 KiB of the kernel blob."""

    layer: int
    offset: int
    flags: int
    checksum: int
    header_addr: int
    load_addr: int
    load_end_addr: int
    bss_end_addr: int
    entry_addr: int


@dataclass
class SetupHeader:
    """The Linux setup header at 0x1F1, fields present for the protocol version."""

    layer: int
    setup_sects: int  # raw byte; 0 means 4 for Linux (not for Xen)
    boot_flag: int
    has_hdrs: bool
    version: int
    fields: dict[str, int]  # every field the version defines, by boot.rst name
    pm_offset: int  # file offset of the protected-mode code: (setup_sects or 4 + 1) * 512
    crc_end: int | None  # N = pm_offset + syssize * 16
    crc_stored: int | None
    crc_ok: bool | None
    kernel_info: dict[str, int] | None
    # Signing (sbsign) rewrites the PE CheckSum and Security directory after the build
    # computed the CRC: True when the CRC holds with those two fields zeroed.
    crc_ok_before_signing: bool | None = None
    # The header ends at 0x202 + the jump's offset (EB xx at 0x200); every field inside
    # it, whatever the version says, for rules that compare the two.
    header_end: int = 0
    raw_fields: dict[str, int] = field(default_factory=dict)
    # The string kernel_version points at (0x200 + the field), up to its NUL; None if unset.
    kernel_version: str | None = None

    @property
    def linux_release(self) -> tuple[int, int] | None:
        """(major, minor) when kernel_version is Linux's own string, arch/x86/boot/version.c:
        UTS_RELEASE " (" LINUX_COMPILE_BY "@" LINUX_COMPILE_HOST ") " UTS_VERSION."""
        match = LINUX_VERSION_RE.match(self.kernel_version or "")
        return (int(match[1]), int(match[2])) if match else None

    @property
    def crc_trailer(self) -> CrcTrailer:
        if self.crc_ok:
            return CrcTrailer.VALID
        if self.crc_ok_before_signing:
            return CrcTrailer.VALID_BEFORE_SIGNING
        release = self.linux_release
        if release is not None and release > LINUX_LAST_CRC_RELEASE:
            return CrcTrailer.NONE_EXPECTED
        if release is None and self.kernel_version is not None:
            return CrcTrailer.NONE_EXPECTED  # iPXE, memtest86+: their builds write no CRC
        return CrcTrailer.PAST_EOF if self.crc_stored is None else CrcTrailer.MISMATCH


@dataclass
class PESection:
    """One entry of a PE section table (offset and size in the file)."""

    name: str
    offset: int  # PointerToRawData
    size: int  # SizeOfRawData
    virtual_address: int
    virtual_size: int
    characteristics: int


@dataclass
class PEInfo:
    layer: int
    offset: int  # of "PE\0\0"
    machine: int
    sections: int
    optional_magic: int  # 0x10b PE32, 0x20b PE32+
    subsystem: int | None
    rva_count: int
    security_offset: int
    security_size: int
    certificates: list[dict[str, int]]
    # The section table, read for stand-alone PE images (not for a bzImage's stub).
    section_table: list[PESection] = field(default_factory=list)

    def section(self, name: str) -> PESection | None:
        return next((s for s in self.section_table if s.name == name), None)

    @property
    def signed(self) -> bool:
        return self.rva_count > 4 and self.security_size != 0


@dataclass
class EntryPoint:
    kind: str  # "e_entry" | "XEN_ENTRY" | "PHYS32_ENTRY" | "multiboot1" | "code32_start" | ...
    layer: int
    address: int
    physical: bool
    source_offset: int | None  # where the value was read, in `layer`
    segments_by_paddr: list[int] = field(default_factory=list)
    segments_by_vaddr: list[int] = field(default_factory=list)


@dataclass
class Image:
    path: str
    # outermost: "elf32" | "elf64" | "bzimage" | "flat" | "gzip" | "xz" | "lzo" | "pe" | "raw"
    format: str
    size: int
    layers: list[Layer]
    elf: ElfInfo | None = None
    setup: SetupHeader | None = None
    pe: PEInfo | None = None
    multiboot: list[MultibootHeader] = field(default_factory=list)
    xen_bin_table: XenBinTable | None = None
    entry_points: list[EntryPoint] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Byte 0x1F1 of any file: QEMU sizes even a headerless "zImage" by it.
    setup_sects_byte: int | None = None
    # Loader facts computed from the model by pvhlint.loaders, kept so rules share them.
    facts: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    # Each layer's bytes (a Blob), for writers such as `extract` and `fix`.
    blobs: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)

    def has_problem(self, code: ProblemCode) -> bool:
        return any(problem.code == code for problem in self.problems)

    @property
    def kernel_format(self) -> str:
        """Format of the innermost kernel: the ELF class inside a bzImage or gzip."""
        return self.layers[-1].format

    @property
    def payload_layer(self) -> Layer | None:
        """The bzImage's compressed payload (in a UKI, that of its .linux section's bzImage)."""
        return next((layer for layer in self.layers if layer.kind == "payload"), None)

    @property
    def uki_kernel(self) -> Layer | None:
        """A Unified Kernel Image's .linux section layer (the kernel its stub boots)."""
        if self.format != "pe":
            return None
        return next((layer for layer in self.layers if layer.kind == UKI_KERNEL_SECTION), None)


def align_up(value: int, alignment: int) -> int:
    """`value` rounded up to a multiple of `alignment` (as it is for an alignment of 0 or 1)."""
    return (value + alignment - 1) // alignment * alignment if alignment > 1 else value


def align_up_wrapped(value: int, alignment: int, bits: int) -> int:
    """C's ALIGN_UP(value, alignment) in `bits`-bit unsigned arithmetic: the sum wraps
    before the division (QEMU_ALIGN_UP with a p_align near 2**32 pads a small size to 0)."""
    if alignment <= 1:
        return value
    return ((value + alignment - 1) & (2**bits - 1)) // alignment * alignment


# A Unified Kernel Image carries the kernel in this section (systemd's UKI specification).
UKI_KERNEL_SECTION = ".linux"

# How messages name an image's outermost format.
FORMAT_DESCRIPTIONS = {"gzip": "a gzip file", "elf32": "an ELF32", "elf64": "an ELF64",
                       "flat": "a flat binary", "pe": "a PE/EFI executable",
                       "bzimage": "a bzImage", "raw": "a file of no format a loader knows",
                       "xz": "an xz-compressed file", "lzo": "an lzop-compressed file"}  # fmt: skip

LINUX_VERSION_RE = re.compile(r"(\d+)\.(\d+)\S* \([^()]*@[^()]*\) #")

PT_LOAD, PT_NOTE = 1, 4
PT_NAMES = {
    0: "NULL", 1: "LOAD", 2: "DYNAMIC", 3: "INTERP", 4: "NOTE", 5: "SHLIB", 6: "PHDR",
    7: "TLS", 0x6474E550: "GNU_EH_FRAME", 0x6474E551: "GNU_STACK", 0x6474E552: "GNU_RELRO",
    0x6474E553: "GNU_PROPERTY",
}  # fmt: skip
SHT_NOTE = 7
EM_386, EM_X86_64 = 3, 62
EM_ARM = 40
MACHINE_NAMES = {3: "x86 (EM_386)", 62: "x86-64 (EM_X86_64)", 40: "ARM", 183: "AArch64",
                 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 243: "RISC-V"}  # fmt: skip
