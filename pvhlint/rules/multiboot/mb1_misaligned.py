"""A Multiboot 1 header with a good checksum sits at an offset that is not a multiple of 4.

What:
  The magic 0x1BADB002, flags and checksum are all there and sum to zero, inside the
  8 KiB GRUB reads, but the header does not start on a 4-byte boundary, and no
  aligned header exists.

Why:
  GRUB and QEMU both step through the file 4 bytes at a time, so neither sees a
  misaligned header: GRUB refuses with `error: no multiboot header found.` and QEMU
  -kernel takes another path. The usual cause is a `.multiboot` section without
  `.align 4`, or a header placed after an odd-sized blob.

Fix:
  Align the header: `.align 4` before it in assembly, `__attribute__((aligned(4)))`
  in C, or `. = ALIGN(4);` in the linker script before the section.

Example:
  kernel.elf: mb1-misaligned: Multiboot 1 header at 0x1002 is not 4-byte aligned; GRUB
  and QEMU only look at multiples of 4 (GRUB: "error: no multiboot header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 1 header not 4-byte aligned",
    severity="error",
    explains=(GrubError.MB1_MISALIGNED,),
)
