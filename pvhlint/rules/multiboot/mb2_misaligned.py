"""A Multiboot 2 header with a good checksum sits at an offset that is not a multiple of 8.

What:
  The magic 0xE85250D6, architecture, header_length and checksum sum to zero inside
  the first 32 KiB, but the header does not start on an 8-byte boundary, and GRUB
  finds no aligned header.

Why:
  Multiboot 2 requires 8-byte alignment and GRUB (both the `multiboot2` loader and
  `grub-file --is-x86-multiboot2`) steps through the file 8 bytes at a time, so it
  refuses with `error: no multiboot header found.`. A header that is only 4-byte
  aligned, as a Multiboot 1 habit would leave it, is the classic cause.

Fix:
  `.align 8` before the header (and before each tag: every tag starts 8-byte
  aligned), or `. = ALIGN(8);` in the linker script.

Example:
  kernel.elf: mb2-misaligned: Multiboot 2 header at 0x1004 is not 8-byte aligned (GRUB:
  "error: no multiboot header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 2 header not 8-byte aligned",
    severity="error",
    explains=(GrubError.MB2_MISALIGNED,),
)
