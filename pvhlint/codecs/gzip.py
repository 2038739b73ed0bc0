"""gzip: Linux's `gzip -n -9` (scripts/Makefile.lib); Xen's and the kernel's inflate stop
at the member's end, so zero bytes after it are padding."""

from __future__ import annotations

from collections.abc import Iterator

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


# --- the file as GRUB's gzio reads it (grub-core/io/gzio.c, GRUB 2.06 and 2.12) ------------
# test_gzip_header: magic 1f 8b (or 1f 9e), method 8, none of its CONTINUATION (the FHCRC bit),
# ENCRYPTED or reserved flags, then the extra field, name and comment skipped; the file's size
# is its last 4 bytes. get_byte refills an 8 KiB buffer (INBUFSIZ) from the file; at the end
# of the file the read brings nothing and the buffer's old bytes are read again, for ever, so
# past a cut the inflate runs on stale input. The inflate decodes 32 KiB windows (WSIZE): an
# error anywhere in a window fails every read that needs that window.
GRUB_MAGICS = (MAGIC, b"\x1f\x9e")  # and gzip's old magic
GRUB_UNSUPPORTED_FLAGS = 0x02 | 0x20 | 0xC0
FEXTRA, FNAME, FCOMMENT = 0x04, 0x08, 0x10
GRUB_INBUF = 0x2000
GRUB_WINDOW = 0x8000
_FEED = 256  # input bytes per inflate call
# How far the model follows gzio's inflate, at most: stale input decodes at about 80 MB/s.
GZIO_LOOK_AHEAD = 64 << 20
_STEP_OUT = 0x1000  # output per call: an error loses at most that much, inside its window


def grub_deflate_start(data: bytes | memoryview) -> int | None:
    """Where GRUB's gzio starts inflating (after the header), or None: not gzip to GRUB."""
    if len(data) < 10 or bytes(data[:2]) not in GRUB_MAGICS or data[2] != 8:
        return None
    flags, pos = data[3], 10
    if flags & GRUB_UNSUPPORTED_FLAGS:
        return None
    if flags & FEXTRA:
        if pos + 2 > len(data):
            return None
        pos += 2 + int.from_bytes(data[pos : pos + 2], "little")
    for flag in (FNAME, FCOMMENT):
        if flags & flag:
            end = bytes(data[pos : pos + (1 << 16)]).find(b"\0")
            if end < 0:
                return None
            pos += end + 1
    return pos if pos <= len(data) else None


def _grub_input(body: bytes) -> Iterator[bytes]:
    """The bytes get_byte hands the inflate: the file in 8 KiB reads, then the buffer as the
    last (short) read left it, again and again (it starts zeroed: grub_zalloc)."""
    buffer = bytes(GRUB_INBUF)
    for at in range(0, len(body), GRUB_INBUF):
        chunk = body[at : at + GRUB_INBUF]
        buffer = chunk + buffer[len(chunk) :]
        yield chunk if len(chunk) == GRUB_INBUF else buffer
    while True:
        yield buffer


def grub_gzio_end(data: bytes | memoryview, bound: int) -> int | None:
    """How far GRUB's reads of the gunzipped file can go: the bytes its inflate yields before
    the stream's last block ends (exactly), or up to the 32 KiB window in which it fails, at
    most `bound`; None when GRUB does not read the file as gzip. zlib stands in for gzio's
    inflate (the same deflate format), primed with gzio's zeroed window; it refuses a few
    things gzio lets pass (a dynamic block without an end-of-block code, a repeat before any
    length), so on stale input it may stop where GRUB reads on."""
    import zlib

    start = grub_deflate_start(data)
    if start is None:
        return None
    # gzio's window starts zeroed (grub_zalloc): a distance before the start copies zeros
    decoder = zlib.decompressobj(-zlib.MAX_WBITS, zdict=bytes(GRUB_WINDOW))
    produced = 0
    for block in _grub_input(bytes(data[start:])):
        for at in range(0, len(block), _FEED):
            pending = block[at : at + _FEED]
            while pending:
                try:
                    produced += len(decoder.decompress(pending, _STEP_OUT))
                except zlib.error:
                    return min(produced // GRUB_WINDOW * GRUB_WINDOW, bound)
                if decoder.eof:
                    return min(produced, bound)
                if produced >= bound:
                    return bound
                pending = decoder.unconsumed_tail
    raise AssertionError("unreachable: the stale input never ends")


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    """Level 9, mtime 0 (zlib's own gzip header, as gzip.compress writes it for mtime 0)."""
    import zlib

    return encode_in_steps(zlib.compressobj(9, zlib.DEFLATED, 31), data, progress)


def padding(size: int) -> bytes | None:
    return bytes(size)
