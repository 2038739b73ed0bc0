"""XEN_ELFNOTE_PADDR_OFFSET without XEN_ELFNOTE_VIRT_BASE fails a PVH load on Xen 4.17 only.

What:
  The image has a PADDR_OFFSET (4) note but no VIRT_BASE (3) note. libelf's
  elf_xen_addr_calc_check rejects that combination for PV guests in every version, and
  in Xen 4.17 — Debian 12's version — also for PVH guests. Xen 4.18 (commit b77ed96fce,
  "libelf: relax ELF_PADDR_OFFSET && !VIRT_BASE check for PVH") checks it for PV only,
  so Xen 4.20 — Debian 13's — boots the same kernel as PVH.

Why:
  On Xen 4.17 libelf fails with `ELF_PADDR_OFFSET set, VIRT_BASE unset` whether the
  guest is PV or PVH. Because probe errors are silent, xl then shows the fallback
  loader's complaint instead: for an ELF64, `xc_dom_parse_hvm_kernel: ELF image is not
  32bit` (seen with Debian 12's libxenguest on its own kernel with VIRT_BASE removed);
  an ELF32 is taken by the HVM-generic loader as firmware, not booted as PVH. Xen 4.20
  logs "Found PVH image" and boots it. Removing only VIRT_BASE from a Linux kernel
  produces this image, which is why `pvhlint fix --drop-obsolete-notes` drops
  PADDR_OFFSET along with it when Xen 4.17 is required (`--loaders debian12` or
  `--require xen-pvh@4.17`). The PV case is xen-pv-parse's.

Fix:
  For Xen 4.17: drop the PADDR_OFFSET note (`pvhlint fix --drop-note PADDR_OFFSET
  IMAGE`), or add a VIRT_BASE note that matches it. Xen 4.18 and later need nothing.

Example:
  kernel: xen-paddr-offset: PADDR_OFFSET without VIRT_BASE: Xen 4.17 fails the parse
  ("ELF_PADDR_OFFSET set, VIRT_BASE unset") and xl shows "xc_dom_parse_hvm_kernel: ELF
  image is not 32bit"; Xen 4.18+ (b77ed96fce) checks it for PV only: 4.20 says "Found PVH
  image"
"""

from __future__ import annotations

from pvhlint.loaders.xen import XEN_TARGETS, XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="PADDR_OFFSET without VIRT_BASE (fails PVH on Xen 4.17; 4.18+ accepts)",
    severity="warning",
    targets=XEN_TARGETS,
    fix="pvhlint fix --drop-note PADDR_OFFSET",
    explains=(XenError.PVH_PADDR_OFFSET,),
)
