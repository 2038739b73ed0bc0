"""PE/COFF: the EFI stub of a bzImage, and EFI executables and Unified Kernel Images
(linux-boot.md §8). The headers are read by hand (every bzImage has them, and `check` must
stay fast); the section table of a stand-alone PE through LIEF."""

from __future__ import annotations

import struct

from .blob import Blob
from .model import PEInfo, PESection, align_up

PE_MAGIC = b"PE\0\0"


def read_pe(blob: Blob, layer: int) -> PEInfo | None:
    """MZ → e_lfanew → PE header; Authenticode iff directory 4 (Security) is non-empty."""
    head = blob.read(0, 0x40)
    if head[:2] != b"MZ" or len(head) < 0x40:
        return None
    pe_at = struct.unpack_from("<I", head, 0x3C)[0]
    coff = blob.read(pe_at, 24)
    if len(coff) < 24 or coff[:4] != PE_MAGIC:
        return None
    machine, sections = struct.unpack_from("<HH", coff, 4)
    opt_size = struct.unpack_from("<H", coff, 20)[0]
    opt = blob.read(pe_at + 24, opt_size)
    if len(opt) < 2:
        return None
    magic = struct.unpack_from("<H", opt, 0)[0]
    count_at, dirs_at = (108, 112) if magic == 0x20B else (92, 96)
    subsystem = struct.unpack_from("<H", opt, 68)[0] if len(opt) >= 70 else None
    rva_count = struct.unpack_from("<I", opt, count_at)[0] if len(opt) >= count_at + 4 else 0
    sec_off = sec_size = 0
    if rva_count > 4 and len(opt) >= dirs_at + 40:
        sec_off, sec_size = struct.unpack_from("<II", opt, dirs_at + 32)
    info = PEInfo(layer, pe_at, machine, sections, magic, subsystem, rva_count, sec_off,
                  sec_size, [])  # fmt: skip
    info.certificates = _certificates(blob, sec_off, sec_size) if info.signed else []
    return info


def _certificates(blob: Blob, offset: int, size: int) -> list[dict[str, int]]:
    """WIN_CERTIFICATE entries: dwLength, wRevision, wCertificateType; 8-byte aligned."""
    found, pos, end = [], offset, offset + size
    while pos + 8 <= end and len(found) < 16:
        raw = blob.read(pos, 8)
        if len(raw) < 8:
            break
        length, revision, cert_type = struct.unpack("<IHH", raw)
        found.append({"offset": pos, "length": length, "revision": revision, "type": cert_type})
        if length < 8:
            break
        pos += align_up(length, 8)
    return found


def read_sections(data: bytes | memoryview) -> list[PESection]:
    """The section table as LIEF reads it; [] when LIEF cannot parse the image."""
    import lief

    lief.logging.disable()
    binary = lief.PE.parse(bytes(data))
    if binary is None:
        return []
    return [PESection(section.name, section.offset, section.size, section.virtual_address,
                      section.virtual_size, section.characteristics)
            for section in binary.sections]  # fmt: skip
