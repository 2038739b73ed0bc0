"""xz: Linux's scripts/xz_wrap.sh, `xz --check=crc32 --x86 --lzma2=,dict=32MiB`; the .xz
format's own Stream Padding (zero bytes, a multiple of 4) fills the slot."""

from __future__ import annotations

import struct
import zlib
from types import ModuleType

from .base import Chunks, Progress, decoder_memory, encode_in_steps, no_progress, pull_chunks

NAME = "xz"
MAGIC = b"\xfd7zXZ\x00"
BUILD_OPTIONS = "xz --check=crc32 --x86 --lzma2=,dict=32MiB"
DICT_SIZE = 32 << 20


def liblzma() -> ModuleType:
    """lzma_mt when installed: the same API over liblzma 5.8, whose LZMA decoder is about
    30 % faster than the 5.4 that Debian 12's Python links; otherwise the standard library."""
    try:
        import lzma_mt

        return lzma_mt
    except ImportError:
        import lzma

        return lzma


def decode(data: memoryview, limit: int) -> Chunks:
    lzma = liblzma()
    memory = decoder_memory(limit)
    return pull_chunks(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=memory), data, NAME)


def _encode(data: bytes, progress: Progress, preset: int, **tuning: int) -> bytes:
    import lzma

    lzma2 = {"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": DICT_SIZE, **tuning}
    filters = [{"id": lzma.FILTER_X86}, lzma2]
    return encode_in_steps(lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                                               filters=filters), data, progress)  # fmt: skip


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    return _encode(data, progress, 6)


def encode_fitting(data: bytes, progress: Progress = no_progress) -> bytes:
    return _encode(data, progress, 6, lc=4, nice_len=80)


def encode_extreme(data: bytes, progress: Progress = no_progress) -> bytes:
    import lzma

    return _encode(data, progress, 6 | lzma.PRESET_EXTREME)


def encode_longest(data: bytes, progress: Progress = no_progress) -> bytes:
    import lzma

    return _encode(data, progress, 9 | lzma.PRESET_EXTREME, nice_len=273, depth=512)


# What a fix tries, in order, to fit an edited kernel into the build's slot. The build's own
# stream fills that slot exactly, and an edit moves the size of the preset-6 stream after it
# by about 0.1 % either way: on Debian 12's amd64, rt and 686-pae kernels with their obsolete
# notes dropped (PADDR_OFFSET kept), the build's options came out 1,788, 9,836 and 164 bytes
# too long. lc=4 (a literal's context: 4 bits of the byte before) and nice=80 cost the same
# CPU as the build's options (measured 1.00x) and left 12.7, 22.5 and 5.2 KB free in the
# slot on those three, so they come first; then the build's options (a small kernel may
# fare better with them), 6e (about twice the time) and 9e. Every kernel xz decoder reads
# them all: the same filters, the build's 32 MiB dictionary, and lc + lp <= 4, which
# xz_dec_lzma2.c's lzma_props (Linux's and Xen's) requires.
ATTEMPTS = (
    (encode_fitting, "xz --check=crc32 --x86 --lzma2=preset=6,dict=32MiB,lc=4,nice=80"),
    (encode, BUILD_OPTIONS),
    (encode_extreme, "xz --check=crc32 --x86 --lzma2=preset=6e,dict=32MiB"),
    (encode_longest, "xz --check=crc32 --x86 --lzma2=preset=9e,dict=32MiB,nice=273,depth=512"),
)


def padding(size: int) -> bytes | None:
    return None if size % 4 else bytes(size)  # .xz Stream Padding comes in multiples of 4


# --- the decoded size from the stream's index -------------------------------------------------
# An .xz stream ends with an index (one record per block: unpadded and uncompressed size) and a
# 12-byte footer that says how long the index is (the .xz file format, sections 2.1.2 and 4).
# Adding the records gives the size a decoder produces, so a bzImage's size trailer is checked
# without decoding the tail of a 60 MB kernel, and GRUB's xzio footer test is modelled.

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
    if total < _HEADER_SIZE + _FOOTER_SIZE or bytes(stream[:6]) != MAGIC:
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
