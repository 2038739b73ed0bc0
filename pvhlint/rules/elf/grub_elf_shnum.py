"""GRUB 2.12's multiboot ELF loaders refuse an ELF without a section header count.

What:
  GRUB loads a Multiboot 1 image without the a.out kludge (flag bit 16), or a
  Multiboot 2 image without an address tag, as an ELF. Since GRUB 2.12 its ELF
  loader (multiboot_elfxx.c) asks grub_elfXX_get_shnum for the section count right
  after checking e_type: e_shnum 0 means "the count is in section 0's sh_size", so
  an ELF with e_shnum 0 and e_shoff 0 — no section header table, as objcopy and
  some assemblers leave a kernel — is refused, as is e_shnum 0 with a table whose
  first sh_size is below 0xff00, and an e_shnum of 0xff00 or more. GRUB 2.06 read
  e_shnum as it was and loaded such a file.

Why:
  GRUB 2.12 (Debian 13) stops with `invalid section header table offset in e_shoff`
  (grub.git 27a14a8ae, "elf: Validate number of elf section header table entries";
  checked by booting Debian 13's GRUB in QEMU); Debian 12's GRUB 2.06 boots the same
  file. `grub-file --is-x86-multiboot` does not parse the ELF and says yes in both.

Fix:
  Keep the section header table (a linker's default), or set flag bit 16 with
  address fields (Multiboot 1) / an address tag (Multiboot 2) so GRUB ignores the
  ELF headers.

Example:
  kernel.elf: grub-elf-shnum: Multiboot 1 ELF: e_shnum 0 and e_shoff 0 (no section
  header table): GRUB 2.12 then looks for the count in section 0's sh_size and
  refuses the missing table (GRUB: "error: invalid section header table offset in
  e_shoff." from 2.12; 2.06 loads it)
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="No section header count: GRUB 2.12's multiboot ELF loaders refuse it",
    severity="warning",
    explains=(
        GrubError.ELF_SHNUM_NO_TABLE,
        GrubError.ELF_SHNUM_SH_SIZE,
        GrubError.ELF_SHNUM_E_SHNUM,
    ),
)
