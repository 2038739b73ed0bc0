"""Xen ELF note numbers, their value kinds, decoding the way libelf does, and encoding the
values `pvhlint fix --set-note` is given.

Source: xen/include/public/elfnote.h and xen/common/libelf/libelf-dominfo.c
(summarised in shared/reference/xen-elfnotes.md §2-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from .errors import UsageError


class XenNote(IntEnum):
    """XEN_ELFNOTE_* numbers (xen/include/public/elfnote.h); the name without the prefix."""

    INFO = 0
    ENTRY = 1
    HYPERCALL_PAGE = 2
    VIRT_BASE = 3
    PADDR_OFFSET = 4
    XEN_VERSION = 5
    GUEST_OS = 6
    GUEST_VERSION = 7
    LOADER = 8
    PAE_MODE = 9
    FEATURES = 10
    BSD_SYMTAB = 11
    HV_START_LOW = 12
    L1_MFN_VALID = 13
    SUSPEND_CANCEL = 14
    INIT_P2M = 15
    MOD_START_PFN = 16
    SUPPORTED_FEATURES = 17
    PHYS32_ENTRY = 18
    PHYS32_RELOC = 19


class ValueKind(StrEnum):
    """How libelf reads a note's descriptor (libelf-dominfo.c elf_xen_parse_note)."""

    NUMBER = "num"  # elf_note_numeric
    STRING = "str"  # up to the first NUL
    SPECIAL = "special"  # a layout of its own (a typed value below)
    UNKNOWN = "unknown"  # logged and skipped


@dataclass(frozen=True)
class NoteKind:
    number: XenNote
    kind: ValueKind
    summary: str

    @property
    def name(self) -> str:
        """Without the XEN_ELFNOTE_ prefix."""
        return self.number.name


_NUM, _STR, _SPECIAL = ValueKind.NUMBER, ValueKind.STRING, ValueKind.SPECIAL
NOTE_KINDS: dict[int, NoteKind] = {
    k.number: k
    for k in (
        NoteKind(XenNote.INFO, ValueKind.UNKNOWN, "free-form string, ignored by libelf"),
        NoteKind(XenNote.ENTRY, _NUM, "virtual entry address (PV)"),
        NoteKind(XenNote.HYPERCALL_PAGE, _NUM, "virtual address of the hypercall page (PV)"),
        NoteKind(XenNote.VIRT_BASE, _NUM, "virtual address the image is mapped at (PV)"),
        NoteKind(XenNote.PADDR_OFFSET, _NUM, "subtracted from p_paddr (PV)"),
        NoteKind(XenNote.XEN_VERSION, _STR, "must start with xen-3.0 (PV)"),
        NoteKind(XenNote.GUEST_OS, _STR, "guest OS name; 'linux' prefix satisfies the loader"),
        NoteKind(XenNote.GUEST_VERSION, _STR, "informational"),
        NoteKind(XenNote.LOADER, _STR, "'generic' prefix satisfies the loader"),
        NoteKind(XenNote.PAE_MODE, _STR, "PAE mode of a 32-bit PV guest"),
        NoteKind(XenNote.FEATURES, _STR, "'|'-separated feature names, '!' = required"),
        NoteKind(XenNote.BSD_SYMTAB, _STR, "'yes' loads the symbol table after the image"),
        NoteKind(XenNote.HV_START_LOW, _NUM, "lowest hypervisor hole start (32-bit PV)"),
        NoteKind(XenNote.L1_MFN_VALID, _SPECIAL, "mask/value pairs for L1 PTEs (PV, unused)"),
        NoteKind(XenNote.SUSPEND_CANCEL, _NUM, "cooperative suspend cancellation"),
        NoteKind(XenNote.INIT_P2M, _NUM, "virtual address of the initial p2m list (PV64)"),
        NoteKind(XenNote.MOD_START_PFN, _NUM, "initrd may be left unmapped (PV)"),
        NoteKind(XenNote.SUPPORTED_FEATURES, _SPECIAL, "bitmap OR-ed into supported features"),
        NoteKind(XenNote.PHYS32_ENTRY, _NUM, "32-bit physical PVH entry point"),
        NoteKind(XenNote.PHYS32_RELOC, _SPECIAL, "PVH dom0 relocation: align, min, max (4.19+)"),
    )
}
NOTE_NUMBERS: dict[str, int] = {k.name: k.number for k in NOTE_KINDS.values()}

# Notes a PVH-only guest no longer needs (the brief: PV-era interfaces).
OBSOLETE_FOR_PVH = (
    XenNote.VIRT_BASE,
    XenNote.HYPERCALL_PAGE,
    XenNote.HV_START_LOW,
    XenNote.PAE_MODE,
    XenNote.L1_MFN_VALID,
)


def is_known_type(number: int) -> bool:
    """libelf's note_desc table (elf_xen_parse_note): 1-19 have a name; INFO (0) and every
    other type are logged as unknown and skipped."""
    return number in NOTE_KINDS and number != XenNote.INFO


