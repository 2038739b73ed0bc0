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

from collections.abc import Iterator

from pvhlint.loaders.xen import XenParse, xen_bounds, xen_elf, xen_parse
from pvhlint.model import EM_386, Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_elf

PV = ("xen-pv",)


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    parse = xen_parse(image, False)
    if parse is None:
        return
    if not parse.scanned and parse.source != "__xen_guest":
        yield at_elf(
            image,
            'no ELF notes and no __xen_guest section: Xen says "Not a Xen-ELF '
            "image: No ELF notes or '__xen_guest' section found\"",
            0,
            PV,
        )
        return
    problem = _note_check(parse) or _address_check(parse)
    if problem:
        yield at_elf(image, problem, 0, PV)
    elif elf is not None and elf.machine == EM_386:  # xc_dom_guest_type: by e_machine
        guest = "xen-3.0-x86_32p" if parse.values.get(9) in ("yes", "bimodal") else "xen-3.0-x86_32"
        yield at_elf(
            image,
            f"a 32-bit PV guest: Debian 12's Xen (CONFIG_PV32 off) says "
            f'"xc_dom_compat_check: guest type {guest} not supported by xen '
            'kernel, sorry"',
            0,
            PV,
        )


def _note_check(parse: XenParse) -> str | None:
    if not parse.loader.startswith("generic") and not parse.guest_os.startswith("linux"):
        return (
            'neither LOADER "generic" nor GUEST_OS "linux": Xen says "Will only load images '
            "built for the generic loader or Linux images (Not "
            f"'{parse.loader}' and '{parse.guest_os}') or with PHYS32_ENTRY set\""
        )
    if not parse.xen_version.startswith("xen-3.0"):
        return (
            f'XEN_VERSION is {parse.xen_version or "missing"!r}: Xen says "Xen will only '
            f"load images built for Xen v3.0 (Not '{parse.xen_version}')\""
        )
    return None


def _address_check(parse: XenParse) -> str | None:
    if parse.paddr_offset is not None and parse.virt_base is None:
        return 'PADDR_OFFSET without VIRT_BASE: Xen says "ELF_PADDR_OFFSET set, VIRT_BASE unset"'
    bounds = xen_bounds(parse)
    if bounds is None:
        return 'no loadable PT_LOAD: Xen says "ELF start or entries are out of bounds"'
    kstart, kend, entry = bounds
    virt_base = parse.virt_base or 0
    if kstart > kend or not kstart <= entry <= kend or virt_base > kstart:
        return (
            f"entry {entry:#x} (ENTRY, else e_entry) against the kernel's virtual range "
            f'[{kstart:#x}, {kend:#x}] and VIRT_BASE {virt_base:#x}: Xen says "ELF start '
            'or entries are out of bounds"'
        )
    if parse.p2m_base is not None and kstart <= parse.p2m_base < kend:
        return (
            f"INIT_P2M {parse.p2m_base:#x} lies inside the kernel [{kstart:#x}, {kend:#x}): "
            'Xen says "P->M table base is out of bounds"'
        )
    return None


RULE = Rule(
    id="xen-pv-parse",
    title="Xen's PV builder refuses the Xen notes",
    severity="error",
    targets=PV,
    doc=__doc__ or "",
    check=check,
)
