"""XEN_ELFNOTE_PHYS32_ENTRY outside the loaded image, or above 4 GiB.

What:
  The PVH entry point must lie within the physical range of the loadable
  PT_LOAD segments, [lowest p_paddr, highest p_paddr + p_memsz]: libelf's
  elf_xen_addr_calc_check compares it with exactly that range. It should also
  lie below 4 GiB, since the guest starts with paging off and libelf stores it
  in 32 bits. (Inside the range but in no segment's bytes is
  xen-phys32-unloaded.)

Why:
  Out of range, libxenguest fails with `ELF start or entries are out of bounds`
  (the PVH dom0 builder likewise). A value at or above 4 GiB is silently
  truncated to its low 32 bits by Xen, while QEMU (ELF64) jumps to the full
  64-bit value.

Fix:
  Point the note at the 32-bit PVH entry code (Linux: `pvh_start_xen`, in the
  .text segment, physical address = virtual address − __START_KERNEL_map):
  `pvhlint fix --set-note PHYS32_ENTRY=0x1000850 vmlinux`.

Example:
  vmlinux: xen-phys32-bounds: XEN_ELFNOTE_PHYS32_ENTRY 0x90000000 is outside the loaded
  physical range [0x1000000, 0x4a00000]: Xen says "ELF start or entries are out of bounds"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import XenError, xen_parse
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_note
from pvhlint.xennotes import XenNote


def check(image: Image) -> Iterator[Hit]:
    """An entry Xen truncates (the refusals are pvhlint.loaders.xen's)."""
    parse = xen_parse(image, True)
    if parse is None or parse.phys_entry is None:
        return
    note = [n for n in parse.notes if n.type == XenNote.PHYS32_ENTRY][-1]
    raw = note.value if isinstance(note.value, int) else 0
    if raw >= 1 << 32:
        yield at_note(
            note,
            f"XEN_ELFNOTE_PHYS32_ENTRY {raw:#x} is at or above 4 GiB: Xen "
            f"keeps only the low 32 bits ({parse.phys_entry:#x})",
        )


RULE = Rule(
    title="PVH entry point outside the image or above 4 GiB",
    severity="error",
    targets=("xen-pvh", "qemu", "rust-vmm"),
    explains=(XenError.PHYS32_NO_LOADABLE_SEGMENT, XenError.PHYS32_OUT_OF_BOUNDS),
)
