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
from dataclasses import dataclass, field

from pvhlint.loaders.common import layer_size
from pvhlint.loaders.grub import grub_mb1
from pvhlint.loaders.qemu import qemu_mb1, qemu_path
from pvhlint.model import Image, MultibootHeader
from pvhlint.multiboot import Mb1Flag
from pvhlint.rule import Hit, Rule

U32 = 0xFFFFFFFF
FIELDS = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
AT = {name: 12 + 4 * index for index, name in enumerate(FIELDS)}


@dataclass
class Fault:
    key: str  # c1 .. c7, the checks in QEMU's order
    field: str
    text: str
    qemu: str | None = None  # QEMU's error when this is the check QEMU stops at
    grub: str | None = None  # what GRUB does when this is why GRUB fails
    rejects: list[str] = field(default_factory=list)


def _int32(value: int) -> int:
    value &= U32
    return value - (1 << 32) if value >> 31 else value


def faults(header: MultibootHeader, size: int) -> list[Fault]:
    """Every inconsistency of the header with a file of `size` bytes, in QEMU's order;
    the one QEMU stops at carries QEMU's message."""
    f = header.fields
    ha, la, lea, bea, ea = (f[name] for name in FIELDS)
    at = header.offset
    found: list[Fault] = []
    if ha < la:
        found.append(Fault("c1", "load_addr", f"load_addr {la:#x} is above header_addr "
                           f"{ha:#x}", "invalid load_addr address"))  # fmt: skip
    elif ha - la > at:
        found.append(Fault("c2", "header_addr", f"header_addr - load_addr = {ha - la:#x} "
                           f"puts the load start before the file (the header is at {at:#x})",
                           "invalid header_addr address"))  # fmt: skip
    start = at - ((ha - la) & U32)  # may be negative or past the header: QEMU stopped above
    if lea and lea < la:
        found.append(Fault("c3", "load_end_addr", f"load_end_addr {lea:#x} is below load_addr "
                           f"{la:#x}", "invalid load_end_addr address"))  # fmt: skip
        load = None
    else:
        load = lea - la if lea else max(size - start, 0)
    if load is not None and la + load > U32:
        found.append(Fault("c4", "load_end_addr" if lea else "load_addr", f"the loaded bytes "
                           f"[{la:#x}, {la + load:#x}) run past 4 GiB",
                           "kernel does not fit in address space"))  # fmt: skip
    end = la + load if load is not None else None
    if end is not None and bea and bea < end:
        found.append(
            Fault(
                "c5",
                "bss_end_addr",
                f"bss_end_addr {bea:#x} is below the end of the loaded bytes {end:#x}",
                "invalid bss_end_addr address",
            )
        )
    if load is not None and start >= 0 and start + load > size:
        found.append(
            Fault(
                "c6",
                "load_end_addr",
                f"{load:#x} bytes to load from file offset "
                f"{start:#x}, but the file ends at {size:#x}",
                "fread() failed",
            )
        )
    top = bea or end
    if top is not None and not la <= ea < top:
        found.append(Fault("c7", "entry_addr", f"entry_addr {ea:#x} lies outside the image "
                           f"[{la:#x}, {top:#x})"))  # fmt: skip
    first = next((fault for fault in found if fault.qemu), None)
    for fault in found:
        if fault is not first:
            fault.qemu = None
    return found


def grub_failure(header: MultibootHeader, size: int) -> tuple[str, tuple[str, ...]] | None:
    """What GRUB 2.06 (i386-pc, 32-bit sizes) does with the fields: its error text and the
    checks (c1..c7) that cause it, or None when it loads (possibly garbage)."""
    f = header.fields
    ha, la, lea, bea = f["header_addr"], f["load_addr"], f["load_end_addr"], f["bss_end_addr"]
    offset = _int32(header.offset - ((ha - la) & U32))
    load = _int32(size - offset) if lea == 0 else _int32(lea - la)
    code = (bea - la) & U32 if bea else load & U32
    if la + code > U32:
        return 'GRUB: "error: address is out of range."', ("c3", "c4", "c5")
    if offset < 0 or offset > size:
        return 'GRUB: "error: attempt to seek outside of the file."', ("c2",)
    if bea and load & U32 > code:
        return ("GRUB zeroes bss_end_addr - load_addr - size bytes, a negative length, and "
                "crashes or hangs", ("c5", "c3"))  # fmt: skip
    return None


def check(image: Image) -> Iterator[Hit]:
    grub = grub_mb1(image)
    qemu = qemu_mb1(image) if qemu_path(image) == "multiboot" else None
    for header in {id(h): h for h in (grub, qemu) if h is not None}.values():
        if not header.flags & Mb1Flag.AOUT_KLUDGE:
            continue
        if any(name not in header.fields for name in FIELDS):
            if header is qemu:
                yield _cut_short(header)
            continue
        size = layer_size(image, header.layer)
        found = faults(header, size)
        grub_says = grub_failure(header, size) if header is grub else None
        if grub_says is not None:
            keys = [fault.key for fault in found]
            cause = next((key for key in grub_says[1] if key in keys), keys[0] if keys else None)
            for fault in found:
                if fault.key == cause:
                    fault.grub = grub_says[0]
        for fault in found:
            yield _hit(header, fault, fault.qemu is not None and header is qemu)


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


def _hit(header: MultibootHeader, fault: Fault, qemu_refuses: bool) -> Hit:
    said = []
    if qemu_refuses:
        said.append(f'QEMU: "{fault.qemu}"')
    if fault.grub:
        said.append(fault.grub)
    rejects = tuple(
        target for target, yes in (("qemu", qemu_refuses), ("multiboot1", bool(fault.grub))) if yes
    )
    text = f"Multiboot 1 a.out kludge at {header.offset:#x}: {fault.text}"
    if said:
        text += f" ({'; '.join(said)})"
    return Hit(text, header.layer, header.offset + AT[fault.field], 4, rejects=rejects)


RULE = Rule(
    id="mb1-address-fields",
    title="Multiboot 1 a.out-kludge address fields inconsistent with the file",
    severity="error",
    targets=("multiboot1", "qemu"),
    doc=__doc__ or "",
    check=check,
)
