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
from pvhlint.loaders.grub import GrubError, grub_layer, grub_mb1
from pvhlint.model import Image
from pvhlint.multiboot import MB1, mb1_header_size
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """A header GRUB finds whose fields run past the end of a file shorter than 8 KiB: GRUB
    reads them from the rest of its buffer, never written, and may load it. No refusal."""
    found = grub_mb1(image)
    if found is None:
        return
    read = min(MB1.window, layer_size(image, grub_layer(image)))
    end = found.offset + mb1_header_size(found.flags)
    if read < end <= MB1.window:
        yield Hit(f"Multiboot 1 header at {found.offset:#x} (flags {found.flags:#x}) ends at "
                  f"{end:#x}, past the end of the file: GRUB reads the missing fields from "
                  "the uninitialised rest of its 8 KiB buffer (measured, GRUB 2.06 loaded "
                  "one such image)", found.layer, found.offset, end - found.offset)  # fmt: skip


RULE = Rule(
    title="Multiboot 1 header outside or straddling GRUB's 8 KiB window",
    severity="error",
    explains=(
        GrubError.MB1_OUTSIDE_WINDOW,
        GrubError.MB1_FIELDS_PAST_BUFFER,
    ),
)
