"""Xen ELF note numbers, their value kinds, and decoding the way libelf does.

Source: xen/include/public/elfnote.h and xen/common/libelf/libelf-dominfo.c
(summarised in shared/reference/xen-elfnotes.md §2-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NoteKind:
    number: int
    name: str  # without the XEN_ELFNOTE_ prefix
    kind: str  # "num" | "str" | "special" | "unknown"
    summary: str


NOTE_KINDS: dict[int, NoteKind] = {
    k.number: k
    for k in (
        NoteKind(0, "INFO", "unknown", "free-form string, ignored by libelf"),
        NoteKind(1, "ENTRY", "num", "virtual entry address (PV)"),
        NoteKind(2, "HYPERCALL_PAGE", "num", "virtual address of the hypercall page (PV)"),
        NoteKind(3, "VIRT_BASE", "num", "virtual address the image is mapped at (PV)"),
        NoteKind(4, "PADDR_OFFSET", "num", "subtracted from p_paddr (PV)"),
        NoteKind(5, "XEN_VERSION", "str", "must start with xen-3.0 (PV)"),
        NoteKind(6, "GUEST_OS", "str", "guest OS name; 'linux' prefix satisfies the loader"),
        NoteKind(7, "GUEST_VERSION", "str", "informational"),
        NoteKind(8, "LOADER", "str", "'generic' prefix satisfies the loader"),
        NoteKind(9, "PAE_MODE", "str", "PAE mode of a 32-bit PV guest"),
        NoteKind(10, "FEATURES", "str", "'|'-separated feature names, '!' = required"),
        NoteKind(11, "BSD_SYMTAB", "str", "'yes' loads the symbol table after the image"),
        NoteKind(12, "HV_START_LOW", "num", "lowest hypervisor hole start (32-bit PV)"),
        NoteKind(13, "L1_MFN_VALID", "special", "mask/value pairs for L1 PTEs (PV, unused)"),
        NoteKind(14, "SUSPEND_CANCEL", "num", "cooperative suspend cancellation"),
        NoteKind(15, "INIT_P2M", "num", "virtual address of the initial p2m list (PV64)"),
        NoteKind(16, "MOD_START_PFN", "num", "initrd may be left unmapped (PV)"),
        NoteKind(17, "SUPPORTED_FEATURES", "special", "bitmap OR-ed into supported features"),
        NoteKind(18, "PHYS32_ENTRY", "num", "32-bit physical PVH entry point"),
        NoteKind(19, "PHYS32_RELOC", "special", "PVH dom0 relocation: align, min, max (4.19+)"),
    )
}
NOTE_NUMBERS: dict[str, int] = {k.name: k.number for k in NOTE_KINDS.values()}

XEN_ELFNOTE_PHYS32_ENTRY = 18
# Notes a PVH-only guest no longer needs (the brief: PV-era interfaces).
OBSOLETE_FOR_PVH = (3, 2, 12, 9, 13)


def is_known_type(number: int) -> bool:
    """libelf's note_desc table (elf_xen_parse_note): 1-19 have a name; INFO (0) and every
    other type are logged as unknown and skipped."""
    return number in NOTE_KINDS and number != 0


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


def numeric_value(desc: bytes, descsz: int) -> int:
    """libelf's elf_note_numeric: sizes 1/2/4/8 only, anything else reads as 0."""
    if descsz not in (1, 2, 4, 8) or len(desc) < descsz:
        return 0
    return int.from_bytes(desc[:descsz], "little")


def parse_features(text: str) -> list[dict[str, Any]]:
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
        features.append({"name": name, "required": required, "bit": FEATURE_BITS.get(name)})
    return features


def bits_of(value: int) -> list[dict[str, Any]]:
    return [{"bit": bit, "name": XENFEAT_NAMES.get(bit)} for bit in range(32) if value >> bit & 1]


def decode_value(number: int, desc: bytes, descsz: int, string: str | None, class64: bool) -> Any:
    """The note's value as libelf reads it (`string` is read to the first NUL by the caller)."""
    kind = NOTE_KINDS.get(number)
    if kind is None or kind.kind == "unknown":
        return None
    if kind.kind == "num":
        return numeric_value(desc, descsz)
    if kind.kind == "str":
        if number == 10 and string is not None:
            return {"text": string, "features": parse_features(string)}
        return string
    if number == 17:  # libelf reads u32 index 0, only if descsz % 4 == 0
        word = int.from_bytes(desc[:4], "little") if descsz % 4 == 0 and descsz >= 4 else 0
        return {"value": word, "bits": bits_of(word)}
    if number == 13:
        unit = 8 if class64 else 4
        pairs = []
        for pos in range(0, len(desc) - 2 * unit + 1, 2 * unit):
            mask = int.from_bytes(desc[pos : pos + unit], "little")
            val = int.from_bytes(desc[pos + unit : pos + 2 * unit], "little")
            pairs.append({"mask": mask, "value": val})
        return pairs
    if number == 19:
        # Xen 4.20 elf_xen_parse_note: align if descsz >= 4, min if >= 8, max if >= 12, each
        # through elf_note_numeric_array(4, i), which reads 0 unless descsz % 4 == 0.
        names = ("align", "min", "max")
        whole = descsz % 4 == 0
        return {name: int.from_bytes(desc[4 * i : 4 * i + 4], "little") if whole else 0
                for i, name in enumerate(names) if descsz >= 4 * (i + 1)}  # fmt: skip
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
