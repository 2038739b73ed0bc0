"""The Multiboot 2 header names an architecture other than 0 (i386).

What:
  Multiboot 2's architecture field is 0 for 32-bit protected-mode i386 and 4 for
  32-bit MIPS. This header's checksum holds, but its architecture is not 0, and no
  header with architecture 0 exists.

Why:
  GRUB's x86 `multiboot2` loader accepts a header only with architecture 0, so it
  refuses with `error: no multiboot header found.`, while `grub-file
  --is-x86-multiboot2` (which checks only magic and checksum) says yes: install
  scripts such as grub-mkconfig's 20_linux_xen then add a menu entry that cannot
  boot. Often the field holds a value from another header layout (flags, a length)
  after a copy-paste.

Fix:
  Set architecture to 0 and recompute the checksum:
  -(0xE85250D6 + 0 + header_length) mod 2^32.

Example:
  kernel.elf: mb2-architecture: Multiboot 2 header at 0x60 has architecture 4 (MIPS32),
  not 0 (i386): grub-file says yes, GRUB's loader says "error: no multiboot header found."
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 2 architecture is not i386 (0)",
    severity="error",
    explains=(GrubError.MB2_ARCHITECTURE,),
)
