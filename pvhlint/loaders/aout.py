"""The Multiboot 1 a.out kludge (flag bit 16) as QEMU (hw/i386/multiboot.c load_multiboot)
and GRUB (loader/i386/multiboot_mbi.c load_kernel) read its address fields: every
inconsistency with the file in QEMU's order, the one QEMU stops at, and the one that makes
GRUB fail. One account per cause for both loaders, so their errors merge into one finding
(qemu.py and grub.py each yield their own loader's errors from `aout_causes`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..model import Image, MultibootHeader
from ..multiboot import Mb1Flag
from .common import cached_fact, layer_size
from .grub import GrubError, grub_mb1
from .qemu import QemuError, qemu_mb1, qemu_path

U32 = 0xFFFFFFFF
FIELDS = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
AT = {name: 12 + 4 * index for index, name in enumerate(FIELDS)}


class AoutCheck(IntEnum):
    """The address fields' checks, in QEMU's order (load_multiboot)."""

    LOAD_ADDR = 1  # load_addr above header_addr
    HEADER_ADDR = 2  # the load start before the file
    LOAD_END_ADDR = 3  # load_end_addr below load_addr
    ADDRESS_SPACE = 4  # the loaded bytes past 4 GiB
    BSS_END_ADDR = 5  # bss_end_addr below the loaded bytes' end
    FILE_END = 6  # the bytes to load run past the file
    ENTRY_ADDR = 7  # entry_addr outside the image


@dataclass
class AoutCause:
    """One inconsistency of the a.out kludge's fields with the file: a shared cause (see
    common.SharedCause) that names the check, QEMU's error and GRUB's when it is theirs."""

    check: AoutCheck
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


def causes(header: MultibootHeader, size: int) -> list[AoutCause]:
    """Every inconsistency of the header with a file of `size` bytes, in QEMU's order;
    the one QEMU stops at carries QEMU's error."""
    f = header.fields
    ha, la, lea, bea, ea = (f[name] for name in FIELDS)
    at = header.offset
    found: list[AoutCause] = []

    def add(check: AoutCheck, field: str, text: str, qemu: QemuError | None = None) -> None:
        found.append(AoutCause(check, field, text, qemu))

    if ha < la:
        add(AoutCheck.LOAD_ADDR, "load_addr", f"load_addr {la:#x} is above header_addr {ha:#x}",
            QemuError.MB1_AOUT_LOAD_ADDR)  # fmt: skip
    elif ha - la > at:
        add(AoutCheck.HEADER_ADDR, "header_addr", f"header_addr - load_addr = {ha - la:#x} "
            f"puts the load start before the file (the header is at {at:#x})",
            QemuError.MB1_AOUT_HEADER_ADDR)  # fmt: skip
    start = at - ((ha - la) & U32)  # may be negative or past the header: QEMU stopped above
    if lea and lea < la:
        add(AoutCheck.LOAD_END_ADDR, "load_end_addr", f"load_end_addr {lea:#x} is below "
            f"load_addr {la:#x}", QemuError.MB1_AOUT_LOAD_END_ADDR)  # fmt: skip
        load = None
    else:
        load = lea - la if lea else max(size - start, 0)
    if load is not None and la + load > U32:
        add(AoutCheck.ADDRESS_SPACE, "load_end_addr" if lea else "load_addr", f"the loaded "
            f"bytes [{la:#x}, {la + load:#x}) run past 4 GiB",
            QemuError.MB1_AOUT_ADDRESS_SPACE)  # fmt: skip
    end = la + load if load is not None else None
    if end is not None and bea and bea < end:
        add(AoutCheck.BSS_END_ADDR, "bss_end_addr", f"bss_end_addr {bea:#x} is below the end "
            f"of the loaded bytes {end:#x}", QemuError.MB1_AOUT_BSS_END_ADDR)  # fmt: skip
    if load is not None and start >= 0 and start + load > size:
        add(AoutCheck.FILE_END, "load_end_addr", f"{load:#x} bytes to load from file offset "
            f"{start:#x}, but the file ends at {size:#x}", QemuError.MB1_AOUT_FREAD)  # fmt: skip
    top = bea or end
    if top is not None and not la <= ea < top:
        add(AoutCheck.ENTRY_ADDR, "entry_addr", f"entry_addr {ea:#x} lies outside the image "
            f"[{la:#x}, {top:#x})")  # fmt: skip
    first = next((cause for cause in found if cause.qemu), None)
    for cause in found:
        if cause is not first:
            cause.qemu = None
    return found


