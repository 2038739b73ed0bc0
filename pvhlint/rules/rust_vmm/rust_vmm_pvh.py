"""rust-vmm's linux-loader (Cloud Hypervisor, Firecracker) fails the load or finds no PVH entry.

What:
  Cloud Hypervisor loads a PVH kernel with linux-loader's Elf::load
  (src/loader/elf/mod.rs, 0.14). It reads an Elf64 header whatever EI_CLASS
  says and checks, in order: 64 bytes to read, the ELF magic, EI_DATA 1,
  e_phentsize 56, e_phoff >= 64, e_entry >= 0x100000, then reads every
  program header. In program header order it copies each PT_LOAD's file bytes
  into guest RAM at p_paddr (all of them must be in the file and in guest
  memory: 512 MiB by default) and walks each PT_NOTE, names and descriptors
  padded to 4 whatever p_align says, for type 18 with namesz 4 and name
  "Xen\\0", whose descriptor must hold 4 bytes. Each PT_NOTE overwrites the
  result of the one before: the last PT_NOTE decides.

Why:
  Without a PVH entry Cloud Hypervisor fails with "KernelMissingPvhHeader";
  any check failing fails the load with linux-loader's message, e.g.
  "Kernel Loader: failed to load ELF kernel image: Kernel Loader: Invalid Elf
  magic number" for a bzImage or gzip file, "... Invalid program header size"
  for an ELF32, "... Unable to read kernel image" for a segment past the end
  of the file or of guest RAM, "... Invalid PVH note header" for a descriptor
  under 4 bytes. Checked against linux-loader 0.14 itself
  (tests/loaders/rust_vmm.py).

Fix:
  Hand the VMM the ELF64 vmlinux, whole; keep the Xen notes in the last
  PT_NOTE, owner "Xen" with namesz 4, PHYS32_ENTRY's descriptor 4 bytes or more.

Example:
  vmlinux: rust-vmm-pvh: the last PT_NOTE (5) holds no PVH note: Cloud Hypervisor says
  "KernelMissingPvhHeader"
"""

from __future__ import annotations

from pvhlint.loaders.rust_vmm import RustVmmError
from pvhlint.rule import Rule

RUST_VMM = ("rust-vmm",)

RULE = Rule(
    title="rust-vmm linux-loader finds no PVH entry",
    severity="error",
    explains=(
        RustVmmError.READ_ELF_HEADER,
        RustVmmError.INVALID_ELF_MAGIC,
        RustVmmError.BIG_ENDIAN,
        RustVmmError.INVALID_PROGRAM_HEADER_SIZE,
        RustVmmError.INVALID_PROGRAM_HEADER_OFFSET,
        RustVmmError.INVALID_ENTRY_ADDRESS,
        RustVmmError.SEEK_PROGRAM_HEADER,
        RustVmmError.READ_PROGRAM_HEADER,
        RustVmmError.SEEK_KERNEL_START,
        RustVmmError.READ_KERNEL_IMAGE,
        RustVmmError.MEMORY_OVERFLOW,
        RustVmmError.SEEK_NOTE_HEADER,
        RustVmmError.READ_NOTE_HEADER,
        RustVmmError.OVERFLOW,
        RustVmmError.INVALID_PVH_NOTE,
        RustVmmError.MISSING_PVH_HEADER,
    ),
)
