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

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb2
from pvhlint.model import Image
from pvhlint.multiboot import MB2
from pvhlint.rule import Hit, Rule

from .helpers import NOT_FOUND, field_after_magic

NAMES = {4: "MIPS32"}


def check(image: Image) -> Iterator[Hit]:
    if grub_mb2(image) is not None:
        return
    header = grub_mb2(image, loader=False)
    if header is None:
        return
    name = f" ({NAMES[header.architecture]})" if header.architecture in NAMES else ""
    yield field_after_magic(MB2, header, f"Multiboot 2 header at {header.offset:#x} has "
                            f"architecture {header.architecture}{name}, not 0 (i386): grub-file "
                            f"says yes, GRUB's loader says {NOT_FOUND[6:]}")  # fmt: skip


RULE = Rule(
    id="mb2-architecture",
    title="Multiboot 2 architecture is not i386 (0)",
    severity="error",
    targets=("multiboot2",),
    doc=__doc__ or "",
    check=check,
)
