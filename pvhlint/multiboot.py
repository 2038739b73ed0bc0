"""Multiboot 1 and 2 header scanning, the way GRUB and QEMU look for them.

Every magic with a valid checksum is recorded, in the window or not, aligned or
not, so rules can tell a real header from one a loader will never find.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from .blob import Blob
from .model import MultibootHeader, MultibootTag, ProblemCode, align_up


@dataclass(frozen=True)
class MultibootSpec:
    """One version of the multiboot protocol as GRUB 2.06 (loader/multiboot*.c) and QEMU
    (hw/i386/multiboot.c) search for it: GRUB reads the first `window` bytes of the file
    and tries offsets at `align` steps up to min(window, size) - `scan_tail`."""

    version: int  # 1 | 2
    magic: int
    align: int  # the header's alignment: GRUB's (and QEMU's) search step
    window: int  # bytes GRUB reads: where the whole header must lie
    scan_tail: int  # GRUB's last offset is this many bytes before the end of what it read
    checksum_at: int  # the checksum's offset in the header (the fixed part ends after it)
    target: str  # the boot target whose loader looks for it

    @property
    def label(self) -> str:
        return f"Multiboot {self.version}"

    @property
    def fixed_size(self) -> int:
        """The magic, the fields the checksum covers, and the checksum."""
        return self.checksum_at + 4

    @property
    def window_text(self) -> str:
        return f"{self.window // 1024} KiB"

    def scan_limit(self, size: int) -> int:
        """GRUB's last offset in a layer of `size` bytes."""
        return min(self.window, size) - self.scan_tail


class Mb1Flag(IntFlag):
    """Multiboot 1 header flags (multiboot.h MULTIBOOT_PAGE_ALIGN ... MULTIBOOT_AOUT_KLUDGE)."""

    PAGE_ALIGN = 0x1
    MEMORY_INFO = 0x2
    VIDEO_MODE = 0x4  # the header carries the video fields (48 bytes)
    AOUT_KLUDGE = 0x10000  # the header's address fields say where the file goes (32 bytes)


class Mb2Tag(IntEnum):
    """Multiboot 2 header tag types (multiboot2.h MULTIBOOT_HEADER_TAG_*)."""

    END = 0
    INFORMATION_REQUEST = 1
    ADDRESS = 2
    ENTRY_ADDRESS = 3
    CONSOLE_FLAGS = 4
    FRAMEBUFFER = 5
    MODULE_ALIGN = 6
    EFI_BS = 7
    ENTRY_ADDRESS_EFI32 = 8
    ENTRY_ADDRESS_EFI64 = 9
    RELOCATABLE = 10


MB2_TAG_OPTIONAL = 1  # a tag's flags bit 0 (MULTIBOOT_HEADER_TAG_OPTIONAL)

MB1 = MultibootSpec(1, 0x1BADB002, 4, 8192, 12, 8, "multiboot1")
MB2 = MultibootSpec(2, 0xE85250D6, 8, 32768, 16, 12, "multiboot2")
MULTIBOOT = {spec.version: spec for spec in (MB1, MB2)}
# QEMU's load_multiboot scans offsets 0, 4, ... below the window less a whole 48-byte header.
QEMU_MB1_LIMIT = MB1.window - 48

_MAX_RECORDED = 64  # hostile files can hold the magic everywhere
# Tags recorded per layer, over all headers: a full 32 KiB window is 4096 tags, and 64
# headers whose tags jump over each other would otherwise make a quarter million.
_MAX_TAGS = 2 * MB2.window // 8
_MB1_ADDRESS_FIELDS = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
_MB1_VIDEO_FIELDS = ("mode_type", "width", "height", "depth")

