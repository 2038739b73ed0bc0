"""XEN_ELFNOTE_PHYS32_ENTRY points at memory no segment fills with the kernel's bytes.

What:
  The PVH entry point lies inside the range libelf checks, [lowest p_paddr,
  highest p_paddr + p_memsz], but not inside the file bytes of any PT_LOAD
  (by physical address): it falls in a gap between segments, or in a
  segment's zero-filled tail (p_filesz <= offset < p_memsz, the .bss part).

Why:
  No loader checks this: Xen, QEMU and rust-vmm take the address from the
  note and jump to it with paging off. The guest then starts in memory the
  loader never wrote (a gap) or zeroed (the tail), and faults at once with
  nothing on the console. Segment permissions do not matter here: with
  paging off nothing enforces them, and Linux 7.2 and later put .init.text,
  which holds pvh_start_xen, in a writable PT_LOAD that boots fine.

Fix:
  Point the note at the 32-bit PVH entry code (Linux: `pvh_start_xen`,
  physical address = virtual address − __START_KERNEL_map):
  `pvhlint fix --set-note PHYS32_ENTRY=0x1000850 vmlinux`.

Example:
  vmlinux: xen-phys32-unloaded: XEN_ELFNOTE_PHYS32_ENTRY 0x2100000 is in no PT_LOAD's file
  bytes (a gap between segments): the guest would start in memory the loader never wrote
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import loadable_range, xen_elf, xen_parse
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_note
from pvhlint.xennotes import XenNote


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    parse = xen_parse(image, True)
    if parse is None or parse.phys_entry is None or elf is None:
        return
    span = loadable_range(elf)
    entry = parse.phys_entry
    if span is None or not span[0] <= entry <= span[1]:
        return  # xen-phys32-bounds: Xen refuses it
    holding = [elf.segments[i] for i in elf.segments_containing(entry, physical=True)]
    if any(entry - seg.paddr < seg.filesz for seg in holding):
        return
    where = "the zero-filled tail of PT_LOAD" if holding else "a gap between segments"
    if holding:
        where += f" {holding[0].index} (past p_filesz)"
    note = [n for n in parse.notes if n.type == XenNote.PHYS32_ENTRY][-1]
    yield at_note(
        note,
        f"XEN_ELFNOTE_PHYS32_ENTRY {entry:#x} is in no PT_LOAD's file bytes ({where}): "
        "the guest would start in memory the loader never wrote",
    )


RULE = Rule(
    title="PVH entry point in no segment's file bytes",
    severity="warning",
    targets=("xen-pvh", "qemu", "rust-vmm"),
)
