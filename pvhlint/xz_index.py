"""The uncompressed size of an .xz stream, read from its index instead of by decoding.

An .xz stream ends with an index (one record per block: unpadded and uncompressed size)
and a 12-byte footer that says how long the index is (the .xz file format, sections
2.1.2 and 4). Adding the records gives the size a decoder produces, so a bzImage's size
trailer can be checked against it without decoding the tail of a 60 MB kernel. Only a
single stream whose parts add up to its exact length is read; anything else is None
(then the size is known only by decoding).
"""

from __future__ import annotations

import struct
import zlib

XZ_HEADER = b"\xfd7zXZ\x00"
XZ_FOOTER_MAGIC = b"YZ"
_HEADER_SIZE = _FOOTER_SIZE = 12
_MAX_RECORDS = 1 << 20


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """An xz multibyte integer (up to 9 bytes, 7 bits each, low first) at `pos`."""
    value = 0
    for shift in range(0, 63, 7):
        if pos >= len(data):
            raise ValueError("index ends inside a number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise ValueError("number longer than 9 bytes")


def uncompressed_size(stream: bytes | memoryview) -> int | None:
    """The stream's uncompressed size per its index, or None when the stream is not one
    well-formed .xz stream (padding after it aside)."""
    data = bytes(stream[-(1 << 20) :]) if len(stream) > 1 << 20 else bytes(stream)
    total = len(stream)
    while data.endswith(b"\0\0\0\0"):  # stream padding: multiples of four zero bytes
        data, total = data[:-4], total - 4
    if total < _HEADER_SIZE + _FOOTER_SIZE or bytes(stream[:6]) != XZ_HEADER:
        return None
    footer = data[-_FOOTER_SIZE:]
    if (
        footer[10:] != XZ_FOOTER_MAGIC
        or zlib.crc32(footer[4:10]) != struct.unpack("<I", footer[:4])[0]
    ):
        return None
    index_size = (struct.unpack("<I", footer[4:8])[0] + 1) * 4
    if index_size + _FOOTER_SIZE > len(data):
        return None
    index = data[-_FOOTER_SIZE - index_size : -_FOOTER_SIZE]
    try:
        return _index_total(index, total - _HEADER_SIZE - _FOOTER_SIZE - index_size)
    except ValueError:
        return None


def _index_total(index: bytes, blocks_size: int) -> int | None:
    if not index or index[0] != 0 or zlib.crc32(index[:-4]) != struct.unpack("<I", index[-4:])[0]:
        return None
    count, pos = _varint(index, 1)
    if count > _MAX_RECORDS:
        return None
    padded_blocks = out = 0
    for _ in range(count):
        unpadded, pos = _varint(index, pos)
        size, pos = _varint(index, pos)
        padded_blocks += (unpadded + 3) // 4 * 4
        out += size
    return out if padded_blocks == blocks_size else None


def grub_xzio_size(stream: bytes | memoryview) -> int | None:
    """The size GRUB's xzio filter gives the file (grub-core/io/xzio.c test_footer), or
    None when its footer test fails and GRUB reads the file as it is. Looser than
    uncompressed_size: the "YZ" magic, the backward size, and the index's record count and
    records readable; no CRC, no stream padding, the marker byte not checked."""
    data = bytes(stream[-(1 << 20) :]) if len(stream) > 1 << 20 else bytes(stream)
    total = len(stream)
    if total < _HEADER_SIZE + _FOOTER_SIZE or data[-2:] != XZ_FOOTER_MAGIC:
        return None
    backsize = (struct.unpack("<I", data[-8:-4])[0] + 1) * 4
    start = total - _FOOTER_SIZE - backsize
    if start < 0 or total - start > len(data):
        return None
    index = data[len(data) - (total - start) :]
    try:
        count, pos = _varint(index, 1)
        size = 0
        for _ in range(min(count, _MAX_RECORDS)):
            _, pos = _varint(index, pos)
            step, pos = _varint(index, pos)
            size += step
    except ValueError:
        return None
    return size
