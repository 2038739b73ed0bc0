"""A Multiboot 1 header just outside the 8 KiB GRUB searches, or running out of it.

What:
  Either a header with a good checksum sits past GRUB's window (GRUB reads 8192
  bytes and tries offsets up to 8180, QEMU only below 8144) while none sits inside,
  or GRUB finds a header so close to 8 KiB that the address or video fields its
  flags call for (32 or 48 bytes) lie past the 8192 bytes GRUB read.

Why:
  A header the loaders never find means `error: no multiboot header found.`: the
  kernel grew (more code or data ahead of the header) and pushed it out. A header
  that straddles the boundary is found, but GRUB then reads header_addr, load_addr
  ... (flag bit 16) or the video mode (bit 2) from memory past its 8 KiB buffer:
  garbage, which made real GRUB 2.06 fail with `error: address is out of range.`.
  QEMU, which scans only below 8144, does not see such a header at all.

Fix:
  Move the header towards the start of the file: put its section first in the
  first PT_LOAD (linker script), keep large tables and padding after it, and check
  that its offset plus 12 (32 with bit 16, 48 with bit 2) stays within 8144 bytes.

Example:
  kernel.bin: mb1-outside-window: Multiboot 1 header at 0x2000 lies past GRUB's window
  (it tries offsets up to 0x1ff4; QEMU below 0x1fd0) (GRUB: "error: no multiboot header
  found.")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.common import layer_size
from pvhlint.loaders.grub import grub_layer, grub_mb1
from pvhlint.model import Image
from pvhlint.multiboot import MB1, QEMU_MB1_LIMIT, Mb1Flag, mb1_header_size
from pvhlint.rule import Hit, Rule

NEAR = 2 * MB1.window  # further out, a magic is more likely data than a lost header


def check(image: Image) -> Iterator[Hit]:
    layer = grub_layer(image)
    read = min(MB1.window, layer_size(image, layer))
    found = grub_mb1(image)
    if found is not None:
        end = found.offset + mb1_header_size(found.flags)
        if end > read and end > MB1.window:
            used = (
                "address fields (flag bit 16)"
                if found.flags & Mb1Flag.AOUT_KLUDGE
                else "video fields"
            )
            yield Hit(f"Multiboot 1 header at {found.offset:#x} (flags {found.flags:#x}) ends at "
                      f"{end:#x}, past the {read} bytes GRUB read: GRUB takes its {used} from "
                      "memory past its buffer, i.e. garbage (real GRUB 2.06: \"error: address "
                      'is out of range.")', layer, found.offset, end - found.offset,
                      rejects=("multiboot1",))  # fmt: skip
        elif end > read:  # the file ends first: the rest of GRUB's 8 KiB buffer, never written
            yield Hit(f"Multiboot 1 header at {found.offset:#x} (flags {found.flags:#x}) ends at "
                      f"{end:#x}, past the end of the file: GRUB reads the missing fields from "
                      "the uninitialised rest of its 8 KiB buffer (measured, GRUB 2.06 loaded "
                      "one such image)", layer, found.offset, end - found.offset)  # fmt: skip
        return
    limit = read - MB1.scan_tail
    for header in image.multiboot:
        if (header.version == 1 and header.layer == layer and header.checksum_ok
                and limit < header.offset < NEAR):  # fmt: skip
            aligned = "" if header.aligned else " (and it is not 4-byte aligned)"
            yield Hit(f"Multiboot 1 header at {header.offset:#x} lies past GRUB's window (it "
                      f"tries offsets up to {limit:#x}; QEMU below {QEMU_MB1_LIMIT:#x})"
                      f"{aligned} (GRUB: \"error: no multiboot header found.\")", layer,
                      header.offset, 12, rejects=("multiboot1",))  # fmt: skip


RULE = Rule(
    id="mb1-outside-window",
    title="Multiboot 1 header outside or straddling GRUB's 8 KiB window",
    severity="error",
    targets=("multiboot1",),
    doc=__doc__ or "",
    check=check,
)
