"""Byte sources the readers work on: a file read into memory, or a payload decoded on demand.

Readers ask for ranges; a decoded payload only decompresses as far as the
furthest byte anyone asked for, which is what keeps `check` on a bzImage fast.
"""

from __future__ import annotations

import mmap
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
    """A layer held in memory."""

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
        """zlib's CRC-32 of bytes [0, end), read in place (no copy)."""
        with memoryview(self.data) as whole, whole[:end] as head:
            return zlib.crc32(head)

    def read_all(self) -> int:
        return len(self.data)

    @property
    def known_size(self) -> int:
        return len(self.data)


class ReleasedBlob:
    """A layer whose bytes were let go once nothing was to read them again (`fix` frees a
    bzImage's decoded payload before re-compressing): any read is a bug, said at once."""

    def _gone(self, *_: object) -> int:
        raise AssertionError("read of a layer whose bytes were released")

    ensure = read = find = crc32 = read_all = _gone  # type: ignore[assignment]

    @property
    def known_size(self) -> int:
        return self._gone()


def read_file(path: str) -> bytes:
    """The whole file, read into memory (one buffer sized from fstat). Not mapped: a file
    truncated while it is read (a build rewriting its output, `cp new old`) would kill the
    process with SIGBUS; read, it is simply what the file held."""
    with open(path, "rb", buffering=0) as handle:
        return handle.read()
