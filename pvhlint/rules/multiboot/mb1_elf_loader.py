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

from collections.abc import Iterator

from pvhlint.loaders.common import layer_size
from pvhlint.loaders.grub import elf_of_layer, grub_mb1_elf_header, is_big_endian
from pvhlint.loaders.qemu import qemu_mb1, qemu_path
from pvhlint.model import EM_386, PT_LOAD, Image
from pvhlint.multiboot import MB1, Mb1Flag
from pvhlint.rule import Hit, Rule

from .helpers import grub_elf


def check(image: Image) -> Iterator[Hit]:
    yield from grub_elf(image, MB1, grub_mb1_elf_header(image))
    qemu = qemu_mb1(image)
    if qemu_path(image) != "multiboot" or qemu is None or qemu.flags & Mb1Flag.AOUT_KLUDGE:
        return
    elf = elf_of_layer(image, 0)
    if elf is None:
        yield Hit("QEMU loads a Multiboot 1 image without flag bit 16 as an ELF, and this file "
                  'is not one (QEMU: "Error while loading elf kernel", or "Cannot load x86-64 '
                  'image, give a 32bit one." if bytes 18-19 happen to read 62)', 0, 0, 4,
                  rejects=("qemu",))  # fmt: skip
    elif elf.machine == EM_386 and not is_big_endian(image, elf):
        # EM_X86_64 stops earlier (mb1-elf64-qemu), other machines: elf-unsupported-machine.
        yield from _qemu_truncated(image)


def _qemu_truncated(image: Image) -> Iterator[Hit]:
    elf = elf_of_layer(image, 0)
    if elf is None:
        return
    size = layer_size(image, 0)
    for seg in elf.segments:
        if seg.type == PT_LOAD and seg.filesz and seg.offset + seg.filesz > size:
            end = seg.offset + seg.filesz
            yield Hit(f"Multiboot 1 ELF: PT_LOAD {seg.index} needs file bytes up to {end:#x}, "
                      f"but the file ends at {size:#x} (QEMU: \"Error while loading elf "
                      'kernel")', 0, elf.phdr_offset(seg.index), rejects=("qemu",))  # fmt: skip
            return


RULE = Rule(
    id="mb1-elf-loader",
    title="GRUB's Multiboot 1 ELF loader refuses the ELF",
    severity="error",
    targets=("multiboot1", "qemu"),
    doc=__doc__ or "",
    check=check,
)
