"""Xen's PV domain builder refuses the image's Xen notes.

What:
  For a PV guest libelf requires, in this order: a note area or a `__xen_guest`
  section; LOADER starting with "generic" or GUEST_OS starting with "linux";
  XEN_VERSION starting with "xen-3.0"; PADDR_OFFSET only together with
  VIRT_BASE; the entry point (ENTRY, else e_entry) inside the kernel's virtual
  range [kstart, kend] with VIRT_BASE not above kstart; INIT_P2M outside the
  kernel. Debian 12's hypervisor is built without 32-bit PV (CONFIG_PV32 off).

Why:
  Each failure stops the PV build with the message quoted in the finding (xl
  shows it only as `xc_dom_find_loader: no loader found` when it happens while
  probing). The PVH path needs none of this: with PHYS32_ENTRY present it skips
  the LOADER/GUEST_OS/XEN_VERSION checks.

Fix:
  Emit the notes Linux emits for PV (arch/x86/xen/xen-head.S): XEN_VERSION
  "xen-3.0", GUEST_OS "linux", LOADER "generic", ENTRY and VIRT_BASE consistent
  with the PT_LOAD segments; or require only xen-pvh if the guest is PVH-only.

Example:
  kernel: xen-pv-parse: XEN_VERSION is 'xen-4.0': Xen says "Xen will only load images
  built for Xen v3.0 (Not 'xen-4.0')"
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="Xen's PV builder refuses the Xen notes",
    severity="error",
    explains=(
        XenError.PV_NO_NOTES,
        XenError.PV_LOADER_GUEST_OS,
        XenError.PV_XEN_VERSION,
        XenError.PV_PADDR_OFFSET,
        XenError.PV_NO_LOADABLE_SEGMENT,
        XenError.PV_ENTRY_OUT_OF_BOUNDS,
        XenError.PV_P2M_OUT_OF_BOUNDS,
        XenError.PV32_UNSUPPORTED,
    ),
)
