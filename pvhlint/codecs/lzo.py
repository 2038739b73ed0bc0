"""lzo: Linux's `lzop -9`, an lzop file of LZO1X blocks of 256 KiB; zero bytes after the
end-of-stream block are padding. Decoding walks the container as the kernel's unlzo does."""

from __future__ import annotations

import struct
import zlib

from .base import Chunks, CodecError, Progress, no_progress

NAME = "lzo"
MAGIC = b"\x89LZO\x00"
BUILD_OPTIONS = "lzop -9 (LZO1X-1 blocks of 256 KiB)"
LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"
BLOCK = 256 << 10  # the kernel's unlzo refuses larger blocks ("dest len longer ...")
F_ADLER32_D, F_ADLER32_C, F_CRC32_D, F_CRC32_C, F_H_FILTER = 0x1, 0x2, 0x100, 0x200, 0x800


def _blocks_start(data: memoryview) -> tuple[int, int]:
    """Skip the lzop file header (as the kernel's unlzo does); return (offset, flags)."""
    if bytes(data[:9]) != LZOP_MAGIC:
        raise CodecError("lzo: lzop magic missing")
    pos = 9
    version = struct.unpack_from(">H", data, pos)[0]
    pos += 4  # version, lib_version
    if version >= 0x0940:
        pos += 2  # version_needed_to_extract
    pos += 1  # method
    if version >= 0x0940:
        pos += 1  # level
    flags = struct.unpack_from(">I", data, pos)[0]
    pos += 4
    if flags & F_H_FILTER:
        pos += 4
    pos += 8  # mode, mtime_low
    if version >= 0x0940:
        pos += 4  # mtime_high
    pos += 1 + data[pos]  # file name
    return pos + 4, flags  # header checksum


def decode(data: memoryview, limit: int) -> Chunks:
    import lzallright

    try:
        pos, flags = _blocks_start(data)
    except (struct.error, IndexError):
        raise CodecError("lzo: lzop header truncated") from None
    d_checks = bool(flags & F_ADLER32_D) + bool(flags & F_CRC32_D)
    c_checks = bool(flags & F_ADLER32_C) + bool(flags & F_CRC32_C)
    codec = lzallright.LZOCompressor()
    while True:
        if pos + 4 > len(data):
            raise CodecError("lzo: stream ends before its end marker")
        dst_len = struct.unpack_from(">I", data, pos)[0]
        if dst_len == 0:
            return
        if dst_len > BLOCK or pos + 8 > len(data):
            # dst_len sizes the output buffer: 4 GiB from 4 bytes otherwise.
            raise CodecError(f"lzo: block at {pos:#x} claims {dst_len} bytes (at most 256 KiB)")
        src_len = struct.unpack_from(">I", data, pos + 4)[0]
        pos += 8 + 4 * d_checks + (4 * c_checks if src_len < dst_len else 0)
        block = bytes(data[pos : pos + src_len])
        if len(block) < src_len or src_len > dst_len:
            raise CodecError(f"lzo: block at {pos:#x} is truncated or malformed")
        pos += src_len
        if src_len == dst_len:
            yield block, pos
            continue
        try:
            out = codec.decompress(block, output_size_hint=dst_len)
        except lzallright.LZOError as exc:
            raise CodecError(f"lzo: block at {pos - src_len:#x}: {exc}") from None
        if len(out) != dst_len:
            raise CodecError(f"lzo: block decoded to {len(out)} bytes, header says {dst_len}")
        yield out, pos


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    """An lzop file as `lzop -9` lays it out: header, blocks with Adler-32 of the data."""
    import lzallright

    header = struct.pack(">HHHBBIIII", 0x1040, 0x2080, 0x0940, 3, 9, F_ADLER32_D, 0o100644, 0, 0)
    header += b"\0"  # no file name
    out = [LZOP_MAGIC, header, struct.pack(">I", zlib.adler32(header))]
    codec = lzallright.LZOCompressor()
    for pos in range(0, len(data), BLOCK):
        chunk = data[pos : pos + BLOCK]
        packed = codec.compress(chunk)
        body = packed if len(packed) < len(chunk) else chunk
        out.append(struct.pack(">III", len(chunk), len(body), zlib.adler32(chunk)) + body)
        progress(min(pos + BLOCK, len(data)))
    out.append(struct.pack(">I", 0))
    return b"".join(out)


def padding(size: int) -> bytes | None:
    return bytes(size)
