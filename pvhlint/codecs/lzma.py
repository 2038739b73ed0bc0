"""lzma: Linux's `lzma -9`, the .lzma "alone" format; zero bytes after the end marker are
padding."""

from __future__ import annotations

from . import xz
from .base import Chunks, Progress, decoder_memory, encode_in_steps, no_progress, pull_chunks

NAME = "lzma"
MAGIC = b"\x5d\x00"
BUILD_OPTIONS = "lzma -9"


def decode(data: memoryview, limit: int) -> Chunks:
    lzma = xz.liblzma()  # looked up at call time: tests swap the backend
    # The .lzma header names any dictionary size up to 4 GiB; liblzma would reserve it.
    memory = decoder_memory(limit)
    return pull_chunks(
        lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=memory), data, NAME
    )


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    import lzma

    return encode_in_steps(lzma.LZMACompressor(lzma.FORMAT_ALONE, preset=9), data, progress)


def padding(size: int) -> bytes | None:
    return bytes(size)
