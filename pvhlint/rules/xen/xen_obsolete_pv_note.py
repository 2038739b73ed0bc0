"""A PV-era Xen note a PVH-only kernel no longer needs.

What:
  XEN_ELFNOTE_VIRT_BASE (3), HYPERCALL_PAGE (2), HV_START_LOW (12), PAE_MODE (9)
  and L1_MFN_VALID (13) describe the Xen PV interfaces. A PVH guest starts in
  32-bit protected mode with paging off at PHYS32_ENTRY, fills its hypercall
  page through an MSR and maps shared info with a hypercall: Xen's PVH builder
  forces VIRT_BASE to 0 and ignores the other four.

Why:
  This rule runs only for a kernel declared PVH-only (`check --pvh-only`, or
  `pvh-only = true` in the configuration); `--require xen-pvh` alone asks that
  Xen boots the image as PVH, which a kernel with these notes does (Debian's
  stock kernels carry them and boot fine). For a PVH-only kernel the notes are
  dead weight that keeps a PV boot path looking supported (a PV domain builder
  still reads them), and they are what kernel configs without CONFIG_XEN_PV
  stop emitting. They are errors by default so that a build step that declares
  a PVH-only kernel stops until they are gone; lower the severity in the
  config if you only want a report.

Fix:
  `pvhlint fix --drop-obsolete-notes IMAGE` removes the five notes in place
  (`--dry-run` shows the change first); at the source, build without
  CONFIG_XEN_PV.

Example:
  vmlinuz: xen-obsolete-pv-note: XEN_ELFNOTE_VIRT_BASE (3) = 0xffffffff80000000 is
  obsolete for a PVH-only guest
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule, Scope
from pvhlint.rulekit import at_note, libelf_notes, name
from pvhlint.values import plain_value
from pvhlint.xennotes import OBSOLETE_FOR_PVH


def check(image: Image) -> Iterator[Hit]:
    for note in libelf_notes(image):
        if note.type in OBSOLETE_FOR_PVH:
            yield at_note(
                note, f"{name(note)} = {plain_value(note.value)} is obsolete for a PVH-only guest"
            )


def pvh_only(scope: Scope) -> bool:
    return scope.pvh_only


RULE = Rule(
    title="PV-era Xen note in a PVH-only kernel",
    severity="error",
    targets=("xen-pvh",),
    when=pvh_only,
    fix="pvhlint fix --drop-obsolete-notes",
)
