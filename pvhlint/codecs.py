"""Kernel payload codecs: detection by leading bytes, and decoding on demand.

Decoding uses maintained libraries (zlib, bz2, lzma, lz4, zstandard, lzallright);
only the containers the kernel wraps around them (lz4 legacy frames, lzop) are
walked here, the way the kernel's own unlz4/unlzo do.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterator
from typing import Protocol

# Xen's libxenguest probe order (linux-boot.md §9); the first match wins.
CODEC_MAGICS: tuple[tuple[str, bytes], ...] = (
    ("gzip", b"\x1f\x8b"),
    ("bzip2", b"BZh"),
    ("xz", b"\xfd7zXZ\x00"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("lzma", b"\x5d\x00"),
    ("lzo", b"\x89LZO\x00"),
    ("lz4", b"\x02\x21"),
)
CODECS = tuple(name for name, _ in CODEC_MAGICS)

# Generous for any real kernel (Debian's payload inflates to 66 MB); a bomb stops here.
DEFAULT_MAX_OUTPUT = 512 << 20
# Real kernels compress 3-8x; only a crafted stream exceeds this once past 16 MiB.
MAX_RATIO = 1000
_RATIO_FLOOR = 16 << 20

_IN_CHUNK = 1 << 16
_OUT_CHUNK = 1 << 20
_LZ4_LEGACY_MAGIC = 0x184C2102
_LZ4_LEGACY_BLOCK = 8 << 20
_LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"


class CodecError(Exception):
    """A payload stream that cannot be decoded."""


def detect_codec(head: bytes) -> str | None:
    """Name of the codec whose magic starts `head`, in Xen's probe order."""
    for name, magic in CODEC_MAGICS:
        if head.startswith(magic):
            return name
    return None


def _zlib_chunks(data: memoryview) -> Iterator[bytes]:
    import zlib

    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos, pending = 0, b""
    while not decoder.eof:
        if not pending:
            if pos >= len(data):
                raise CodecError("gzip stream ends early")
            pending, pos = bytes(data[pos : pos + _IN_CHUNK]), pos + _IN_CHUNK
        try:
            out = decoder.decompress(pending, _OUT_CHUNK)
        except zlib.error as exc:
            raise CodecError(f"gzip: {exc}") from None
        pending = decoder.unconsumed_tail
        if out:
            yield out


class _Pullable(Protocol):
    """bz2.BZ2Decompressor and lzma.LZMADecompressor (imported lazily, so typed here)."""

    eof: bool
    needs_input: bool

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _pull_chunks(decoder: _Pullable, data: memoryview, codec: str) -> Iterator[bytes]:
    """Drive a bz2/lzma style decoder (needs_input, eof) with bounded output."""
    pos = 0
    while not decoder.eof:
        chunk = b""
        if decoder.needs_input:
            if pos >= len(data):
                raise CodecError(f"{codec} stream ends early")
            chunk, pos = bytes(data[pos : pos + _IN_CHUNK]), pos + _IN_CHUNK
        try:
            out = decoder.decompress(chunk, _OUT_CHUNK)
        except (OSError, EOFError, ValueError) as exc:
            raise CodecError(f"{codec}: {exc}") from None
        if out:
            yield out


def _bzip2_chunks(data: memoryview) -> Iterator[bytes]:
    import bz2

    return _pull_chunks(bz2.BZ2Decompressor(), data, "bzip2")


def _xz_chunks(data: memoryview) -> Iterator[bytes]:
    import lzma

    return _pull_chunks(lzma.LZMADecompressor(lzma.FORMAT_XZ), data, "xz")


def _lzma_chunks(data: memoryview) -> Iterator[bytes]:
    import lzma

    return _pull_chunks(lzma.LZMADecompressor(lzma.FORMAT_ALONE), data, "lzma")


def _zstd_chunks(data: memoryview) -> Iterator[bytes]:
    import zstandard

    # `zstd -22 --ultra` uses windows up to 128 MiB (log 27); allow up to the format's limit.
    decoder = zstandard.ZstdDecompressor(max_window_size=1 << 31)
    reader = decoder.stream_reader(bytes(data), read_across_frames=False)
    while True:
        try:
            out = reader.read(_OUT_CHUNK)
        except zstandard.ZstdError as exc:
            raise CodecError(f"zstd: {exc}") from None
        if not out:
            return
        yield out


def _lz4_legacy_chunks(data: memoryview) -> Iterator[bytes]:
    """Legacy frames (`lz4 -l`): magic, then u32 LE block sizes; the magic may repeat."""
    import lz4.block

    if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != _LZ4_LEGACY_MAGIC:
        raise CodecError("lz4: not a legacy frame (magic 0x184c2102 missing)")
    pos = 4
    while pos + 4 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if size == _LZ4_LEGACY_MAGIC:
            continue
        if pos + size > len(data):
            raise CodecError(f"lz4: block of {size} bytes at {pos - 4:#x} runs past the payload")
        if data[pos : pos + size] == b"\0":  # an empty block: a lone zero token
            pos += size
            continue
        try:
            yield lz4.block.decompress(bytes(data[pos : pos + size]), _LZ4_LEGACY_BLOCK)
        except lz4.block.LZ4BlockError as exc:
            raise CodecError(f"lz4: block at {pos - 4:#x}: {exc}") from None
        pos += size


