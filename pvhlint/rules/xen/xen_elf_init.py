"""libelf refuses the ELF before reading a note: its header tables end past the image.

What:
  libelf's elf_init, the first thing Xen's toolstack does with an ELF kernel,
  computes where the program header table ends (e_phoff + e_phentsize *
  e_phnum) and where the section header table ends (e_shoff + e_shentsize *
  e_shnum, the count capped at size / 40), in 64-bit arithmetic, and fails
  if either lies past the end of the image it was given: the file, a gzip's
  content, or a bzImage payload as long as its size trailer says.

Why:
  Every ELF loader of libxenguest (HVM-generic, ELF-generic, and the bzImage
  loader through it) calls elf_init in its probe, so all probes fail and xl
  says "xc_dom_find_loader: no loader found" (with "ELF: shdr overflow (off
  … > size …)" in the domain builder's log), even when every Xen note is
  intact: a vmlinux cut short after its notes, or with stripped sections whose
  header fields were left pointing past the end.

Fix:
  Restore the whole file (compare its size with the original); if it was
  stripped or cut on purpose, zero e_shoff, e_shnum and e_shstrndx (as
  `objcopy` does when it removes the section headers).

Example:
  vmlinux: xen-elf-init: libelf's elf_init refuses the ELF: "ELF: shdr overflow (off 4000 >
  size 1024)", so xl says "xc_dom_find_loader: no loader found"
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="libelf refuses the ELF: header tables past the end of the image",
    severity="error",
    explains=(XenError.ELF_PHDR_OVERFLOW, XenError.ELF_SHDR_OVERFLOW),
)
