"""The Multiboot 1 a.out kludge (flag bit 16) as QEMU (hw/i386/multiboot.c load_multiboot)
and GRUB (loader/i386/multiboot_mbi.c load_kernel) read its address fields: every
inconsistency with the file in QEMU's order, the one QEMU stops at, and the one that makes
GRUB fail. One account per fault for both loaders, so their errors merge into one finding
(qemu.py and grub.py each yield their own loader's errors from `aout_faults`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Image, MultibootHeader
from ..multiboot import Mb1Flag
from .common import cached_fact, layer_size
from .grub import GrubError, grub_mb1
from .qemu import QemuError, qemu_mb1, qemu_path

U32 = 0xFFFFFFFF
FIELDS = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
AT = {name: 12 + 4 * index for index, name in enumerate(FIELDS)}


@dataclass
class Fault:
    key: str  # c1 .. c7, the checks in QEMU's order
    field: str
    text: str
    qemu: QemuError | None = None  # QEMU's error when this is the check QEMU stops at
    grub: GrubError | None = None  # GRUB's error when this is why GRUB fails
    grub_says: str | None = None  # what GRUB does then, in words
    detail: str = ""  # the finding's message (both loaders')
    layer: int = 0
    offset: int = 0


def _int32(value: int) -> int:
    value &= U32
    return value - (1 << 32) if value >> 31 else value


def faults(header: MultibootHeader, size: int) -> list[Fault]:
    """Every inconsistency of the header with a file of `size` bytes, in QEMU's order;
    the one QEMU stops at carries QEMU's error."""
    f = header.fields
    ha, la, lea, bea, ea = (f[name] for name in FIELDS)
    at = header.offset
    found: list[Fault] = []
    if ha < la:
        found.append(Fault("c1", "load_addr", f"load_addr {la:#x} is above header_addr "
                           f"{ha:#x}", QemuError.MB1_AOUT_LOAD_ADDR))  # fmt: skip
    elif ha - la > at:
        found.append(Fault("c2", "header_addr", f"header_addr - load_addr = {ha - la:#x} "
                           f"puts the load start before the file (the header is at {at:#x})",
                           QemuError.MB1_AOUT_HEADER_ADDR))  # fmt: skip
    start = at - ((ha - la) & U32)  # may be negative or past the header: QEMU stopped above
    if lea and lea < la:
        found.append(Fault("c3", "load_end_addr", f"load_end_addr {lea:#x} is below load_addr "
                           f"{la:#x}", QemuError.MB1_AOUT_LOAD_END_ADDR))  # fmt: skip
        load = None
    else:
        load = lea - la if lea else max(size - start, 0)
    if load is not None and la + load > U32:
        found.append(Fault("c4", "load_end_addr" if lea else "load_addr", f"the loaded bytes "
                           f"[{la:#x}, {la + load:#x}) run past 4 GiB",
                           QemuError.MB1_AOUT_ADDRESS_SPACE))  # fmt: skip
    end = la + load if load is not None else None
    if end is not None and bea and bea < end:
        found.append(Fault("c5", "bss_end_addr", f"bss_end_addr {bea:#x} is below the end "
                           f"of the loaded bytes {end:#x}",
                           QemuError.MB1_AOUT_BSS_END_ADDR))  # fmt: skip
    if load is not None and start >= 0 and start + load > size:
        found.append(Fault("c6", "load_end_addr", f"{load:#x} bytes to load from file offset "
                           f"{start:#x}, but the file ends at {size:#x}",
                           QemuError.MB1_AOUT_FREAD))  # fmt: skip
    top = bea or end
    if top is not None and not la <= ea < top:
        found.append(Fault("c7", "entry_addr", f"entry_addr {ea:#x} lies outside the image "
                           f"[{la:#x}, {top:#x})"))  # fmt: skip
    first = next((fault for fault in found if fault.qemu), None)
    for fault in found:
        if fault is not first:
            fault.qemu = None
    return found


def grub_failure(
    header: MultibootHeader, size: int
) -> tuple[GrubError, str, tuple[str, ...]] | None:
    """What GRUB 2.06 (i386-pc, 32-bit sizes) does with the fields: its error, in words,
    and the checks (c1..c7) that cause it, or None when it loads (possibly garbage)."""
    f = header.fields
    ha, la, lea, bea = f["header_addr"], f["load_addr"], f["load_end_addr"], f["bss_end_addr"]
    offset = _int32(header.offset - ((ha - la) & U32))
    load = _int32(size - offset) if lea == 0 else _int32(lea - la)
    code = (bea - la) & U32 if bea else load & U32
    if la + code > U32:  # grub_relocator_alloc_chunk_addr
        return (GrubError.MB1_AOUT_OUT_OF_RANGE, 'GRUB: "error: address is out of range."',
                ("c3", "c4", "c5"))  # fmt: skip
    if offset < 0 or offset > size:  # grub_file_seek
        return (GrubError.MB1_AOUT_SEEK, 'GRUB: "error: attempt to seek outside of the file."',
                ("c2",))  # fmt: skip
    if bea and load & U32 > code:  # grub_memset of a negative length
        return (GrubError.MB1_AOUT_BSS_CRASH, "GRUB zeroes bss_end_addr - load_addr - size "
                "bytes, a negative length, and crashes or hangs", ("c5", "c3"))  # fmt: skip
    return None


def aout_headers(image: Image) -> tuple[MultibootHeader | None, MultibootHeader | None]:
    """GRUB's header and QEMU's (when QEMU boots the file as Multiboot): often the same."""
    return grub_mb1(image), qemu_mb1(image) if qemu_path(image) == "multiboot" else None


@cached_fact("mb1-aout-faults")
def aout_faults(image: Image) -> tuple[Fault, ...]:
    """The faults of GRUB's and QEMU's a.out-kludge headers (each header once), in QEMU's
    order, each with its account; a header cut short inside its fields has none."""
    grub, qemu = aout_headers(image)
    found: list[Fault] = []
    for header in {id(h): h for h in (grub, qemu) if h is not None}.values():
        if not header.flags & Mb1Flag.AOUT_KLUDGE or any(n not in header.fields for n in FIELDS):
            continue
        size = layer_size(image, header.layer)
        found_here = faults(header, size)
        grub_says = grub_failure(header, size) if header is grub else None
        if grub_says is not None:
            keys = [fault.key for fault in found_here]
            cause = next((key for key in grub_says[2] if key in keys), keys[0] if keys else None)
            for fault in found_here:
                if fault.key == cause:
                    fault.grub, fault.grub_says = grub_says[0], grub_says[1]
        for fault in found_here:
            if header is not qemu:
                fault.qemu = None
            _describe(header, fault)
        found += found_here
    return tuple(found)


def _describe(header: MultibootHeader, fault: Fault) -> None:
    said = []
    if fault.qemu is not None:
        said.append(f'QEMU: "{fault.qemu.text}"')
    if fault.grub_says:
        said.append(fault.grub_says)
    fault.detail = f"Multiboot 1 a.out kludge at {header.offset:#x}: {fault.text}"
    if said:
        fault.detail += f" ({'; '.join(said)})"
    fault.layer, fault.offset = header.layer, header.offset + AT[fault.field]
