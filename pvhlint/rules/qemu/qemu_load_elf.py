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

from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="QEMU's ELF loader fails: no program headers, or a range it cannot copy back",
    severity="error",
    explains=(
        QemuError.SYMBOLS_MALLOC,
        QemuError.NO_PROGRAM_HEADERS,
        QemuError.LOAD_SIZE_NEGATIVE,
        QemuError.MULTIBOOT_ROM_FETCH,
    ),
)
