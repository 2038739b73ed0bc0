"""The Multiboot 2 tag list has no end tag.

What:
  A Multiboot 2 header's tags end with a tag of type 0, flags 0, size 8. Walking
  this header's tags the way GRUB does (from offset 16, each tag's size rounded up
  to 8) reaches the end of the 32 KiB window, or jumps out of it, without meeting
  one.

Why:
  GRUB does not bound the walk by header_length: it keeps reading whatever follows
  the header (code, data, or memory past its 32 KiB buffer) as tags until it meets
  a type-0 word, hangs on a zero size, or fails on a non-optional unknown type
  (`error: unsupported tag: 0x...`). Whether it boots depends on those bytes: a
  test image whose code happened to look like an optional tag with a huge size
  booted. The image works by accident, if at all, and breaks when the code after
  the header changes.

Fix:
  End the tag list with `.short 0, 0; .long 8` (8-byte aligned) and include it in
  header_length.

Example:
  kernel.elf: mb2-missing-end-tag: Multiboot 2 header at 0x60: its 2 tags run out of the
  header without an end tag; GRUB reads on into what follows
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb2
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    header = grub_mb2(image)
    if header is None or ProblemCode.MISSING_END_TAG not in header.problems:
        return
    inside = [tag for tag in header.tags if tag.offset < header.offset + header.header_length]
    yield Hit(f"Multiboot 2 header at {header.offset:#x}: its {len(inside)} tag(s) within "
              f"header_length {header.header_length} and the {len(header.tags) - len(inside)} "
              "after it reach no end tag (type 0, size 8); GRUB reads on into what follows, "
              "so the result depends on those bytes", header.layer, header.offset,
              header.header_length or 16)  # fmt: skip


RULE = Rule(
    title="Multiboot 2 tag list without an end tag",
    severity="error",
    targets=("multiboot2",),
)
