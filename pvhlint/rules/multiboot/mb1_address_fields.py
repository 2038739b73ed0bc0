"""Multiboot 1 a.out-kludge address fields (flag bit 16) that do not fit the file.

What:
  With flag bit 16 the header's own fields say where the file goes: the file is
  loaded from offset header_offset - (header_addr - load_addr), load_end_addr -
  load_addr bytes (0: to the end of the file) at load_addr, memory up to
  bss_end_addr is zeroed, and execution starts at entry_addr. The rule checks,
  in QEMU's order: load_addr <= header_addr; header_addr - load_addr <= the
  header's offset; load_end_addr 0 or >= load_addr; the loaded bytes end below
  4 GiB; bss_end_addr 0 or >= the end of the loaded bytes; the file holds all the
  bytes to load; and the entry lies in [load_addr, bss_end_addr or the load end).

Why:
  QEMU -kernel refuses each inconsistency with its own message, verified with QEMU
  7.2: `invalid load_addr address`, `invalid header_addr address`, `invalid
  load_end_addr address`, `kernel does not fit in address space`, `invalid
  bss_end_addr address`, and `fread() failed` when the file is shorter than the
  load size. (Its `invalid kernel_file_size` cannot trigger: the load start is
  never past the header.) GRUB 2.06 checks nothing, but verified on i386-pc it
  fails anyway: a negative file offset gives `attempt to seek outside of the
  file`, a size wrapping past 4 GiB `address is out of range`, and a bss_end_addr
  below the load end makes it zero almost all memory and crash (or hang). Other mistakes
  (load_addr above header_addr, a file too short, an entry outside the image) load
  without complaint and crash later. A file that ends inside the address fields
  leaves QEMU reading them from an uninitialised stack buffer: measured, 7.2 and
  10.0 disagree on the same image, so QEMU's verdict is undefined.

Fix:
  Derive the fields from linker symbols: header_addr = the header's own address,
  load_addr = the address of the file's first loaded byte, load_end_addr = end of
  .data (or 0 for the whole file), bss_end_addr = end of .bss, entry_addr = the
  entry symbol. Or drop bit 16 and let the loader use the ELF program headers.

Example:
  kernel.bin: mb1-address-fields: bss_end_addr 0x100800 is below the end of the loaded
  bytes 0x101000 (QEMU: "invalid bss_end_addr address"; GRUB zeroes memory from the
  load end with a wrapped length and crashes or hangs)
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.aout import aout_causes
from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.qemu import QemuError
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """The causes neither loader refuses for (the refusals: pvhlint.loaders.aout, through
    QemuError and GrubError)."""
    for cause in aout_causes(image):
        if cause.qemu is None and cause.grub is None:
            yield Hit(cause.detail, cause.layer, cause.offset, 4)


RULE = Rule(
    title="Multiboot 1 a.out-kludge address fields inconsistent with the file",
    severity="error",
    targets=("multiboot1", "qemu"),
    explains=(
        QemuError.MB1_AOUT_FIELDS_UNREAD,
        QemuError.MB1_AOUT_LOAD_ADDR,
        QemuError.MB1_AOUT_HEADER_ADDR,
        QemuError.MB1_AOUT_LOAD_END_ADDR,
        QemuError.MB1_AOUT_ADDRESS_SPACE,
        QemuError.MB1_AOUT_BSS_END_ADDR,
        QemuError.MB1_AOUT_FREAD,
        GrubError.MB1_AOUT_OUT_OF_RANGE,
        GrubError.MB1_AOUT_SEEK,
        GrubError.MB1_AOUT_BSS_CRASH,
    ),
)
