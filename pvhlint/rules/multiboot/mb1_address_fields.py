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
  without complaint and crash later.

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

from pvhlint.loaders.aout import FIELDS, aout_faults, aout_headers
from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.qemu import QemuError
from pvhlint.model import Image, MultibootHeader
from pvhlint.multiboot import Mb1Flag
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """The faults neither loader refuses for, and QEMU's header cut short inside its fields
    (the refusals: pvhlint.loaders.aout, through QemuError and GrubError)."""
    _, qemu = aout_headers(image)
    if (qemu is not None and qemu.flags & Mb1Flag.AOUT_KLUDGE
            and any(name not in qemu.fields for name in FIELDS)):  # fmt: skip
        yield _cut_short(qemu)
    for fault in aout_faults(image):
        if fault.qemu is None and fault.grub is None:
            yield Hit(fault.detail, fault.layer, fault.offset, 4)


def _cut_short(header: MultibootHeader) -> Hit:
    """The file ends inside the address fields. QEMU reads the header from an 8 KiB stack
    buffer it does not clear (hw/i386/x86.c x86_load_linux: uint8_t header[8192], filled
    by fread up to the file's size), so the missing fields are whatever the stack held.
    No verdict can be read from the source: measured, QEMU 7.2 and 10.0 load a flat
    image cut 12 bytes into its header at 0x100, and 7.2 refuses the same cut of a header
    at 0x1000 ("invalid load_addr address") where 10.0 loads it. So no reject, a warning."""
    missing = ", ".join(name for name in FIELDS if name not in header.fields)
    text = (f"Multiboot 1 a.out kludge at {header.offset:#x}: the file ends before {missing}; "
            "QEMU reads them from uninitialised stack memory, so whether it loads the image "
            "depends on the QEMU build")  # fmt: skip
    return Hit(text, header.layer, header.offset + 12, None)


RULE = Rule(
    id="mb1-address-fields",
    title="Multiboot 1 a.out-kludge address fields inconsistent with the file",
    severity="error",
    targets=("multiboot1", "qemu"),
    doc=__doc__ or "",
    check=check,
    explains=(
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
