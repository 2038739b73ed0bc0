"""The Linux setup header, its CRC32 trailer and the PE/EFI stub (linux-boot.md §1-8)."""

from __future__ import annotations

import struct
import zlib

from .blob import Blob, BytesBlob
from .model import PEInfo, SetupHeader

HDRS = b"HdrS"
BOOT_FLAG = 0xAA55
SETUP_HEADER_START = 0x1F1

# (offset, size, first protocol version, name) from boot.rst; 0 = every version.
SETUP_FIELDS: tuple[tuple[int, int, int, str], ...] = (
    (0x1F1, 1, 0, "setup_sects"), (0x1F2, 2, 0, "root_flags"), (0x1F4, 4, 0, "syssize"),
    (0x1F8, 2, 0, "ram_size"), (0x1FA, 2, 0, "vid_mode"), (0x1FC, 2, 0, "root_dev"),
    (0x1FE, 2, 0, "boot_flag"), (0x200, 2, 0x200, "jump"), (0x202, 4, 0x200, "header"),
    (0x206, 2, 0x200, "version"), (0x208, 4, 0x200, "realmode_swtch"),
    (0x20C, 2, 0x200, "start_sys_seg"), (0x20E, 2, 0x200, "kernel_version"),
    (0x210, 1, 0x200, "type_of_loader"), (0x211, 1, 0x200, "loadflags"),
    (0x212, 2, 0x200, "setup_move_size"), (0x214, 4, 0x200, "code32_start"),
    (0x218, 4, 0x200, "ramdisk_image"), (0x21C, 4, 0x200, "ramdisk_size"),
    (0x220, 4, 0x200, "bootsect_kludge"), (0x224, 2, 0x201, "heap_end_ptr"),
    (0x226, 1, 0x202, "ext_loader_ver"), (0x227, 1, 0x202, "ext_loader_type"),
    (0x228, 4, 0x202, "cmd_line_ptr"), (0x22C, 4, 0x203, "initrd_addr_max"),
    (0x230, 4, 0x205, "kernel_alignment"), (0x234, 1, 0x205, "relocatable_kernel"),
    (0x235, 1, 0x20A, "min_alignment"), (0x236, 2, 0x20C, "xloadflags"),
    (0x238, 4, 0x206, "cmdline_size"), (0x23C, 4, 0x207, "hardware_subarch"),
    (0x240, 8, 0x207, "hardware_subarch_data"), (0x248, 4, 0x208, "payload_offset"),
    (0x24C, 4, 0x208, "payload_length"), (0x250, 8, 0x209, "setup_data"),
    (0x258, 8, 0x20A, "pref_address"), (0x260, 4, 0x20A, "init_size"),
    (0x264, 4, 0x20B, "handover_offset"), (0x268, 4, 0x20F, "kernel_info_offset"),
)  # fmt: skip
FIELD_OFFSETS = {name: (offset, size) for offset, size, _, name in SETUP_FIELDS}

LOADFLAG_NAMES = {0: "LOADED_HIGH", 1: "KASLR_FLAG", 5: "QUIET_FLAG", 6: "KEEP_SEGMENTS",
                  7: "CAN_USE_HEAP"}  # fmt: skip
XLOADFLAG_NAMES = {0: "XLF_KERNEL_64", 1: "XLF_CAN_BE_LOADED_ABOVE_4G", 2: "XLF_EFI_HANDOVER_32",
                   3: "XLF_EFI_HANDOVER_64", 4: "XLF_EFI_KEXEC", 5: "XLF_5LEVEL",
                   6: "XLF_5LEVEL_ENABLED", 7: "XLF_MEM_ENCRYPTION"}  # fmt: skip


def flag_names(value: int, names: dict[int, str]) -> list[str]:
    return [names.get(bit, f"bit{bit}") for bit in range(16) if value >> bit & 1]


def looks_like_bzimage(head: bytes) -> bool:
    return len(head) >= 0x206 and (
        head[0x202:0x206] == HDRS or struct.unpack_from("<H", head, 0x1FE)[0] == BOOT_FLAG
    )


