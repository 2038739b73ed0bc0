"""A Multiboot 1 header with a good checksum sits at an offset that is not a multiple of 4.

What:
  The magic 0x1BADB002, flags and checksum are all there and sum to zero, inside the
  8 KiB GRUB reads, but the header does not start on a 4-byte boundary, and no
  aligned header exists.

Why:
  GRUB and QEMU both step through the file 4 bytes at a time, so neither sees a
  misaligned header: GRUB refuses with `error: no multiboot header found.` and QEMU
  -kernel takes another path. The usual cause is a `.multiboot` section without
  `.align 4`, or a header placed after an odd-sized blob.

Fix:
  Align the header: `.align 4` before it in assembly, `__attribute__((aligned(4)))`
  in C, or `. = ALIGN(4);` in the linker script before the section.

Example:
  kernel.elf: mb1-misaligned: Multiboot 1 header at 0x1002 is not 4-byte aligned; GRUB
  and QEMU only look at multiples of 4 (GRUB: "error: no multiboot header found.")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders import grub_layer, grub_mb1, grub_scan_limit
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    if grub_mb1(image) is not None:
        return
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 1)
    for header in image.multiboot:
        if (header.version == 1 and header.layer == layer and header.checksum_ok
                and not header.aligned and header.offset <= limit):  # fmt: skip
            yield Hit(f"Multiboot 1 header at {header.offset:#x} (flags {header.flags:#x}) is "
                      f"not 4-byte aligned ({header.offset % 4} past a multiple of 4); GRUB "
                      "and QEMU only look at multiples of 4 (GRUB: \"error: no multiboot "
                      'header found.")', layer, header.offset, 12,
                      rejects=("multiboot1",))  # fmt: skip


RULE = Rule(
    id="mb1-misaligned",
    title="Multiboot 1 header not 4-byte aligned",
    severity="error",
    targets=("multiboot1",),
    doc=__doc__ or "",
    check=check,
)
