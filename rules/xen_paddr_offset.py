"""XEN_ELFNOTE_PADDR_OFFSET without XEN_ELFNOTE_VIRT_BASE fails even a PVH load on Xen 4.17.

What:
  The image has a PADDR_OFFSET (4) note but no VIRT_BASE (3) note. libelf's
  elf_xen_addr_calc_check rejects that combination for PV guests, and in Xen
  4.17 — Debian 12's version — also for PVH guests (fixed in 4.18).

Why:
  On Xen 4.17 libelf fails with `ELF_PADDR_OFFSET set, VIRT_BASE unset` whether
  the guest is PV or PVH; on 4.18 and later only PV guests fail. Because probe
  errors are silent, xl then shows the fallback loader's complaint instead: for
  an ELF64, `xc_dom_parse_hvm_kernel: ELF image is not 32bit` (seen with Debian
  12's libxenguest on its own kernel with VIRT_BASE removed). This is what
  removing only VIRT_BASE from a Linux kernel does, which is why
  `pvhlint fix --drop-obsolete-notes` drops PADDR_OFFSET along with it.

Fix:
  Drop the PADDR_OFFSET note (`pvhlint fix --drop-note PADDR_OFFSET IMAGE`), or
  add a VIRT_BASE note that matches it.

Example:
  kernel: xen-paddr-offset: PADDR_OFFSET without VIRT_BASE: Xen 4.17 says
  "ELF_PADDR_OFFSET set, VIRT_BASE unset" (PV and PVH)
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders import xen_elf, xen_parse
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    parse = xen_parse(image, True)
    if parse is None or parse.paddr_offset is None or parse.virt_base is not None:
        return
    assert elf is not None
    note = [n for n in parse.notes if n.type == 4][-1]
    seen = ('"xc_dom_parse_hvm_kernel: ELF image is not 32bit"' if elf.elf_class == 64
            else "an HVM firmware load instead of PVH")  # fmt: skip
    yield at_note(
        note,
        'PADDR_OFFSET without VIRT_BASE: Xen 4.17 fails the parse ("ELF_PADDR_OFFSET set, '
        f'VIRT_BASE unset") for PV and PVH guests alike (4.18+: PV only); xl shows {seen}',
        rejects=("xen-pvh",),
    )


RULE = Rule(
    id="xen-paddr-offset",
    title="PADDR_OFFSET without VIRT_BASE (fails PVH on Xen 4.17)",
    severity="error",
    targets=XEN_TARGETS,
    doc=__doc__ or "",
    check=check,
    fix="pvhlint fix --drop-note PADDR_OFFSET",
)
