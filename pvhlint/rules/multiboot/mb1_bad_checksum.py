"""A Multiboot 1 magic inside GRUB's window whose checksum is wrong.

What:
  An aligned 0x1BADB002 sits in the first 8 KiB, but magic + flags + checksum is
  not 0 mod 2^32, and no other usable header exists. The finding names the checksum
  the flags call for.

Why:
  GRUB and QEMU take a magic only when the three words sum to zero, so this header
  is invisible to both: GRUB refuses with `error: no multiboot header found.`.
  Typical causes: flags changed without recomputing the checksum, a checksum
  computed as `-(magic + flags)` in a wider type and truncated wrongly, or a
  binary patched after the build.

Fix:
  Set checksum = -(0x1BADB002 + flags) mod 2^32; in GNU as:
  `.long -(0x1BADB002 + FLAGS)`.

Example:
  kernel.elf: mb1-bad-checksum: Multiboot 1 header at 0x1000: flags 0x3 need checksum
  0xe4524ffb, found 0xe4524ffe (GRUB: "error: no multiboot header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 1 header checksum wrong",
    severity="error",
    explains=(GrubError.MB1_BAD_CHECKSUM,),
)
