"""A required Multiboot 2 information request asks for a tag GRUB cannot supply.

What:
  The information request tag (type 1) lists Multiboot information tag types the
  kernel wants. Without the optional flag every listed type is a requirement. GRUB
  2.06 and 2.12 supply 0-12 and 14-21; type 13 (SMBIOS tables) and anything above
  21 are refused.

Why:
  GRUB refuses with `error: unsupported information tag: 0x<type>.` (verified:
  `0xd` for SMBIOS, `0x16` for 22) although grub-file says yes. Asking for SMBIOS
  in a required request is the usual cause; a request list read from a wrong size
  (see mb2-malformed-tag) another.

Fix:
  Set the optional flag on the information request (flags = 1): GRUB then supplies
  what it can and the kernel checks what it got. Or drop the types GRUB lacks.

Example:
  kernel.elf: mb2-unsupported-info-request: required information request at 0x70 asks for
  type 13 (SMBIOS) (GRUB: "error: unsupported information tag: 0xd.")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb2
from pvhlint.model import Image
from pvhlint.multiboot import Mb2Tag
from pvhlint.rule import Hit, Rule

SUPPLIED = frozenset(range(22)) - {13}  # GRUB 2.06 multiboot_mbi2.c
NAMES = {13: "SMBIOS"}


def check(image: Image) -> Iterator[Hit]:
    header = grub_mb2(image)
    if header is None:
        return
    for tag in header.tags:
        if tag.type != Mb2Tag.INFORMATION_REQUEST or tag.optional or tag.size < 8:
            continue  # optional, or too short to list anything (mb2-malformed-tag)
        missing = [value for value in tag.fields.get("requests", []) if value not in SUPPLIED]
        if not missing:
            continue
        named = ", ".join(f"{v}" + (f" ({NAMES[v]})" if v in NAMES else "") for v in missing)
        yield Hit(f"required information request at {tag.offset:#x} asks for type {named} "
                  f'(GRUB: "error: unsupported information tag: {missing[0]:#x}.")',
                  header.layer, tag.offset, tag.size, rejects=("multiboot2",))  # fmt: skip


RULE = Rule(
    id="mb2-unsupported-info-request",
    title="required Multiboot 2 information request GRUB cannot satisfy",
    severity="error",
    targets=("multiboot2",),
    doc=__doc__ or "",
    check=check,
)
