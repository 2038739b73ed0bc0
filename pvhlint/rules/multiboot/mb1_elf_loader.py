"""GRUB's Multiboot 1 ELF loader refuses this ELF (flag bit 16 clear).

What:
  Without the a.out kludge (flag bit 16) GRUB loads the file as an ELF, reading
  the program headers from the same first 8 KiB it searched. In order, it needs:
  an ELF at all; ELF32 with EM_386 or ELF64 with EM_X86_64; e_type ET_EXEC or
  ET_DYN; program headers ending within 8192 bytes; for ELF64 every PT_LOAD below
  4 GiB by physical address; each PT_LOAD placeable below 4 GiB and present in the
  file; and e_entry inside some program header's [p_vaddr, p_vaddr + p_memsz),
  which for ELF64 must translate to a physical address below 4 GiB. The rule
  reports the first of these that fails, with GRUB's message. A big-endian or
  non-x86 ELF is reported by elf-unsupported-machine instead.

Why:
  Each check is fatal in GRUB 2.06 (verified on i386-pc): `invalid arch-dependent
  ELF magic`, `this ELF file is not of the right type`, `program header at a too
  high offset`, `segment crosses 4 GiB border`, `address is out of range`,
  `premature end of file`, `entry point isn't in a segment`, `invalid entry point
  for ELF64`. QEMU's Multiboot path is laxer (it takes EM_386 ELF64, ET_REL, any
  program header offset, and ignores the entry check) but fails the same way on a
  file that is not an ELF or whose segments run past the end of the file
  (`Error while loading elf kernel`).

Fix:
  Link as ET_EXEC with the program headers right after the ELF header (the
  default); keep e_machine consistent with the class; make e_entry the virtual
  address of the entry code; or set flag bit 16 with address fields so the loader
  ignores the ELF headers.

Example:
  kernel.elf: mb1-elf-loader: e_entry 0x5000000 lies in no program header's [p_vaddr,
  p_vaddr + p_memsz) (GRUB: "error: entry point isn't in a segment.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import MB1_ELF
from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="GRUB's Multiboot 1 ELF loader refuses the ELF",
    severity="error",
    explains=(*MB1_ELF.codes, QemuError.MB1_NOT_ELF, QemuError.MB1_ELF_TRUNCATED),
)