MB2_TAG_NAMES = {
    Mb2Tag.END: "end", Mb2Tag.INFORMATION_REQUEST: "information request",
    Mb2Tag.ADDRESS: "address", Mb2Tag.ENTRY_ADDRESS: "entry address",
    Mb2Tag.CONSOLE_FLAGS: "console flags", Mb2Tag.FRAMEBUFFER: "framebuffer",
    Mb2Tag.MODULE_ALIGN: "module alignment", Mb2Tag.EFI_BS: "EFI boot services",
    Mb2Tag.ENTRY_ADDRESS_EFI32: "EFI i386 entry address",
    Mb2Tag.ENTRY_ADDRESS_EFI64: "EFI amd64 entry address", Mb2Tag.RELOCATABLE: "relocatable",
}  # fmt: skip
# Fixed tag sizes from the multiboot2 spec (the information request is 8 + 4n).
MB2_TAG_SIZES = {Mb2Tag.END: 8, Mb2Tag.ADDRESS: 24, Mb2Tag.ENTRY_ADDRESS: 12,
                 Mb2Tag.CONSOLE_FLAGS: 12, Mb2Tag.FRAMEBUFFER: 20, Mb2Tag.MODULE_ALIGN: 8,
                 Mb2Tag.EFI_BS: 8, Mb2Tag.ENTRY_ADDRESS_EFI32: 12,
                 Mb2Tag.ENTRY_ADDRESS_EFI64: 12, Mb2Tag.RELOCATABLE: 24}  # fmt: skip
_MB2_TAG_FIELDS = {
    Mb2Tag.ADDRESS: ("header_addr", "load_addr", "load_end_addr", "bss_end_addr"),
    Mb2Tag.ENTRY_ADDRESS: ("entry_addr",), Mb2Tag.CONSOLE_FLAGS: ("console_flags",),
    Mb2Tag.FRAMEBUFFER: ("width", "height", "depth"),
    Mb2Tag.ENTRY_ADDRESS_EFI32: ("entry_addr",), Mb2Tag.ENTRY_ADDRESS_EFI64: ("entry_addr",),
    Mb2Tag.RELOCATABLE: ("min_addr", "max_addr", "align", "preference"),
}  # fmt: skip


def mb1_header_size(flags: int) -> int:
    if flags & Mb1Flag.VIDEO_MODE:
        return 48
    return 32 if flags & Mb1Flag.AOUT_KLUDGE else 12


def _offsets_of(blob: Blob, magic: int, limit: int) -> list[int]:
    needle = struct.pack("<I", magic)
    found, pos = [], 0
    while len(found) < _MAX_RECORDED:
        pos = blob.find(needle, pos, limit)
        if pos < 0:
            break
        found.append(pos)
        pos += 1
    return found


def scan_multiboot(blob: Blob, layer: int, limit: int) -> list[MultibootHeader]:
    """Headers with a valid checksum in the first `limit` bytes of the layer."""
    headers = []
    for offset in _offsets_of(blob, MB1.magic, limit):
        header = _mb1_at(blob, layer, offset)
        if header:
            headers.append(header)
    budget = [_MAX_TAGS]
    for offset in _offsets_of(blob, MB2.magic, limit):
        header = _mb2_at(blob, layer, offset, budget)
        if header:
            headers.append(header)
    return headers


def _mb1_at(blob: Blob, layer: int, offset: int) -> MultibootHeader | None:
    raw = blob.read(offset, 48)
    if len(raw) < 12:
        return None
    magic, flags, checksum = struct.unpack_from("<III", raw)
    checksum_ok = not (magic + flags + checksum) & 0xFFFFFFFF
    size = mb1_header_size(flags)
    in_window = offset + size <= MB1.window
    # Outside the window a bad checksum is just data; inside it, a likely broken header.
    aligned = offset % MB1.align == 0
    if not checksum_ok and not (in_window and aligned):
        return None
    header = MultibootHeader(1, layer, offset, in_window, aligned, checksum_ok,
                             flags=flags, checksum=checksum)  # fmt: skip
    names = list(_MB1_ADDRESS_FIELDS if flags & Mb1Flag.AOUT_KLUDGE else ())
    if flags & Mb1Flag.VIDEO_MODE:
        names = list(_MB1_ADDRESS_FIELDS) + list(_MB1_VIDEO_FIELDS)
    for index, name in enumerate(names):
        if 12 + 4 * index + 4 > len(raw):
            header.problems.append(ProblemCode.TRUNCATED)
            break
        if name in _MB1_ADDRESS_FIELDS and not flags & Mb1Flag.AOUT_KLUDGE:
            continue
        header.fields[name] = struct.unpack_from("<I", raw, 12 + 4 * index)[0]
    return header


