"""A Multiboot 2 tag whose size is wrong for its type.

What:
  Every tag starts with type (u16), flags (u16) and size (u32, the 8-byte header
  included, padding excluded), and the next tag starts at the size rounded up to 8.
  Each defined tag has a fixed size (entry address 12, address 24, framebuffer 20,
  relocatable 24, ...; an information request 8 + 4n). Here a tag is smaller than
  its own 8-byte header, or its size differs from its type's.

Why:
  GRUB 2.06 does not check sizes, with these consequences (verified): a tag of size
  0 is never stepped over, so GRUB walks the same tag forever and hangs; a
  non-optional information request smaller than 8 bytes has a negative request
  count, so GRUB reads on past the tag until some word is not a known type (`error:
  unsupported information tag: 0x...`); a size of 1 to 7 advances 8 bytes and GRUB
  goes on; a size too small for the type makes GRUB read the type's fields from
  the following bytes (the next tag); an end tag of any size ends the list. The
  first two refuse the boot; the others load with wrong values or are harmless, and
  tools that follow the sizes read a different tag list.

Fix:
  Emit each tag with its spec size (use the C structures of multiboot2.h, or labels
  around each tag: `.long tag_end - tag_start`), 8-byte align every tag, and end
  the list with type 0, flags 0, size 8.

Example:
  kernel.elf: mb2-malformed-tag: Multiboot 2 tag 6 (module alignment) at 0x70 has size 0:
  GRUB never steps past it and hangs
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import GrubError, grub_mb2, grub_request_overruns, grub_tag_hangs
from pvhlint.model import Image, MultibootTag
from pvhlint.multiboot import Mb2Tag
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """The sizes GRUB reads past without refusing (its refusals: pvhlint.loaders.grub)."""
    header = grub_mb2(image)
    if header is None:
        return
    for tag in header.tags:
        text = _problem(tag)
        if text is not None:
            yield Hit(f"Multiboot 2 tag {tag.type} ({tag.name}) at {tag.offset:#x} {text}",
                      header.layer, tag.offset + 4, 4)  # fmt: skip


def _problem(tag: MultibootTag) -> str | None:
    if grub_tag_hangs(tag) or grub_request_overruns(tag):
        return None  # GRUB's own errors: GrubError.MB2_TAG_SIZE_ZERO, MB2_INFO_REQUEST_SHORT
    if tag.size < 8:
        if tag.type == Mb2Tag.END:
            return f"has size {tag.size}, not 8 (GRUB stops at any end tag; others may not)"
        return (f"has size {tag.size}, below its 8-byte header (GRUB steps 8 bytes and reads "
                "the next tag from there)")  # fmt: skip
    expected = tag.fields.get("size_expected")
    if expected is not None:
        return (f"has size {tag.size}, not {expected}: GRUB reads its {expected - 8} bytes of "
                "fields regardless")  # fmt: skip
    if tag.type == Mb2Tag.INFORMATION_REQUEST and (tag.size - 8) % 4:
        return f"has size {tag.size}, not 8 + 4n: the last {(tag.size - 8) % 4} bytes are ignored"
    return None


RULE = Rule(
    title="Multiboot 2 tag with a wrong size",
    severity="warning",
    explains=(
        GrubError.MB2_TAG_SIZE_ZERO,
        GrubError.MB2_INFO_REQUEST_SHORT,
    ),
)
