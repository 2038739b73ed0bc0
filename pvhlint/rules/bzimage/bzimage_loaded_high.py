"""The bzImage's LOADED_HIGH flag is clear: a zImage, loaded low.

What:
  Bit 0 of loadflags (0x211), LOADED_HIGH, tells loaders that the protected-mode
  kernel goes at 0x100000 (a bzImage). Clear means a zImage, whose protected-mode
  part must be loaded at 0x10000 and be under 512 KiB.

Why:
  GRUB's 32-bit `linux` path refuses with `error: zImage doesn't support 32-bit
  boot` (verified with GRUB 2.06, which adds "try with linux16" on BIOS). QEMU loads
  it low, which a modern kernel overwrites itself in. Every kernel since 2.6 sets
  the bit; a cleared one points at a patched or corrupted header.

Fix:
  Set bit 0 of the byte at 0x211 and recompute the CRC32 trailer (`pvhlint fix`), or
  boot with `linux16` if it really is an ancient zImage.

Example:
  vmlinuz: bzimage-loaded-high: loadflags 0x0 at 0x211 without LOADED_HIGH (GRUB linux:
  "error: zImage doesn't support 32-bit boot")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="bzImage without LOADED_HIGH (zImage)",
    severity="error",
    explains=(GrubError.LINUX_ZIMAGE,),
)
