"""GRUB finds the Multiboot 1 header, QEMU -kernel does not.

What:
  GRUB reads the first 8 KiB of the gunzipped file and accepts a header starting up
  to offset 8180. QEMU's -kernel reads the raw file (it does not gunzip) and looks
  only at offsets below 8144 (8192 - 48, so a full 48-byte header fits its buffer).
  This header is visible to GRUB only: it starts at 8144 or later, or the file is
  gzip-compressed.

Why:
  QEMU then does not boot the image as Multiboot: it tries a PVH ELF note (an ELF
  without one fails with "Error loading uncompressed kernel without PVH ELF Note")
  or, for anything that is not an ELF (a .gz file), loads it as an ancient zImage
  and runs garbage without any error (or refuses a small file with "qemu: invalid
  kernel header", see bzimage-truncated). Nothing is refused because of this by
  itself, which is why it is a warning; the path QEMU takes instead is named.

Fix:
  Move the header below offset 8144 (see mb1-outside-window), and give QEMU the
  uncompressed kernel (`gunzip -k kernel.gz`) instead of the .gz file.

Example:
  gnumach.gz: mb1-qemu-window: Multiboot 1 header at gzip+0x1004: QEMU reads the raw
  gzip file (no gunzip), finds no Multiboot header and loads it as an old zImage
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb1
from pvhlint.loaders.qemu import qemu_mb1, qemu_path, qemu_sees_setup
from pvhlint.model import Image
from pvhlint.multiboot import QEMU_MB1_LIMIT
from pvhlint.rule import Hit, Rule

INSTEAD = {
    "pvh": "tries the PVH ELF note instead",
    "zimage": "loads it as an ancient zImage (the guest runs garbage)",
    "linux": "boots it with the Linux boot protocol",
}


def check(image: Image) -> Iterator[Hit]:
    found = grub_mb1(image)
    if found is None or qemu_mb1(image) is not None:
        return
    if qemu_sees_setup(image):
        return  # QEMU takes the Linux boot protocol first and never looks for Multiboot
    instead = INSTEAD[qemu_path(image)]
    if found.layer != 0:
        yield Hit(f"Multiboot 1 header at gzip+{found.offset:#x}: QEMU reads the raw gzip file "
                  f"(no gunzip), finds no Multiboot header and {instead}", found.layer,
                  found.offset, 12)  # fmt: skip
    elif found.offset >= QEMU_MB1_LIMIT:
        yield Hit(f"Multiboot 1 header at {found.offset:#x}: GRUB finds it, QEMU scans only "
                  f"below {QEMU_MB1_LIMIT:#x} (8144) and {instead}", found.layer,
                  found.offset, 12)  # fmt: skip


RULE = Rule(
    title="Multiboot 1 header GRUB finds but QEMU -kernel does not",
    severity="warning",
    targets=("qemu",),
)
