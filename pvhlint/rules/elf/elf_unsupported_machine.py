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

from collections.abc import Iterator

from pvhlint.loaders.grub import grub_mb1_elf_header, grub_mb2_elf_header
from pvhlint.loaders.qemu import qemu_elf_layer
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    elf = image.elf
    if elf is None:
        return
    codes = {p.code for p in image.problems if p.layer == elf.layer}
    big = ProblemCode.BIG_ENDIAN in codes
    if not big and ProblemCode.UNSUPPORTED_MACHINE not in codes:
        return
    said: list[str] = []
    rejects: list[str] = []

    def refuse(target: str, text: str) -> None:
        rejects.append(target)
        said.append(text)

    if big:
        hvm = ('"xc_dom_parse_hvm_kernel: ELF image is not 32bit"' if elf.elf_class == 64 else
               "an HVM firmware load, not PVH")  # fmt: skip
        refuse("xen-pvh", f"libxenguest PVH: {hvm}")
        refuse("xen-pv", 'libxenguest PV: "xc_dom_find_loader: no loader found"')
    else:
        refuse("xen-pv", f'libxenguest PV: "xc_dom_guest_type: unknown image type {elf.machine}"')
    if qemu_elf_layer(image) == elf.layer:
        refuse("qemu", 'QEMU: "Error while loading elf kernel"')
    grub = ("invalid arch-independent ELF magic" if big else
            "invalid arch-dependent ELF magic")  # fmt: skip
    for target, header in (("multiboot1", grub_mb1_elf_header(image)),
                           ("multiboot2", grub_mb2_elf_header(image))):  # fmt: skip
        if header is not None and header.layer == elf.layer:
            refuse(target, f'GRUB {target}: "error: {grub}."')
    if big and image.format in ("elf32", "elf64"):
        refuse("rust-vmm", 'rust-vmm: "Kernel Loader: Trying to load big-endian binary on '
               'little-endian machine"')  # fmt: skip
    if big:
        what, offset, length = f"big-endian ELF{elf.elf_class} (EI_DATA 2)", 5, 1
    else:
        what = f"ELF{elf.elf_class} for {elf.machine_name} (e_machine {elf.machine}), not x86"
        offset, length = 18, 2
    yield Hit(f"{what} ({'; '.join(said)})", elf.layer, offset, length,
              rejects=tuple(rejects))  # fmt: skip


RULE = Rule(
    id="elf-unsupported-machine",
    title="kernel ELF is not little-endian x86",
    severity="error",
    targets=("xen-pvh", "xen-pv", "qemu", "multiboot1", "multiboot2", "rust-vmm"),
    doc=__doc__ or "",
    check=check,
)
