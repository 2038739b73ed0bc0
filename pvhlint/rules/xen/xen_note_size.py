"""A Xen note whose descriptor size does not fit its type.

What:
  libelf reads numeric notes (ENTRY, HYPERCALL_PAGE, VIRT_BASE, PADDR_OFFSET,
  HV_START_LOW, SUSPEND_CANCEL, INIT_P2M, MOD_START_PFN, PHYS32_ENTRY) only when
  descsz is exactly 1, 2, 4 or 8. SUPPORTED_FEATURES needs a multiple of 4,
  L1_MFN_VALID whole mask/value pairs (8 bytes each in ELF32, 16 in ELF64),
  PHYS32_RELOC 0, 4, 8 or 12 bytes. The PVH entry needs at least 4 bytes for
  rust-vmm, and QEMU reads 8 of them in an ELF64.

Why:
  Any other size silently reads as 0: a 3-byte PHYS32_ENTRY still counts as
  "PVH present" but then fails Xen's bounds check; a 2-byte one is rejected by
  rust-vmm ("Invalid PVH note header").

Fix:
  Emit numbers with `.long` (4 bytes) or `.quad` (8 bytes), as Linux does with
  `ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long pvh_start_xen - __START_KERNEL_map)`.

Example:
  kernel: xen-note-size: XEN_ELFNOTE_PHYS32_ENTRY (18) has descsz 3: libelf reads numbers
  of 1, 2, 4 or 8 bytes only, so it reads 0
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf
from pvhlint.model import Image, Note
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, name
from pvhlint.xennotes import NOTE_KINDS, ValueKind, XenNote


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return
    unit = 16 if elf.elf_class == 64 else 8
    for note in elf.xen_notes:
        problem = _size_problem(note, unit)
        if problem:
            yield at_note(note, f"{name(note)} has descsz {note.descsz}: {problem}")


def _size_problem(note: Note, pair: int) -> str | None:
    kind = NOTE_KINDS.get(note.type)
    size = note.descsz
    if kind is not None and kind.kind == ValueKind.NUMBER and size not in (1, 2, 4, 8):
        return "libelf reads numbers of 1, 2, 4 or 8 bytes only, so it reads 0"
    if note.type == XenNote.SUPPORTED_FEATURES and size % 4:
        return "SUPPORTED_FEATURES must be a multiple of 4 bytes; libelf ignores it"
    if note.type == XenNote.L1_MFN_VALID and size % pair:
        return f"L1_MFN_VALID holds whole mask/value pairs of {pair} bytes"
    if note.type == XenNote.PHYS32_RELOC and size not in (0, 4, 8, 12):
        return "PHYS32_RELOC holds 0 to 3 u32 values (align, min, max); Xen reads them as 0"
    if note.type == XenNote.PHYS32_ENTRY and size < 4:
        return 'rust-vmm refuses it ("Invalid PVH note header")'
    return None


RULE = Rule(
    title="Xen note descriptor size wrong for its type",
    severity="error",
    targets=(*XEN_TARGETS, "rust-vmm"),
)
