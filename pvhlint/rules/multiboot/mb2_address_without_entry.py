"""A Multiboot 2 address tag without an entry address tag.

What:
  With an address tag (type 2) GRUB loads the file by its header_addr, load_addr,
  load_end_addr and bss_end_addr instead of by the ELF program headers, and the
  entry point must then come from an entry address tag (type 3). This header has
  the address tag but no entry tag.

Why:
  GRUB refuses with `error: load address tag without entry address tag.` (verified
  with GRUB 2.06 on BIOS). The only exception is GRUB on x86-64 EFI with the EFI
  boot services tag (7) and the EFI amd64 entry tag (9), which it then jumps to;
  everywhere else the image cannot boot.

Fix:
  Add an entry address tag (type 3, size 12) holding the physical entry point, or
  drop the address tag and let GRUB use the ELF headers.

Example:
  kernel.elf: mb2-address-without-entry: Multiboot 2 address tag at 0x70 but no entry
  address tag (GRUB: "error: load address tag without entry address tag.")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb2
from pvhlint.model import Image
from pvhlint.multiboot import Mb2Tag
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    header = grub_mb2(image)
    if header is None:
        return
    types = {tag.type for tag in header.tags}
    address = next((tag for tag in header.tags if tag.type == Mb2Tag.ADDRESS), None)
    if address is None or Mb2Tag.ENTRY_ADDRESS in types:
        return
    efi_entry = {Mb2Tag.EFI_BS, Mb2Tag.ENTRY_ADDRESS_EFI64}
    efi = " (only GRUB on x86-64 EFI boots it, through tags 7 and 9)" if efi_entry <= types else ""
    yield Hit(f"Multiboot 2 address tag at {address.offset:#x} but no entry address tag{efi} "
              '(GRUB: "error: load address tag without entry address tag.")', header.layer,
              address.offset, address.size, rejects=("multiboot2",))  # fmt: skip


RULE = Rule(
    id="mb2-address-without-entry",
    title="Multiboot 2 address tag without an entry address tag",
    severity="error",
    targets=("multiboot2",),
    doc=__doc__ or "",
    check=check,
)
