"""zstd: Linux's `zstd -22 --ultra`; one skippable frame after the stream is padding."""

from __future__ import annotations

import struct

from .base import (
    IN_CHUNK,
    OUT_CHUNK,
    Chunks,
    CodecError,
    Progress,
    decoder_memory,
    no_progress,
)

NAME = "zstd"
MAGIC = b"\x28\xb5\x2f\xfd"
BUILD_OPTIONS = "zstd -22 --ultra"
LEVEL = 22
MAX_WINDOW = 1 << 31
SKIPPABLE = 0x184D2A50
_SKIPPABLE_HEADER = 8  # magic, u32 size


class _Source:
    """The payload as the file zstandard's stream reader pulls from, read in place:
    io.BytesIO would first copy the whole of it (14 MB of a Debian 13 kernel)."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def read(self, size: int) -> bytes:
        piece = bytes(self.data[self.pos : self.pos + size])
        self.pos += len(piece)
        return piece

    def tell(self) -> int:
        return self.pos


def decode(data: memoryview, limit: int) -> Chunks:
    import zstandard

    # A frame header may ask for a window up to 2 GiB (zstd -22 --ultra uses 128 MiB);
    # more than the output cap buys nothing but memory.
    # ZSTD_WINDOWLOG_MAX is 31 on 64-bit: zstd refuses a larger limit ("unable to set max
    # window size"), so a cap above 2 GiB must not become one.
    window = min(decoder_memory(limit), MAX_WINDOW)
    decoder = zstandard.ZstdDecompressor(max_window_size=window)
    source = _Source(data)
    reader = decoder.stream_reader(source, read_size=IN_CHUNK, read_across_frames=False)
    while True:
        try:
            out = reader.read(OUT_CHUNK)
        except zstandard.ZstdError as exc:
            raise CodecError(f"zstd: {exc}") from None
        if not out:
            return
        yield out, source.tell()


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    """One call with the size known, as before the codecs became modules: a streamed
    encode (which could report progress) chooses other parameters and another output."""
    import zstandard

    out = zstandard.ZstdCompressor(level=LEVEL, write_content_size=False).compress(data)
    progress(len(data))
    return out


def padding(size: int) -> bytes | None:
    if size == 0:
        return b""
    if size < _SKIPPABLE_HEADER:
        return None
    body = size - _SKIPPABLE_HEADER
    return struct.pack("<II", SKIPPABLE, body) + bytes(body)
