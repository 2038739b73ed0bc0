"""QEMU -kernel refuses a Multiboot 1 ELF whose e_machine is x86-64.

What:
  QEMU boots this image as Multiboot 1 (no "HdrS" setup header, a Multiboot 1
  header below 8144) and the header's flag bit 16 (a.out kludge) is clear, so QEMU
  loads the file as an ELF. Before parsing it, QEMU reads the 16-bit e_machine at
  file offset 18, and it is 62 (EM_X86_64).

Why:
  QEMU's Multiboot loader only takes 32-bit ELF kernels and exits with `Cannot load
  x86-64 image, give a 32bit one.`, whatever the ELF class (an ELF32 marked
  EM_X86_64 gets the same message). GRUB's `multiboot` loads an ELF64 x86-64 kernel
  happily (entry below 4 GiB), so such images work on hardware and fail in QEMU.
  Debian's gnumach-1.8-486 is one: an ELF64 that GRUB boots and QEMU refuses.

Fix:
  Set flag bit 16 and fill in the a.out-kludge address fields (QEMU then loads the
  file by those fields and ignores the ELF headers), or link the kernel as ELF32
  (`objcopy -O elf32-i386` on a kernel whose code is 32-bit at entry, as a
  Multiboot kernel's must be), or boot QEMU through GRUB.

Example:
  gnumach-1.8-486: mb1-elf64-qemu: Multiboot 1 ELF with e_machine 62 (x86-64) and flags
  0x3 without bit 16 (QEMU: "Cannot load x86-64 image, give a 32bit one.")
"""

from __future__ import annotations

from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="QEMU refuses x86-64 Multiboot 1 ELF kernels",
    severity="error",
    explains=(QemuError.MB1_ELF64,),
)
