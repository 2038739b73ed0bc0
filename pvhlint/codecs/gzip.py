"""gzip: Linux's `gzip -n -9` (scripts/Makefile.lib); Xen's and the kernel's inflate stop
at the member's end, so zero bytes after it are padding."""

from __future__ import annotations

from .base import IN_CHUNK, OUT_CHUNK, Chunks, CodecError, Progress, encode_in_steps, no_progress

# libxenguest's gunzip buffer, and so the gunzipped kernel, is ISIZE + 16 bytes, the 16
# zero-filled (xg_dom_core.c xc_dom_check_gzip returns unziplen + 16).
GUNZIP_SLACK = 16
NAME = "gzip"
MAGIC = b"\x1f\x8b"
BUILD_OPTIONS = "gzip -n -9"


def decode(data: memoryview, limit: int) -> Chunks:
    import zlib

    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos, pending = 0, b""
    while not decoder.eof:
        if not pending:
            if pos >= len(data):
                raise CodecError("gzip stream ends early")
            pending, pos = bytes(data[pos : pos + IN_CHUNK]), pos + IN_CHUNK
        try:
            out = decoder.decompress(pending, OUT_CHUNK)
        except zlib.error as exc:
            raise CodecError(f"gzip: {exc}") from None
        pending = decoder.unconsumed_tail
        if out:
            yield out, min(pos, len(data)) - len(pending)


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    """Level 9, mtime 0 (zlib's own gzip header, as gzip.compress writes it for mtime 0)."""
    import zlib

    return encode_in_steps(zlib.compressobj(9, zlib.DEFLATED, 31), data, progress)


def padding(size: int) -> bytes | None:
    return bytes(size)
