"""The kernel ELF is not a little-endian x86 ELF.

What:
  e_machine is neither EM_386 (3) nor EM_X86_64 (62), or the ELF is big-endian
  (EI_DATA 2). Every x86 boot path expects a little-endian x86 kernel; this one was
  built for another architecture, or its header is damaged.

Why:
  Each loader that parses the ELF refuses it, in its own words (verified with
  Debian 12's QEMU 7.2, libxenguest 4.17 and GRUB 2.06): QEMU -kernel `Error while
  loading elf kernel` (PVH path, and the Multiboot path without the a.out kludge);
  GRUB's multiboot/multiboot2 ELF loader `invalid arch-dependent ELF magic` (non-x86)
  or `invalid arch-independent ELF magic` (big-endian); libxenguest in a PV domain
  `xc_dom_guest_type: unknown image type <e_machine>`, and for a big-endian ELF
  `xc_dom_find_loader: no loader found` (PV) and, in a PVH domain, `ELF image is not
  32bit` (ELF64) or a load as HVM firmware instead of a PVH kernel (ELF32). rust-vmm's
  linux-loader refuses big-endian ELFs (`Kernel Loader: Trying to load big-endian
  binary on little-endian machine`) but never reads e_machine. libxenguest in a PVH
  domain does not check e_machine either: it boots a little-endian non-x86 ELF as
  hvm-3.0-x86_32, and the guest crashes. A loader that takes the image another way
  (Multiboot with flag bit 16, the Linux boot protocol of a bzImage) does not read
  the ELF header and is not counted.

Fix:
  Build the kernel for x86 (`ARCH=x86_64` or `ARCH=i386`; a cross-compiler prefix
  such as x86_64-linux-gnu-), or boot the image on its own architecture.

Example:
  vmlinux-arm64: elf-unsupported-machine: ELF64 for AArch64 (e_machine 183), not x86
  (QEMU: "Error while loading elf kernel"; libxenguest PV: "xc_dom_guest_type: unknown
  image type 183")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.qemu import QemuError
from pvhlint.loaders.rust_vmm import RustVmmError
from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="kernel ELF is not little-endian x86",
    severity="error",
    explains=(
        XenError.PVH_ELF64_BIG_ENDIAN,
        XenError.PVH_ELF32_BIG_ENDIAN,
        XenError.PV_BIG_ENDIAN,
        XenError.PV_UNKNOWN_MACHINE,
        QemuError.ELF_WRONG_ENDIAN,
        QemuError.ELF_WRONG_ARCH,
        GrubError.ELF_BIG_ENDIAN,
        GrubError.ELF_NOT_X86,
        RustVmmError.ELF_BIG_ENDIAN,
    ),
)
