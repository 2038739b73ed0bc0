"""Multiboot 1 flags request features GRUB does not implement (bits 3-15).

What:
  Flag bits 0-15 of a Multiboot 1 header are requirements: a loader that does not
  know a set bit must refuse the image. Bits 0 (page-aligned modules), 1 (memory
  map) and 2 (video mode) are defined; this header sets one of bits 3-15.

Why:
  GRUB 2.06 refuses with `error: unsupported flag: 0x<flags>.` (it prints the whole
  flags word, e.g. 0x1000b for bit 3 with bits 0, 1 and 16). QEMU -kernel ignores
  these bits and boots the image anyway, so the image works in QEMU and fails on
  real hardware. Usually a flags constant built from the wrong macros (a Multiboot 2
  value, a typo'd shift) or a header corrupted by a patch.

Fix:
  Clear the undefined bits and recompute the checksum: -(0x1BADB002 + flags).
  Bits 16-31 are optional and ignored when unknown; only bit 16 (a.out kludge) is
  defined.

Example:
  kernel.elf: mb1-unsupported-flags: Multiboot 1 flags 0x1000b set bit 3, which no loader
  defines (GRUB: "error: unsupported flag: 0x1000b."; QEMU ignores it)
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 1 requirement flags GRUB refuses",
    severity="error",
    explains=(GrubError.MB1_UNSUPPORTED_FLAG,),
)
