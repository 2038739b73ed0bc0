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

from collections.abc import Iterator

from pvhlint.loaders import grub_layer, grub_mb2, grub_scan_limit
from pvhlint.model import Image
from pvhlint.multiboot import MB2_MAGIC
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    if grub_mb2(image) is not None:
        return
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 2)
    for header in image.multiboot:
        if (header.version == 2 and header.layer == layer and not header.checksum_ok
                and header.aligned and header.offset <= limit):  # fmt: skip
            want = -(MB2_MAGIC + header.architecture + header.header_length) & 0xFFFFFFFF
            yield Hit(f"Multiboot 2 header at {header.offset:#x}: architecture "
                      f"{header.architecture} and header_length {header.header_length} need "
                      f"checksum {want:#010x}, found {header.checksum:#010x} (GRUB: \"error: no "
                      'multiboot header found.")', layer, header.offset + 12, 4,
                      rejects=("multiboot2",))  # fmt: skip


RULE = Rule(
    id="mb2-bad-checksum",
    title="Multiboot 2 header checksum wrong",
    severity="error",
    targets=("multiboot2",),
    doc=__doc__ or "",
    check=check,
)
