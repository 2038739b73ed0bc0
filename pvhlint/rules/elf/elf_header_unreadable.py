"""The file starts with the ELF magic, but no ELF header can be read from it.

What:
  The first four bytes are \\x7fELF, but the file ends before the 16-byte
  e_ident or before the rest of the ELF header (52 bytes for ELF32, 64 for
  ELF64), or EI_DATA (byte 5) is neither 1 (little-endian) nor 2 (big-endian).

Why:
  QEMU -kernel sees the magic and hands the file to load_elf
  (include/hw/elf_ops.h), which cannot read the header (or refuses the byte
  order) and fails: "Error while loading elf kernel". libxenguest's ELF probe and
  GRUB refuse it as not an ELF; no loader boots it. It is almost always a
  truncated copy.

Fix:
  Copy the kernel again; compare its size with the build's vmlinux.

Example:
  vmlinux: elf-header-unreadable: not an ELF file (no \\x7fELF magic): QEMU's
  load_elf says "Error while loading elf kernel"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.qemu import QemuError, qemu_path
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    if qemu_path(image) == "pvh":
        return  # QEMU's load_elf refuses it: QemuError.ELF_HEADER_UNREADABLE tells it
    for problem in image.problems:
        if problem.code == ProblemCode.ELF_HEADER_UNREADABLE:  # Multiboot ran first in QEMU
            yield Hit(problem.message, problem.layer, 0, 4)


RULE = Rule(
    title="ELF magic without a readable ELF header (a truncated file)",
    severity="error",
    targets=("qemu", "xen-pvh", "xen-pv", "multiboot1", "multiboot2"),
    explains=(QemuError.ELF_HEADER_UNREADABLE,),
)
