"""rust-vmm's linux-loader (Cloud Hypervisor, Firecracker) finds no PVH entry.

What:
  The PVH path of rust-vmm/linux-loader (src/loader/x86_64/elf/mod.rs) takes a
  little-endian ELF64 only, with e_phentsize 56 and e_phoff ≥ 64. It walks each
  PT_NOTE padding names and descriptors to p_align (which must be a power of
  two), matches type 18 with namesz 4 and name "Xen\\0", needs descsz ≥ 4 and
  reads a u32. Each PT_NOTE overwrites the result of the one before: the last
  PT_NOTE decides.

Why:
  Without a match the VMM has no PVH entry: Cloud Hypervisor fails with
  "KernelMissingPvhHeader"; a walk error fails the load with the loader's
  message ("Kernel Loader: Invalid alignment", "Invalid PVH note header",
  "Invalid program header size" for an ELF32, "Invalid Elf magic number" for a
  bzImage or gzip file). This model follows the loader's source; no
  rust-vmm-based VMM is packaged in Debian 12 to compare with.

Fix:
  Hand the VMM the ELF64 vmlinux; keep the Xen notes in the last PT_NOTE, with
  p_align 4 (see xen-note-align), owner "Xen" with namesz 4.

Example:
  vmlinux: rust-vmm-pvh: the last PT_NOTE (5) holds no PVH note: Cloud Hypervisor says
  "KernelMissingPvhHeader"
"""

from __future__ import annotations

from pvhlint.loaders.rust_vmm import RustVmmError
from pvhlint.rule import Rule

RUST_VMM = ("rust-vmm",)

RULE = Rule(
    id="rust-vmm-pvh",
    title="rust-vmm linux-loader finds no PVH entry",
    severity="error",
    targets=RUST_VMM,
    doc=__doc__ or "",
    explains=(
        RustVmmError.INVALID_ELF_MAGIC,
        RustVmmError.BIG_ENDIAN_ELF_ON_LITTLE,
        RustVmmError.INVALID_PROGRAM_HEADER_SIZE,
        RustVmmError.INVALID_PROGRAM_HEADER_OFFSET,
        RustVmmError.ALIGN,
        RustVmmError.INVALID_PVH_NOTE,
        RustVmmError.READ_NOTE_HEADER,
        RustVmmError.MISSING_PVH_HEADER,
    ),
)
