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

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="No XEN_ELFNOTE_PHYS32_ENTRY: not bootable as a Xen PVH guest",
    severity="error",
    explains=(
        XenError.PHYS32_MISSING,
        XenError.PHYS32_MISSING_ELF64,
        XenError.PHYS32_MISSING_ELF32,
    ),
)