def _lzop_blocks_start(data: memoryview) -> tuple[int, int]:
    """Skip the lzop file header (as the kernel's unlzo does); return (offset, flags)."""
    if bytes(data[:9]) != _LZOP_MAGIC:
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
    if flags & 0x800:  # F_H_FILTER
        pos += 4
    pos += 8  # mode, mtime_low
    if version >= 0x0940:
        pos += 4  # mtime_high
    pos += 1 + data[pos]  # file name
    return pos + 4, flags  # header checksum


def _lzo_chunks(data: memoryview) -> Iterator[bytes]:
    import lzallright

    try:
        pos, flags = _lzop_blocks_start(data)
    except (struct.error, IndexError):
        raise CodecError("lzo: lzop header truncated") from None
    d_checks = bool(flags & 0x1) + bool(flags & 0x100)  # F_ADLER32_D, F_CRC32_D
    c_checks = bool(flags & 0x2) + bool(flags & 0x200)  # F_ADLER32_C, F_CRC32_C
    codec = lzallright.LZOCompressor()
    while True:
        if pos + 4 > len(data):
            raise CodecError("lzo: stream ends before its end marker")
        dst_len = struct.unpack_from(">I", data, pos)[0]
        if dst_len == 0:
            return
        src_len = struct.unpack_from(">I", data, pos + 4)[0]
        pos += 8 + 4 * d_checks + (4 * c_checks if src_len < dst_len else 0)
        block = bytes(data[pos : pos + src_len])
        if len(block) < src_len or src_len > dst_len:
            raise CodecError(f"lzo: block at {pos:#x} is truncated or malformed")
        pos += src_len
        if src_len == dst_len:
            yield block
            continue
        try:
            out = codec.decompress(block, output_size_hint=dst_len)
        except lzallright.LZOError as exc:
            raise CodecError(f"lzo: block at {pos - src_len:#x}: {exc}") from None
        if len(out) != dst_len:
            raise CodecError(f"lzo: block decoded to {len(out)} bytes, header says {dst_len}")
        yield out


_DECODERS: dict[str, Callable[[memoryview], Iterator[bytes]]] = {
    "gzip": _zlib_chunks,
    "bzip2": _bzip2_chunks,
    "xz": _xz_chunks,
    "zstd": _zstd_chunks,
    "lzma": _lzma_chunks,
    "lzo": _lzo_chunks,
    "lz4": _lz4_legacy_chunks,
}


class DecodedStream:
    """A compressed stream decoded only as far as readers have asked (a `Blob`).

    Output is kept as a list of chunks, not one growing buffer, so reading 24 MB
    of a payload never needs a second 24 MB copy while the buffer reallocates.
    """

    def __init__(
        self, codec: str, data: memoryview | bytes, max_output: int = DEFAULT_MAX_OUTPUT
    ) -> None:
        self.codec = codec
        self.input_size = len(data)
        self.max_output = max_output
        self.error: str | None = None
        self._chunks: list[bytes] = []
        self._starts: list[int] = []
        self._size = 0
        self._source: Iterator[bytes] | None = _DECODERS[codec](memoryview(data))

    @property
    def complete(self) -> bool:
        return self._source is None

    @property
    def decoded_size(self) -> int:
        return self._size

    @property
    def known_size(self) -> int | None:
        return self._size if self._source is None else None

    def _pull(self) -> None:
        assert self._source is not None
        try:
            chunk = next(self._source)
        except StopIteration:
            self._source = None
            return
        except CodecError as exc:
            self.error, self._source = str(exc), None
            return
        except Exception as exc:  # any library's complaint about hostile data is a decode error
            self.error, self._source = f"{self.codec}: {exc or type(exc).__name__}", None
            return
        self._starts.append(self._size)
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > self.max_output:
            self.error = f"{self.codec} payload expands past the {self.max_output >> 20} MiB cap"
        elif self._size > _RATIO_FLOOR and self._size > MAX_RATIO * self.input_size:
            self.error = f"{self.codec} payload expands more than {MAX_RATIO}x (a bomb?)"
        if self.error:
            self._source = None

    def ensure(self, end: int) -> int:
        while self._size < end and self._source is not None:
            self._pull()
        return min(end, self._size)

    def read_all(self) -> int:
        return self.ensure(1 << 62)

    def read(self, offset: int, size: int) -> bytes:
        if offset < 0 or size <= 0:
            return b""
        end = self.ensure(offset + size)
        if offset >= end:
            return b""
        index = bisect.bisect_right(self._starts, offset) - 1
        parts = []
        while offset < end:
            chunk, start = self._chunks[index], self._starts[index]
            piece = chunk[offset - start : end - start]
            parts.append(piece)
            offset += len(piece)
            index += 1
        return b"".join(parts)

    def find(self, needle: bytes, start: int, limit: int) -> int:
        """Search forward, decoding as needed (used for NUL-terminated strings)."""
        window = 1 << 16
        pos = start
        while pos < limit:
            block = self.read(pos, min(window, limit - pos) + len(needle) - 1)
            if not block:
                return -1
            hit = block.find(needle)
            if hit >= 0:
                return pos + hit
            pos += max(1, len(block) - len(needle) + 1)
        return -1
