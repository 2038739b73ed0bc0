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

from collections.abc import Iterator

from pvhlint.loaders import grub_layer, grub_mb1, grub_scan_limit
from pvhlint.model import Image
from pvhlint.multiboot import MB1_MAGIC
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    if grub_mb1(image) is not None:
        return
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 1)
    for header in image.multiboot:
        if (header.version == 1 and header.layer == layer and not header.checksum_ok
                and header.aligned and header.offset <= limit):  # fmt: skip
            want = -(MB1_MAGIC + header.flags) & 0xFFFFFFFF
            yield Hit(f"Multiboot 1 header at {header.offset:#x}: flags {header.flags:#x} need "
                      f"checksum {want:#010x}, found {header.checksum:#010x} (GRUB: \"error: "
                      'no multiboot header found.")', layer, header.offset + 8, 4,
                      rejects=("multiboot1",))  # fmt: skip


RULE = Rule(
    id="mb1-bad-checksum",
    title="Multiboot 1 header checksum wrong",
    severity="error",
    targets=("multiboot1",),
    doc=__doc__ or "",
    check=check,
)
