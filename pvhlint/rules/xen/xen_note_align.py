"""A PT_NOTE whose p_align is not 4, or Xen notes split over several PT_NOTE segments.

What:
  Note readers disagree on padding: Xen's libelf, GRUB and rust-vmm's
  linux-loader (ELFNOTE_ALIGN) pad names and descriptors to 4 bytes; QEMU pads
  them to the segment's p_align. Newer toolchains put an 8-byte aligned
  `.note.gnu.property` into the same PT_NOTE as the Xen notes, raising p_align
  to 8. Separately, rust-vmm keeps only the result of the last PT_NOTE it scans.

Why:
  With p_align 8 over 4-padded notes, QEMU walks to the wrong offsets and
  misses PHYS32_ENTRY: it says "Error loading uncompressed kernel without PVH
  ELF Note" — while Xen and Cloud Hypervisor boot the same file. p_align 0
  crashes QEMU (SIGFPE). With the Xen notes split over several PT_NOTE
  segments, rust-vmm loses those not in the last.

Fix:
  Keep the Xen notes in a PT_NOTE of their own with p_align 4 (a separate
  output section and PHDRS entry in the linker script), after any 8-aligned
  notes; or align every Xen note's name and descriptor to 8 so both walks agree.

Example:
  vmlinux: xen-note-align: PT_NOTE 4 has p_align 8: padded by 4 (Xen) it holds GNU 5,
  Xen 18; padded by 8 (QEMU) it holds GNU 5, Xen 0
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf
from pvhlint.model import Image, Note
from pvhlint.rule import Hit, Rule


def _owner(note: Note) -> str:
    return note.owner_name or "-"


def _names(notes: list[Note]) -> str:
    return ", ".join(f"{_owner(n)} {n.type}" for n in notes[:8]) + (
        " ..." if len(notes) > 8 else ""
    )


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return
    areas = [a for a in elf.note_areas if a.source == "PT_NOTE"]
    for area in areas:
        label = f"PT_NOTE {area.index}"
        if area.notes_by_align is None:
            yield Hit(
                f"{label} has p_align 0: QEMU divides by it and dies (SIGFPE)",
                area.layer,
                area.offset,
                area.size,
            )
            continue
        if area.align == 4 or not any(n.is_xen for n in area.notes):
            continue
        mine = [(n.owner, n.type, n.desc) for n in area.notes]
        theirs = [(n.owner, n.type, n.desc) for n in area.notes_by_align]
        if mine != theirs:
            yield Hit(
                f"{label} has p_align {area.align}: padded by 4 (Xen) it holds "
                f"{_names(area.notes)}; padded by {area.align} (QEMU) it holds "
                f"{_names(area.notes_by_align)}",
                area.layer,
                area.offset,
                area.size,
            )
        else:
            yield Hit(
                f"{label} has p_align {area.align}: readers that pad by 4 and by "
                f"{area.align} agree here, but only because every size is a multiple "
                f"of {area.align}",
                area.layer,
                area.offset,
                area.size,
            )
    holding = [a for a in areas if any(n.is_xen for n in a.notes)]
    if len(holding) > 1:
        where = ", ".join(f"PT_NOTE {a.index}" for a in holding)
        last = areas[-1]
        yield Hit(
            f"Xen notes are split over {where}: rust-vmm keeps only what it finds in the "
            f"last PT_NOTE (PT_NOTE {last.index})",
            last.layer,
            last.offset,
            last.size,
        )


RULE = Rule(
    title="PT_NOTE p_align not 4, or Xen notes split across PT_NOTE segments",
    severity="warning",
    targets=("xen-pvh", "qemu", "rust-vmm"),
)
