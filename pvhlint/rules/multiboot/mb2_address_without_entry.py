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

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="Multiboot 2 address tag without an entry address tag",
    severity="error",
    explains=(GrubError.MB2_ADDRESS_WITHOUT_ENTRY,),
)
