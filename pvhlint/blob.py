"""Byte sources the readers work on: a mapped file, or a payload decoded on demand.

Readers ask for ranges; a decoded payload only decompresses as far as the
furthest byte anyone asked for, which is what keeps `check` on a bzImage fast.
"""

from __future__ import annotations

import mmap
import os
import zlib
from typing import Protocol


class Blob(Protocol):
    """Random access to the bytes of one layer."""

    def ensure(self, end: int) -> int:
        """Make bytes [0, end) available if they exist; return how many are available."""
        ...

    def read(self, offset: int, size: int) -> bytes:
        """Bytes [offset, offset+size), shorter if the layer ends before."""
        ...

    def find(self, needle: bytes, start: int, limit: int) -> int:
        """Offset of `needle` in [start, limit), or -1."""
        ...

    @property
    def known_size(self) -> int | None:
        """The layer's full size, once known."""
        ...


class BytesBlob:
    """A layer held in memory (or a mapped file)."""

    def __init__(self, data: bytes | bytearray | mmap.mmap | memoryview) -> None:
        self.data = data

    def ensure(self, end: int) -> int:
        return min(end, len(self.data))

    def read(self, offset: int, size: int) -> bytes:
        if offset < 0 or size <= 0 or offset >= len(self.data):
            return b""
        return bytes(self.data[offset : offset + size])

    def find(self, needle: bytes, start: int, limit: int) -> int:
        return self.data.find(needle, start, min(limit, len(self.data)))

    def crc32(self, end: int) -> int:
        """zlib's CRC-32 of bytes [0, end), read in place: no copy of a mapped file."""
        with memoryview(self.data) as whole, whole[:end] as head:
            return zlib.crc32(head)

    def read_all(self) -> int:
        return len(self.data)

    @property
    def known_size(self) -> int:
        return len(self.data)


def map_file(path: str) -> mmap.mmap | bytes:
    """Map a file read-only; small or unmappable files are simply read."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 1 << 20:
            return handle.read()
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return handle.read()