def grub_failure(
    header: MultibootHeader, size: int
) -> tuple[GrubError, str, tuple[AoutCheck, ...]] | None:
    """What GRUB 2.06 (i386-pc, 32-bit sizes) does with the fields: its error, in words,
    and the checks that cause it, or None when it loads (possibly garbage)."""
    f = header.fields
    ha, la, lea, bea = f["header_addr"], f["load_addr"], f["load_end_addr"], f["bss_end_addr"]
    offset = _int32(header.offset - ((ha - la) & U32))
    load = _int32(size - offset) if lea == 0 else _int32(lea - la)
    code = (bea - la) & U32 if bea else load & U32
    if la + code > U32:  # grub_relocator_alloc_chunk_addr
        return (
            GrubError.MB1_AOUT_OUT_OF_RANGE,
            'GRUB: "error: address is out of range."',
            (AoutCheck.LOAD_END_ADDR, AoutCheck.ADDRESS_SPACE, AoutCheck.BSS_END_ADDR),
        )
    if offset < 0 or offset > size:  # grub_file_seek
        return (
            GrubError.MB1_AOUT_SEEK,
            'GRUB: "error: attempt to seek outside of the file."',
            (AoutCheck.HEADER_ADDR,),
        )
    if bea and load & U32 > code:  # grub_memset of a negative length
        return (
            GrubError.MB1_AOUT_BSS_CRASH,
            "GRUB zeroes bss_end_addr - load_addr - size "
            "bytes, a negative length, and crashes or hangs",
            (AoutCheck.BSS_END_ADDR, AoutCheck.LOAD_END_ADDR),
        )
    return None


def aout_headers(image: Image) -> tuple[MultibootHeader | None, MultibootHeader | None]:
    """GRUB's header and QEMU's (when QEMU boots the file as Multiboot): often the same."""
    return grub_mb1(image), qemu_mb1(image) if qemu_path(image) == "multiboot" else None


@cached_fact("mb1-aout-causes")
def aout_causes(image: Image) -> tuple[AoutCause, ...]:
    """The causes of GRUB's and QEMU's a.out-kludge headers (each header once), in QEMU's
    order, each with its account; a header cut short inside its fields has none."""
    grub, qemu = aout_headers(image)
    found: list[AoutCause] = []
    for header in {id(h): h for h in (grub, qemu) if h is not None}.values():
        if not header.flags & Mb1Flag.AOUT_KLUDGE or any(n not in header.fields for n in FIELDS):
            continue
        size = layer_size(image, header.layer)
        found_here = causes(header, size)
        grub_says = grub_failure(header, size) if header is grub else None
        if grub_says is not None:
            checks = [cause.check for cause in found_here]
            culprit = next((c for c in grub_says[2] if c in checks), checks[0] if checks else None)
            for cause in found_here:
                if cause.check == culprit:
                    cause.grub, cause.grub_says = grub_says[0], grub_says[1]
        for cause in found_here:
            if header is not qemu:
                cause.qemu = None
            _describe(header, cause)
        found += found_here
    return tuple(found)


def _describe(header: MultibootHeader, cause: AoutCause) -> None:
    said = []
    if cause.qemu is not None:
        said.append(f'QEMU: "{cause.qemu.text}"')
    if cause.grub_says:
        said.append(cause.grub_says)
    cause.detail = f"Multiboot 1 a.out kludge at {header.offset:#x}: {cause.text}"
    if said:
        cause.detail += f" ({'; '.join(said)})"
    cause.layer, cause.offset = header.layer, header.offset + AT[cause.field]
