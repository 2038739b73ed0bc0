"""No XEN_ELFNOTE_PHYS32_ENTRY that Xen can read: the image cannot boot as a PVH guest.

What:
  Xen's PVH domain builder starts a guest at the physical address in the
  XEN_ELFNOTE_PHYS32_ENTRY (18) note. libelf found no such note owned by "Xen"
  in the PT_NOTE segments (or, failing those, the SHT_NOTE sections), or the
  image is not an ELF that Xen's toolstack can reach at all.

Why:
  Without it libxenguest refuses the image for a PVH guest. With other Xen
  notes present, xl prints `xc_dom_guest_type: image not capable of booting
  inside a HVM container`; an ELF64 without usable Xen notes gives
  `xc_dom_parse_hvm_kernel: ELF image is not 32bit`; an ELF32 without them is
  taken by the HVM firmware loader and boots as hvm-3.0-x86_32, not as PVH.

Fix:
  Build the kernel with PVH support (Linux: CONFIG_PVH=y) so it emits the note,
  or add it: `pvhlint fix --set-note PHYS32_ENTRY=<32-bit entry address> IMAGE`.
  The address must be the physical address of 32-bit code that expects the PVH
  start-of-day state (ebx = hvm_start_info, paging off).

Example:
  vmlinux: xen-phys32-missing: no XEN_ELFNOTE_PHYS32_ENTRY: Xen says "xc_dom_guest_type:
  image not capable of booting inside a HVM container"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf, xen_parse
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_elf
from pvhlint.xennotes import XenNote


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return  # xen-no-elf explains images Xen cannot open at all
    parse = xen_parse(image, True)
    if parse is None or parse.phys_entry is not None:
        return
    broken_18 = [n for n in elf.notes_of_type(XenNote.PHYS32_ENTRY)]
    if parse.notes:
        text = (
            "no usable XEN_ELFNOTE_PHYS32_ENTRY among the Xen notes: Xen says "
            '"xc_dom_guest_type: image not capable of booting inside a HVM container"'
        )
    elif elf.elf_class == 64:
        text = (
            'no Xen notes Xen can use for PVH: Xen says "xc_dom_parse_hvm_kernel: '
            'ELF image is not 32bit"'
        )
    else:
        text = (
            "no Xen notes Xen can use for PVH: Xen loads this ELF32 as an HVM firmware "
            "image (hvm-3.0-x86_32), not as a PVH kernel"
        )
    if broken_18:
        text += " (the PHYS32_ENTRY note present reads as unset, all-ones)"
    yield at_elf(image, text, 0, rejects=("xen-pvh",))


RULE = Rule(
    id="xen-phys32-missing",
    title="No XEN_ELFNOTE_PHYS32_ENTRY: not bootable as a Xen PVH guest",
    severity="error",
    targets=("xen-pvh",),
    doc=__doc__ or "",
    check=check,
)
