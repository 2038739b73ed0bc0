"""The bzImage's boot_flag at 0x1FE is not 0xAA55.

What:
  The setup header has "HdrS" and a protocol version, but the boot-sector
  signature at 0x1FE, which the Linux boot protocol requires to be 0xAA55, holds
  something else.

Why:
  GRUB's `linux` checks boot_flag first and refuses with `error: invalid magic
  number.` (verified with GRUB 2.06), and `grub-file --is-x86-linux` says no, so
  grub-mkconfig leaves the kernel out. QEMU and Xen look only at "HdrS" and boot
  it. A tool that rewrote the first sector (a PE/COFF header patch, a signing tool
  gone wrong) is the usual cause.

Fix:
  Write 0x55 0xAA at offsets 0x1FE-0x1FF, then recompute the CRC32 trailer
  (`pvhlint fix` does both).

Example:
  vmlinuz: bzimage-boot-flag: boot_flag 0x0000 at 0x1fe, not 0xAA55 (GRUB linux: "error:
  invalid magic number.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="bzImage boot_flag is not 0xAA55",
    severity="error",
    explains=(GrubError.LINUX_BOOT_FLAG,),
)
