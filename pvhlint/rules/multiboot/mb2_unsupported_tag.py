"""A non-optional Multiboot 2 tag that GRUB does not implement.

What:
  Multiboot 2 tags without the optional flag (flags bit 0) are requirements: a
  loader that does not implement the tag must refuse the image. GRUB 2.06 and 2.12
  implement tags 1-7, 9 and 10; tag 8 (EFI i386 entry address) and any type above
  10 are not handled. This header has such a tag without the optional flag.

Why:
  GRUB refuses with `error: unsupported tag: 0x<type>.` (verified with GRUB 2.06:
  `unsupported tag: 0x8.` for a required EFI i386 entry tag), while
  `grub-file --is-x86-multiboot2` still says yes. Kernels written against the spec,
  which defines tag 8, hit this when they mark it required.

Fix:
  Set the optional flag (flags = 1) on tags a loader may ignore, tag 8 above all;
  keep required only what the kernel cannot boot without.

Example:
  kernel.elf: mb2-unsupported-tag: Multiboot 2 tag 8 (EFI i386 entry address) at 0x70 is
  not optional and GRUB does not implement it (GRUB: "error: unsupported tag: 0x8.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="required Multiboot 2 tag GRUB does not implement",
    severity="error",
    explains=(GrubError.MB2_UNSUPPORTED_TAG,),
)
