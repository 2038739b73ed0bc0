"""The Multiboot 2 header_length does not match where the tags end.

What:
  header_length should count the whole header: the 16 fixed bytes plus every tag,
  up to and including the end tag (type 0, size 8). Here the end tag does not end
  at offset + header_length ("length-mismatch"), or the tags run on past
  header_length before the end tag ("tags-past-length").

Why:
  GRUB 2.06 uses header_length only in the checksum and walks the tags to the end
  tag, so it boots the image (verified); other loaders and tools that trust
  header_length (parsers that copy the header, or that bound the tag walk by it)
  read a truncated tag list or trailing garbage. It also means the header was not
  laid out the way its author thought: a tag added after the length was computed.

Fix:
  Compute header_length from labels around the whole header including the end tag
  (`.long header_end - header_start`, header_end after the end tag) and recompute
  the checksum.

Example:
  xen.gz: mb2-header-length: Multiboot 2 header at 0x98: header_length 40 but the end tag
  ends at 0x20 past the header (GRUB ignores header_length; other parsers trust it)
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb2
from pvhlint.model import Image, ProblemCode
from pvhlint.multiboot import Mb2Tag
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    header = grub_mb2(image) or grub_mb2(image, loader=False)
    if header is None:
        return
    problems = set(header.problems)
    if not problems & {ProblemCode.LENGTH_MISMATCH, ProblemCode.TAGS_PAST_LENGTH}:
        return
    ends = [tag for tag in header.tags if tag.type == Mb2Tag.END and tag.size >= 8]
    if ends:
        end = ends[0].offset + ends[0].size - header.offset
        where = f"the end tag ends at {end:#x} past the header"
    else:
        where = "the tags run past it without an end tag"
    yield Hit(f"Multiboot 2 header at {header.offset:#x}: header_length "
              f"{header.header_length} but {where} (GRUB ignores header_length; other parsers "
              "trust it)", header.layer, header.offset + 8, 4)  # fmt: skip


RULE = Rule(
    title="Multiboot 2 header_length inconsistent with the tags",
    severity="warning",
    targets=("multiboot2",),
)
