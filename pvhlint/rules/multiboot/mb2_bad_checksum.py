"""A Multiboot 2 magic inside GRUB's window whose checksum is wrong.

What:
  An 8-byte aligned 0xE85250D6 sits in the first 32 KiB but magic + architecture +
  header_length + checksum is not 0 mod 2^32, and GRUB finds no other header. The
  finding names the checksum the other fields call for.

Why:
  GRUB takes a header only when the four words sum to zero: it refuses with
  `error: no multiboot header found.`, and `grub-file --is-x86-multiboot2` says no.
  Usually header_length changed (a tag added or removed) without the checksum
  following, or the checksum was computed before the assembler knew the length.

Fix:
  checksum = -(0xE85250D6 + architecture + header_length) mod 2^32, computed from
  labels: `.long -(0xE85250D6 + 0 + (header_end - header_start))`.

Example:
  kernel.elf: mb2-bad-checksum: Multiboot 2 header at 0x1000: architecture 0 and
  header_length 24 need checksum 0x17adaf12, found 0x12345678 (GRUB: "error: no multiboot
  header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 2 header checksum wrong",
    severity="error",
    explains=(GrubError.MB2_BAD_CHECKSUM,),
)
