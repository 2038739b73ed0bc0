"""The program header table, or a PT_LOAD or PT_NOTE segment, runs past the end of the file.

What:
  Every program header names a range of the file, [p_offset, p_offset +
  p_filesz). For at least one PT_LOAD or PT_NOTE segment that range ends after
  the last byte of the file, or the program header table itself (e_phoff +
  e_phnum * e_phentsize) does: the file was truncated (an interrupted copy or
  download, a build step that cut it short) or the header is wrong.

Why:
  QEMU reads the table and every such PT_LOAD while loading an ELF (through its PVH and
  its Multiboot ELF path), and every PT_NOTE on the PVH path only (where it looks for the
  PVH note), and gives up with `Error while loading elf kernel`. Other
  loaders read zeros or garbage, or fail later with less clear messages.

Fix:
  Copy or download the kernel again and compare its size with the original; if
  the file is complete, the program headers were written wrongly by the tool
  that produced it.

Example:
  vmlinux: elf-segment-past-eof: PT_NOTE 1 ends at 0x1074, past the end of the file
  (0x1000 bytes): QEMU says "Error while loading elf kernel"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.qemu import QemuError, elf_past_eof
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """The cuts no loader refuses for (QEMU does not read them there); the rest are
    QemuError.PHDR_TABLE_PAST_EOF and SEGMENT_PAST_EOF."""
    for cut in elf_past_eof(image):
        if not cut.refused:
            yield Hit(cut.detail, 0, cut.offset, cut.length)


RULE = Rule(
    title="Program headers or a segment run past the end of the file",
    severity="error",
    targets=("qemu", "xen-pvh", "xen-pv", "multiboot1", "rust-vmm"),
    explains=(
        QemuError.PHDR_TABLE_PAST_EOF,
        QemuError.SEGMENT_PAST_EOF,
        QemuError.SEGMENT_OUTSIDE_FILE,
    ),
)
