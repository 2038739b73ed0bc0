"""QEMU's ELF loader gives up: no program headers, or the loaded range cannot be copied back.

What:
  Failures of QEMU's load_elf path that no other rule names:
  - load_elf first reads the symbol table (load_symbols): the first SHT_SYMTAB and
    its string table, each through g_malloc(sh_size). A size no host can allocate
    (1 TiB or more) makes g_malloc abort: QEMU dies of SIGTRAP.
  - e_phnum is 0. load_elf (include/hw/elf_ops.h) allocates e_phnum *
    sizeof(Phdr) bytes with g_malloc0, which returns NULL for 0 bytes, and
    fails: "Error while loading elf kernel", on the PVH path and the Multiboot
    ELF path alike.
  - The PT_LOAD sizes (p_memsz, after load_elf's zero-fill cut) add up to 2 GiB or
    more. load_elf returns the sum as an ssize_t, which x86_load_linux and
    load_multiboot keep in an int: it reads as negative, "Error while loading elf
    kernel".
  - On the Multiboot ELF path (a Multiboot 1 header without flag bit 16),
    hw/i386/multiboot.c copies [elf_low, elf_high) back out of the ROMs load_elf
    registered (rom_copy, hw/core/loader.c). rom_copy walks the ROMs in address
    order and stops at the first that starts before the range; the count it
    returns is where the last copied ROM ends. When that is not elf_high -
    elf_low, QEMU says "Error while fetching elf kernel from rom": no PT_LOAD
    with a size (QEMU then asks for one byte at 0xffffffff), or segments nested
    so that the last one to start is not the one that ends highest.

Why:
  QEMU exits before the guest starts.

Fix:
  Give the kernel its program headers (e_phnum, e_phoff) as the linker wrote
  them, with PT_LOAD segments in address order that do not overlap.

Example:
  kernel.elf: qemu-load-elf: e_phnum is 0: QEMU's load_elf allocates no program
  header table and fails ("Error while loading elf kernel")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders import (
    qemu_elf_roms,
    qemu_loads_elf,
    qemu_mb1,
    qemu_multiboot_fetch_short,
    qemu_path,
    qemu_symbols_crash,
)
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule

EM_X86_64 = 62
EHDR_PHNUM = {32: 0x2C, 64: 0x38}


def check(image: Image) -> Iterator[Hit]:
    elf = image.elf
    if elf is None or elf.layer != 0 or not qemu_loads_elf(image):
        return
    huge = qemu_symbols_crash(elf, image.size)
    if huge is not None:
        yield Hit(f"section {huge.index} ({huge.name or 'no name'}) has sh_size {huge.size:#x}: "
                  "QEMU's load_symbols asks g_malloc for that many bytes before reading them "
                  "and aborts (SIGTRAP)", elf.layer, elf.shoff, None,
                  rejects=("qemu",))  # fmt: skip
        return
    if elf.phnum == 0:
        yield Hit("e_phnum is 0: QEMU's load_elf allocates no program header table and fails "
                  '("Error while loading elf kernel")', elf.layer, EHDR_PHNUM[elf.elf_class],
                  2, rejects=("qemu",))  # fmt: skip
        return
    view = elf.packed_view()
    total = sum(rom.size for rom in qemu_elf_roms(view))
    if total & 0x80000000:
        yield Hit(f"the PT_LOAD segments add up to {total:#x} bytes: load_elf returns that "
                  "count, which QEMU keeps in an int, where it reads as negative (\"Error while "
                  'loading elf kernel")', elf.layer, elf.phoff, None,
                  rejects=("qemu",))  # fmt: skip
        return
    if qemu_path(image) != "multiboot" or elf.machine == EM_X86_64:  # mb1-elf64-qemu's case
        return
    copied = qemu_multiboot_fetch_short(view)
    if copied is not None:
        header = qemu_mb1(image)
        yield Hit(f"QEMU's Multiboot loader copies the loaded range back out of its ROMs and "
                  f"gets {copied:#x} bytes, not the range's size (\"Error while fetching elf "
                  'kernel from rom")', elf.layer, header.offset if header else None,
                  rejects=("qemu",))  # fmt: skip


RULE = Rule(
    id="qemu-load-elf",
    title="QEMU's ELF loader fails: no program headers, or a range it cannot copy back",
    severity="error",
    targets=("qemu",),
    doc=__doc__ or "",
    check=check,
)
