"""Two regions QEMU loads into guest memory overlap: ELF segments, or a segment and the BIOS.

What:
  When QEMU loads the kernel as an ELF (its PVH path, or a Multiboot 1 ELF),
  load_elf registers every PT_LOAD as a ROM blob at p_paddr, p_memsz long
  (p_filesz long if its zero-filled tail would overlap another segment), and
  the machine's BIOS (SeaBIOS's bios-256k.bin) sits in the 256 KiB below
  4 GiB, 0xfffc0000-0xffffffff. Before the guest starts, QEMU sorts these by
  address and fails if any two overlap.

Why:
  QEMU stops with "Some ROM regions are overlapping" and names the two
  regions; the guest never starts. It happens to kernels linked at addresses
  just under 4 GiB, to segments whose file bytes overlap (a bad linker
  script), and to a zero-filled tail that runs into the BIOS.

Fix:
  Link the kernel below the BIOS and keep the PT_LOAD segments disjoint
  (check `readelf -lW`: each [PhysAddr, PhysAddr + MemSiz) must not meet the
  next).

Example:
  vmlinux: qemu-rom-overlap: ELF program header segment 1 [0xfffb0000, 0xfffc0010) overlaps
  bios-256k.bin [0xfffc0000, 0x100000000): QEMU says "Some ROM regions are overlapping"
"""

from __future__ import annotations

from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="Segments overlap each other or QEMU's BIOS",
    severity="error",
    explains=(QemuError.ROM_OVERLAP,),
)