def _mb2_at(blob: Blob, layer: int, offset: int, budget: list[int]) -> MultibootHeader | None:
    raw = blob.read(offset, 16)
    if len(raw) < 16:
        return None
    magic, arch, length, checksum = struct.unpack("<IIII", raw)
    checksum_ok = not (magic + arch + length + checksum) & 0xFFFFFFFF
    in_window = offset + max(length, MB2.fixed_size) <= MB2.window
    aligned = offset % MB2.align == 0
    if not checksum_ok and not (offset + MB2.fixed_size <= MB2.window and aligned):
        return None
    header = MultibootHeader(2, layer, offset, in_window, aligned, checksum_ok,
                             checksum=checksum, architecture=arch,
                             header_length=length)  # fmt: skip
    if checksum_ok:
        _walk_mb2_tags(blob, header, budget)
    return header


def _walk_mb2_tags(blob: Blob, header: MultibootHeader, budget: list[int]) -> None:
    """Walk tags to the end tag, like GRUB (grub_multiboot2_load, multiboot_mbi2.c): each
    step is ALIGN_UP(size, 8), so a size of 1 to 7 steps 8 bytes into the tag's own body,
    and header_length is not the bound GRUB uses. Size 0 stops the walk, where GRUB spins."""
    pos = header.offset + 16
    hard_end = header.offset + MB2.window
    malformed = False  # recorded once
    while pos + 8 <= hard_end:
        if budget[0] <= 0:
            header.problems.append(ProblemCode.TOO_MANY_TAGS)
            return
        budget[0] -= 1
        raw = blob.read(pos, 8)
        if len(raw) < 8:
            header.problems.append(ProblemCode.TRUNCATED)
            return
        tag_type, tag_flags, size = struct.unpack("<HHI", raw)
        body = blob.read(pos + 8, min(max(size - 8, 0), 4096))
        header.tags.append(_tag(pos, tag_type, tag_flags, size, body))
        if size < 8 and not malformed:
            header.problems.append(ProblemCode.MALFORMED_TAG)
            malformed = True
        if size < 8 and (tag_type == Mb2Tag.END or size == 0):
            return  # GRUB stops at any end tag, and never steps past a size 0
        if tag_type == Mb2Tag.END:
            if pos + size != header.offset + header.header_length:
                header.problems.append(ProblemCode.LENGTH_MISMATCH)
            return
        pos += align_up(size, 8)
        if (
            pos >= header.offset + header.header_length
            and ProblemCode.TAGS_PAST_LENGTH not in header.problems
        ):
            header.problems.append(ProblemCode.TAGS_PAST_LENGTH)
    header.problems.append(ProblemCode.MISSING_END_TAG)


def _tag(pos: int, tag_type: int, tag_flags: int, size: int, body: bytes) -> MultibootTag:
    fields: dict[str, object] = {"optional": bool(tag_flags & MB2_TAG_OPTIONAL)}
    names = _MB2_TAG_FIELDS.get(tag_type, ())
    for index, name in enumerate(names):
        if 4 * index + 4 <= len(body):
            fields[name] = struct.unpack_from("<I", body, 4 * index)[0]
    if tag_type == Mb2Tag.INFORMATION_REQUEST:
        fields["requests"] = [
            struct.unpack_from("<I", body, i)[0] for i in range(0, len(body) - 3, 4)
        ]
    expected = MB2_TAG_SIZES.get(tag_type)
    if expected is not None and size != expected:
        fields["size_expected"] = expected
    name = MB2_TAG_NAMES.get(tag_type, f"unknown tag {tag_type}")
    return MultibootTag(pos, tag_type, tag_flags, size, name, fields)
