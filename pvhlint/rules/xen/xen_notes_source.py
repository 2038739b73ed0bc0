"""Xen notes only in SHT_NOTE sections, or only in the legacy `__xen_guest` string.

What:
  libelf reads PT_NOTE segments first, SHT_NOTE sections only when the
  segments hold no Xen note, and the `__xen_guest` section only when neither
  does and only for a PV guest. QEMU and rust-vmm read PT_NOTE segments only.

Why:
  Notes only in sections work for Xen but are invisible to QEMU -kernel ("Error
  loading uncompressed kernel without PVH ELF Note") and to Cloud Hypervisor or
  Firecracker ("KernelMissingPvhHeader"), and vanish when a tool strips section
  headers. The `__xen_guest` string is the pre-3.0 interface: a PVH guest can
  never be described by it.

Fix:
  Put the notes in a PT_NOTE segment: in a linker script, give the .note.Xen
  output section a `:note` program header (PHDRS { note PT_NOTE; ... }).

Example:
  gnumach.gz: xen-notes-source: Xen's information comes only from the legacy __xen_guest
  string: it works for PV guests and never for PVH
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_elf


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return
    if elf.xen_notes_from == "SHT_NOTE":
        sections = sorted(
            {
                a.name or str(a.index)
                for a in elf.note_areas
                if a.source == "SHT_NOTE" and any(n.is_xen for n in a.notes)
            }
        )
        packed = elf.packed_view()  # QEMU's and rust-vmm's reading of the program headers
        qemu_finds = packed is not elf and any(a.source == "PT_NOTE" for a in packed.note_areas)
        others = (f"QEMU, which ignores e_phentsize {elf.phentsize}, finds a PT_NOTE"
                  if qemu_finds else "QEMU and rust-vmm do not")  # fmt: skip
        yield at_elf(
            image,
            f"Xen notes only in SHT_NOTE section(s) {', '.join(sections)}, "
            f"no PT_NOTE as libelf reads the program headers: Xen reads them, {others}",
            elf.shoff,
        )
    elif elf.xen_notes_from == "__xen_guest" and elf.xen_guest is not None:
        yield at_elf(
            image,
            "Xen's information comes only from the legacy __xen_guest string: "
            "it works for PV guests and never for PVH",
            elf.xen_guest.offset,
        )


RULE = Rule(
    title="Xen notes only in sections or only in __xen_guest",
    severity="warning",
    targets=(*XEN_TARGETS, "qemu", "rust-vmm"),
)