# The seven names elf_xen_parse_features knows; other bits only via SUPPORTED_FEATURES.
FEATURE_BITS: dict[str, int] = {
    "writable_page_tables": 0,
    "writable_descriptor_tables": 1,
    "auto_translated_physmap": 2,
    "supervisor_mode_kernel": 3,
    "pae_pgdir_above_4gb": 4,
    "hvm_callback_vector": 8,
    "dom0": 11,
}
XENFEAT_NAMES: dict[int, str] = {bit: name for name, bit in FEATURE_BITS.items()} | {
    5: "mmu_pt_update_preserve_ad", 6: "highmem_assist", 7: "gnttab_map_avail_bits",
    9: "hvm_safe_pvclock", 10: "hvm_pirqs", 12: "grant_map_identity",
    13: "memory_op_vnode_supported", 14: "ARM_SMCCC_supported", 15: "linux_rsdp_unrestricted",
    16: "not_direct_mapped", 17: "direct_mapped", 18: "runstate_phys_area",
    19: "vcpu_time_phys_area", 20: "dm_msix_all_writes",
}  # fmt: skip


def note_label(number: int) -> str:
    kind = NOTE_KINDS.get(number)
    return f"XEN_ELFNOTE_{kind.name}" if kind else f"unknown ({number:#x})"


def parse_note_name(text: str) -> int | None:
    """Accept PHYS32_ENTRY, xen_elfnote_phys32_entry or a number."""
    upper = text.strip().upper().removeprefix("XEN_ELFNOTE_")
    if upper in NOTE_NUMBERS:
        return NOTE_NUMBERS[upper]
    try:
        return int(text, 0)
    except ValueError:
        return None


def note_number(text: str) -> int:
    """A note named on the command line (`--drop-note`, `--set-note`) as its number."""
    number = parse_note_name(text)
    if number is None or number not in NOTE_KINDS:
        raise UsageError(
            f"unknown Xen note {text!r} (e.g. PHYS32_ENTRY, XEN_ELFNOTE_VIRT_BASE, 18)"
        )
    return number


def encode_value(number: int, text: str, class64: bool, present_size: int | None) -> bytes:
    """A `--set-note` VALUE as the descriptor bytes `decode_value` reads back for the note's
    kind. `present_size`: the descsz of the note already there, kept for a number."""
    kind = NOTE_KINDS[number].kind
    wide = 8 if class64 else 4
    if number == XenNote.SUPPORTED_FEATURES:
        return _fitting(_feature_bits(text), 4).to_bytes(4, "little")
    if number == XenNote.L1_MFN_VALID:
        return b"".join(_fitting(v, wide).to_bytes(wide, "little") for v in _ints(text))
    if number == XenNote.PHYS32_RELOC:
        return b"".join(_fitting(v, 4).to_bytes(4, "little") for v in _ints(text)[:3])
    if kind == ValueKind.NUMBER:
        size = present_size if present_size in (1, 2, 4, 8) else wide
        return _fitting(_int(text), size).to_bytes(size, "little")
    if kind == ValueKind.STRING:
        return text.encode() + b"\0"
    raise UsageError(f"{note_label(number)} has no value pvhlint knows how to write")


