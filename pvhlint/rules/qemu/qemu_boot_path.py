"""QEMU -kernel takes a boot path other than the one the image seems built for.

What:
  QEMU decides in a fixed order: "HdrS" at 0x202 → Linux boot protocol; else a
  Multiboot 1 header in the first 8144 bytes → multiboot; else an ELF → PVH;
  else the file is loaded as an ancient zImage, with one check: the file must be
  at least (setup_sects + 1) * 512 bytes, setup_sects being whatever byte sits
  at 0x1F1 (0 counts as 4).

Why:
  An ELF that has both a Multiboot 1 header and a PVH note is always booted as
  multiboot, never through PVH. A gzip-compressed kernel (xen.gz, gnumach.gz)
  is not unpacked: QEMU loads it as a zImage and the guest runs garbage with no
  error at all (or, for a small file, refuses it: see bzimage-truncated).

Fix:
  Give QEMU the uncompressed ELF (`gunzip`), and drop the multiboot header if
  the kernel should boot through PVH under QEMU.

Example:
  xen.gz: qemu-boot-path: QEMU does not unwrap gzip: it loads this file as an old zImage
  and the guest runs garbage, with no error
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.qemu import qemu_mb1, qemu_path, qemu_pvh
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.xennotes import XenNote


def check(image: Image) -> Iterator[Hit]:
    path = qemu_path(image)
    if path == "zimage":
        what = "does not unwrap gzip" if image.format == "gzip" else "finds no header it knows"
        if image.size < ((image.setup_sects_byte or 4) + 1) * 512:
            return  # too small even for that: bzimage-truncated says QEMU refuses it
        yield Hit(
            f"QEMU {what}: it loads this file as an old zImage and the guest runs "
            "garbage, with no error",
            0,
            0,
        )
    elif path == "multiboot" and image.elf is not None and image.elf.layer == 0:
        header = qemu_mb1(image)
        assert header is not None
        pvh = image.elf.notes_of_type(XenNote.PHYS32_ENTRY) or qemu_pvh(image).note
        if pvh:
            yield Hit(
                f"the Multiboot 1 header at {header.offset:#x} wins: QEMU boots this "
                "ELF as multiboot, never through its PVH entry",
                0,
                header.offset,
                12,
            )


RULE = Rule(
    title="QEMU -kernel takes another boot path than intended",
    severity="warning",
    targets=("qemu",),
)
