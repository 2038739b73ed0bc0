"""GRUB's Multiboot 2 ELF loader refuses this ELF (no address tag).

What:
  Without an address tag GRUB's `multiboot2` loads the file as an ELF, with the
  same checks as for Multiboot 1 (see mb1-elf-loader) but reading the program
  headers from the first 32 KiB: an ELF at all; ELF32 with EM_386 or ELF64 with
  EM_X86_64; ET_EXEC or ET_DYN; program headers within 32768 bytes; every ELF64
  PT_LOAD below 4 GiB; with a relocatable tag (10), the image's span fitting
  [min_addr, max_addr]; each PT_LOAD placeable and present in the file; e_entry in
  a program header. Then, unlike Multiboot 1, no section may be SHT_REL or
  SHT_RELA (checked when pvhlint read the section headers). A big-endian or non-x86
  ELF is reported by elf-unsupported-machine.

Why:
  Each is fatal in GRUB 2.06 (verified on i386-pc): `invalid arch-dependent ELF
  magic`, `this ELF file is not of the right type`, `program header at a too high
  offset`, `segment crosses 4 GiB border`, `invalid min/max address and/or load
  size`, `address is out of range`, `premature end of file`, `entry point isn't in
  a segment`, `invalid entry point for ELF64`, `ELF files with relocs are not
  supported yet`. grub-file, which checks only the header, says yes to all of them.

Fix:
  Link as ET_EXEC without relocation sections (`-no-pie`, or strip them with
  `objcopy --remove-section` on a kernel that does not need them), keep the program
  headers right after the ELF header, and make the relocatable tag's range large
  enough; or use an address tag with an entry tag.

Example:
  kernel.elf: mb2-elf-loader: Multiboot 2 ELF: the relocatable tag allows [0x200000,
  0x200100] but the image needs 0x1100 bytes (GRUB: "error: invalid min/max address
  and/or load size.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import MB2_ELF
from pvhlint.rule import Rule

RULE = Rule(
    title="GRUB's Multiboot 2 ELF loader refuses the ELF",
    severity="error",
    explains=MB2_ELF.codes,
)