def effective_version(version: int) -> int:
    # 2.14 was burnt by a bad commit: treat it as 2.13 (linux-boot.md §2).
    return 0x20D if version == 0x20E else version


def read_setup(blob: BytesBlob, layer: int) -> SetupHeader:
    head = blob.read(0, 0x26C)
    has_hdrs = head[0x202:0x206] == HDRS
    # A file cut inside the version field has HdrS and no version: read it as 0.
    version = struct.unpack_from("<H", head, 0x206)[0] if has_hdrs and len(head) >= 0x208 else 0
    usable = effective_version(version)
    fields: dict[str, int] = {}
    for offset, size, since, name in SETUP_FIELDS:
        if since <= usable and offset + size <= len(head):
            fields[name] = int.from_bytes(head[offset : offset + size], "little")
    if usable < 0x204 and "syssize" in fields:
        fields["syssize"] &= 0xFFFF  # only two bytes were valid before 2.04
    setup_sects = head[0x1F1]
    pm_offset = ((setup_sects or 4) + 1) * 512
    header = SetupHeader(layer, setup_sects, fields.get("boot_flag", 0), has_hdrs, version,
                         fields, pm_offset, None, None, None, None)  # fmt: skip
    if len(head) >= 0x202 and head[0x200] == 0xEB and head[0x201] < 0x80:
        header.header_end = 0x202 + head[0x201]
        header.raw_fields = {name: int.from_bytes(head[offset : offset + size], "little")
                             for offset, size, _, name in SETUP_FIELDS
                             if offset + size <= min(header.header_end, len(head))}  # fmt: skip
    header.kernel_version = _kernel_version(blob, fields.get("kernel_version", 0))
    _check_crc(blob, header)
    header.kernel_info = _kernel_info(blob, header)
    return header


def _kernel_version(blob: Blob, pointer: int) -> str | None:
    """The NUL-terminated string at 0x200 + kernel_version (boot.rst), at most 256 bytes."""
    if not pointer:
        return None
    raw = bytes(blob.read(0x200 + pointer, 256)).split(b"\0", 1)[0]
    return raw.decode("ascii", "replace")


def _check_crc(blob: BytesBlob, header: SetupHeader) -> None:
    """build.c's CRC: reflected CRC-32, no final XOR, over [0, N-4); stored LE at N-4."""
    syssize = header.fields.get("syssize", 0)
    end = header.pm_offset + syssize * 16
    header.crc_end = end
    size = blob.known_size or 0
    if not syssize or end > size or end < 4:
        header.crc_ok = False
        return
    header.crc_stored = struct.unpack("<I", blob.read(end - 4, 4))[0]
    header.crc_ok = blob.crc32(end) == 0xFFFFFFFF


def check_crc_before_signing(blob: Blob, setup: SetupHeader, pe: PEInfo) -> bool:
    """The CRC as the build computed it: PE CheckSum and Security directory still zero."""
    assert setup.crc_end is not None
    data = bytearray(blob.read(0, setup.crc_end))
    opt = pe.offset + 24
    security = opt + (144 if pe.optional_magic == 0x20B else 128)
    for start, size in ((opt + 64, 4), (security, 8)):
        if start + size <= len(data):  # a slice past the end would append, not overwrite
            data[start : start + size] = bytes(size)
    return zlib.crc32(data) == 0xFFFFFFFF


def _kernel_info(blob: Blob, header: SetupHeader) -> dict[str, int] | None:
    offset = header.fields.get("kernel_info_offset")
    if not offset:
        return None
    at = header.pm_offset + offset
    raw = blob.read(at, 16)
    if len(raw) < 16 or raw[:4] != b"LToP":
        return {"offset": at, "valid": 0}
    size, size_total, setup_type_max = struct.unpack_from("<III", raw, 4)
    return {"offset": at, "valid": 1, "size": size, "size_total": size_total,
            "setup_type_max": setup_type_max}  # fmt: skip
