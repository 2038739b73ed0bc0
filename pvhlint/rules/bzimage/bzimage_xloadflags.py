"""The bzImage's XLF_KERNEL_64 flag disagrees with the ELF class of its payload.

What:
  xloadflags bit 0 (XLF_KERNEL_64, protocol 2.12+) says the kernel has the 64-bit
  entry point at startup_32 + 0x200, which 64-bit loaders (kexec, EFI handover,
  Xen's PVH-capable paths built for x86-64) may jump to in long mode. An x86-64
  kernel's payload is an ELF64 and sets the bit; a 32-bit kernel's is an ELF32 and
  does not. Here they disagree.

Why:
  With the bit set on a 32-bit kernel, a 64-bit loader enters 32-bit code in long
  mode and the guest crashes at once. With the bit clear on a 64-bit kernel,
  64-bit loaders refuse it (kexec: "Not a bzImage64. XLF_KERNEL_64 is not set.")
  or fall back to the 32-bit entry. Neither GRUB nor QEMU (which use the 16- or
  32-bit entry) refuse it, hence a warning; it means the header and the payload
  come from different builds, or xloadflags was edited.

Fix:
  Rebuild, or restore xloadflags as the build wrote it (bit 0 set exactly for
  x86-64 kernels) and recompute the CRC32 trailer (`pvhlint fix`).

Example:
  vmlinuz: bzimage-xloadflags: xloadflags 0x3 at 0x236 set XLF_KERNEL_64 but the payload is
  an ELF32: a 64-bit loader would enter 32-bit code in long mode
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.bzimage import FIELD_OFFSETS
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule

XLF_KERNEL_64 = 0x1


def check(image: Image) -> Iterator[Hit]:
    setup, elf = image.setup, image.elf
    if setup is None or elf is None or elf.layer == 0:
        return  # the payload ELF was not reached
    flags = setup.fields.get("xloadflags")
    if flags is None:
        return  # protocol < 2.12: no xloadflags
    offset, size = FIELD_OFFSETS["xloadflags"]
    if flags & XLF_KERNEL_64 and elf.elf_class == 32:
        yield Hit(f"xloadflags {flags:#x} at {offset:#x} set XLF_KERNEL_64 but the payload is an "
                  "ELF32: a 64-bit loader would enter 32-bit code in long mode", setup.layer,
                  offset, size)  # fmt: skip
    elif not flags & XLF_KERNEL_64 and elf.elf_class == 64:
        yield Hit(f"xloadflags {flags:#x} at {offset:#x} lack XLF_KERNEL_64 but the payload is an "
                  "ELF64: 64-bit loaders (kexec) refuse it or take the 32-bit entry",
                  setup.layer, offset, size)  # fmt: skip


RULE = Rule(
    title="bzImage XLF_KERNEL_64 inconsistent with the payload's ELF class",
    severity="warning",
    targets=("linux",),
)