def _int(text: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise UsageError(f"{text!r} is not a number (use 0x... for hex)") from None


def _ints(text: str) -> list[int]:
    return [_int(part) for part in text.replace(";", ",").split(",") if part.strip()]


def _fitting(value: int, size: int) -> int:
    if not 0 <= value < 1 << (8 * size):
        raise UsageError(f"{value:#x} does not fit in {size} bytes")
    return value


def _feature_bits(text: str) -> int:
    """XENFEAT_* names or numbers joined by '|'."""
    names = {name: bit for bit, name in XENFEAT_NAMES.items()}
    bits = 0
    for part in text.split("|"):
        part = part.strip()
        bits |= 1 << names[part] if part in names else _int(part)
    return bits


def numeric_value(desc: bytes, descsz: int) -> int:
    """libelf's elf_note_numeric: sizes 1/2/4/8 only, anything else reads as 0."""
    if descsz not in (1, 2, 4, 8) or len(desc) < descsz:
        return 0
    return int.from_bytes(desc[:descsz], "little")


class NoteValue:
    """A decoded value with a layout of its own: `describe` is its one line of text, `to_json`
    its shape in `inspect --json` (docs/inspect-json.md). Numbers decode to int, strings to
    str, and every other kind to one of the classes below."""

    def describe(self) -> str:
        raise NotImplementedError

    def to_json(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Feature:
    """One token of a FEATURES string: its name, '!' (required), and the bit libelf knows."""

    name: str
    required: bool
    bit: int | None  # None: not one of the seven names elf_xen_parse_features knows


@dataclass(frozen=True)
class Features(NoteValue):
    """XEN_ELFNOTE_FEATURES: the string and its tokens."""

    text: str
    features: tuple[Feature, ...]

    def describe(self) -> str:
        required = [f.name for f in self.features if f.required]
        unknown = [f.name for f in self.features if f.bit is None]
        text = repr(self.text)
        if required:
            text += f" required: {', '.join(required)}"
        return text + (f" unknown: {', '.join(unknown)}" if unknown else "")

    def to_json(self) -> Any:
        return {"text": self.text, "features": [vars(f).copy() for f in self.features]}


@dataclass(frozen=True)
class FeatureBits(NoteValue):
    """XEN_ELFNOTE_SUPPORTED_FEATURES: the u32 bitmap and the XENFEAT_* name of each bit set."""

    value: int

    @property
    def bits(self) -> list[tuple[int, str | None]]:
        return [(bit, XENFEAT_NAMES.get(bit)) for bit in range(32) if self.value >> bit & 1]

    def describe(self) -> str:
        names = [name or f"bit{bit}" for bit, name in self.bits]
        return f"{self.value:#x} [{', '.join(names)}]"

    def to_json(self) -> Any:
        return {"value": self.value, "bits": [{"bit": b, "name": n} for b, n in self.bits]}


@dataclass(frozen=True)
class MfnPairs(NoteValue):
    """XEN_ELFNOTE_L1_MFN_VALID: (mask, value) pairs of the ELF's word size."""

    pairs: tuple[tuple[int, int], ...]

    def describe(self) -> str:
        return ", ".join(f"mask={mask:#x} value={value:#x}" for mask, value in self.pairs)

    def to_json(self) -> Any:
        return [{"mask": mask, "value": value} for mask, value in self.pairs]


@dataclass(frozen=True)
class Phys32Reloc(NoteValue):
    """XEN_ELFNOTE_PHYS32_RELOC: align, min and max, each present only when descsz reaches it."""

    align: int | None = None
    min: int | None = None
    max: int | None = None

    def present(self) -> dict[str, int]:
        return {name: value for name, value in vars(self).items() if value is not None}

    def describe(self) -> str:
        return " ".join(f"{name}={value:#x}" for name, value in self.present().items())

    def to_json(self) -> Any:
        return self.present()


def parse_features(text: str) -> tuple[Feature, ...]:
    """elf_xen_parse_features: '|' tokens (63 chars max), '!' = required, no trimming."""
    tokens: list[str] = []
    for part in text.split("|"):
        while len(part) > 63:
            tokens.append(part[:63])
            part = part[63:]
        tokens.append(part)
    features = []
    for token in tokens:
        if not token:
            continue
        required = token.startswith("!")
        name = token[1:] if required else token
        features.append(Feature(name, required, FEATURE_BITS.get(name)))
    return tuple(features)


def decode_value(number: int, desc: bytes, descsz: int, string: str | None, class64: bool) -> Any:
    """The note's value as libelf reads it (`string` is read to the first NUL by the caller):
    int, str, a NoteValue, or None for unknown kinds."""
    kind = NOTE_KINDS.get(number)
    if kind is None or kind.kind == ValueKind.UNKNOWN:
        return None
    if kind.kind == ValueKind.NUMBER:
        return numeric_value(desc, descsz)
    if kind.kind == ValueKind.STRING:
        if number == XenNote.FEATURES and string is not None:
            return Features(string, parse_features(string))
        return string
    if number == XenNote.SUPPORTED_FEATURES:  # u32 index 0, only if descsz % 4 == 0
        return FeatureBits(int.from_bytes(desc[:4], "little") if descsz % 4 == 0 else 0)
    if number == XenNote.L1_MFN_VALID:
        unit = 8 if class64 else 4
        pairs = []
        for pos in range(0, len(desc) - 2 * unit + 1, 2 * unit):
            mask = int.from_bytes(desc[pos : pos + unit], "little")
            value = int.from_bytes(desc[pos + unit : pos + 2 * unit], "little")
            pairs.append((mask, value))
        return MfnPairs(tuple(pairs))
    if number == XenNote.PHYS32_RELOC:
        # Xen 4.20 elf_xen_parse_note: align if descsz >= 4, min if >= 8, max if >= 12, each
        # through elf_note_numeric_array(4, i), which reads 0 unless descsz % 4 == 0.
        whole = descsz % 4 == 0
        words = [int.from_bytes(desc[4 * i : 4 * i + 4], "little") if whole else 0
                 for i in range(3) if descsz >= 4 * (i + 1)]  # fmt: skip
        return Phys32Reloc(*words)
    return None


def parse_xen_guest(text: str) -> list[tuple[str, str]]:
    """The legacy string, split like elf_xen_parse_guest_info (name ≤ 31, value ≤ 127)."""
    pairs = []
    for item in text.split(","):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((key[:31], value[:127]))
    return pairs
