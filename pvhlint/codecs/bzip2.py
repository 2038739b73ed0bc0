"""bzip2: Linux's `bzip2 -9`; zero bytes after the end-of-stream marker are padding."""

from __future__ import annotations

from .base import Chunks, Progress, encode_in_steps, no_progress, pull_chunks

NAME = "bzip2"
MAGIC = b"BZh"
BUILD_OPTIONS = "bzip2 -9"


def decode(data: memoryview, limit: int) -> Chunks:
    import bz2

    return pull_chunks(bz2.BZ2Decompressor, data, NAME)


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    import bz2

    return encode_in_steps(bz2.BZ2Compressor(9), data, progress)


def padding(size: int) -> bytes | None:
    return bytes(size)
