"""Re-compressing a bzImage payload the way the kernel build does, into the same slot.

Nothing in the file moves: the new stream, padding the codec's boot decompressor
skips, and the 4-byte decompressed size fill exactly the old payload_length
bytes; then the build's CRC32 trailer is recomputed. Per codec (Linux 6.1
scripts/Makefile.lib and scripts/xz_wrap.sh):

- gzip: `gzip -n -9` → zlib level 9, mtime 0; zero bytes after the member.
- bzip2: `bzip2 -9` → level 9; zero bytes after the end-of-stream marker.
- lzma: `lzma -9` → .lzma "alone", preset 9; zero bytes after the end marker.
- xz: `xz --check=crc32 --x86 --lzma2=,dict=32MiB` → the same filter chain; zero
  Stream Padding (the .xz format's own), in multiples of 4.
- lzo: `lzop -9` → lzop container, LZO1X blocks of 256 KiB; zero bytes after the
  end-of-stream block.
- lz4: `lz4 -l -9` → legacy frames, 8 MiB blocks, HC level 9. Both Xen's and
  Linux's unlz4 finish only when a block consumes the last byte, and Linux's
  pre-boot unlz4 decodes each block to a fixed 8 MiB: the only padding both
  accept is extra legacy magic words right after the first (booting showed
  that a trailing empty block gives "Decoding failed" and trailing zeros make
  Xen say "missing data"). When the free space is not a multiple of 4, the last
  block is re-compressed at other HC levels until it is.
- zstd: `zstd -22 --ultra` → level 22; one zstd skippable frame.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from .codecs import UNCOMPRESSED
from .notes_edit import EditError

LZ4_MAGIC = 0x184C2102
LZ4_BLOCK = 8 << 20
_LZ4_MAGIC_BYTES = struct.pack("<I", LZ4_MAGIC)
ZSTD_SKIPPABLE = 0x184D2A50
LZOP_BLOCK = 256 << 10


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, compresslevel=9, mtime=0)


def _bzip2(data: bytes) -> bytes:
    import bz2

    return bz2.compress(data, 9)


def _lzma(data: bytes) -> bytes:
    import lzma

    return lzma.compress(data, format=lzma.FORMAT_ALONE, preset=9)


def _xz(data: bytes, preset: int = 6, **tuning: int) -> bytes:
    import lzma

    lzma2 = {"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": 32 << 20, **tuning}
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                         filters=[{"id": lzma.FILTER_X86}, lzma2])  # fmt: skip


def _xz_extreme(data: bytes) -> bytes:
    import lzma

    return _xz(data, 6 | lzma.PRESET_EXTREME)


def _xz_longest(data: bytes) -> bytes:
    import lzma

    return _xz(data, 9 | lzma.PRESET_EXTREME, nice_len=273, depth=512)


def _lz4_block(chunk: bytes, level: int) -> bytes:
    import lz4.block

    block = lz4.block.compress(chunk, mode="high_compression", compression=level,
                               store_size=False)  # fmt: skip
    return struct.pack("<I", len(block)) + block


def _lz4_blocks(data: bytes, level: int = 9) -> list[bytes]:
    return [
        _lz4_block(data[pos : pos + LZ4_BLOCK], level) for pos in range(0, len(data), LZ4_BLOCK)
    ]


def _lz4(data: bytes) -> bytes:
    return struct.pack("<I", LZ4_MAGIC) + b"".join(_lz4_blocks(data))


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=22, write_content_size=False).compress(data)


def _lzo(data: bytes) -> bytes:
    """An lzop file as `lzop -9` lays it out: header, blocks with Adler-32 of the data."""
    import lzallright

    flags = 0x1  # F_ADLER32_D
    header = struct.pack(">HHHBBIIII", 0x1040, 0x2080, 0x0940, 3, 9, flags, 0o100644, 0, 0)
    header += b"\0"  # no file name
    out = [b"\x89LZO\x00\r\n\x1a\n", header, struct.pack(">I", zlib.adler32(header))]
    codec = lzallright.LZOCompressor()
    for pos in range(0, len(data), LZOP_BLOCK):
        chunk = data[pos : pos + LZOP_BLOCK]
        packed = codec.compress(chunk)
        body = packed if len(packed) < len(chunk) else chunk
        out.append(struct.pack(">III", len(chunk), len(body), zlib.adler32(chunk)) + body)
    out.append(struct.pack(">I", 0))
    return b"".join(out)


COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "gzip": (_gzip, "gzip -n -9"),
    "bzip2": (_bzip2, "bzip2 -9"),
    "lzma": (_lzma, "lzma -9"),
    "xz": (_xz, "xz --check=crc32 --x86 --lzma2=,dict=32MiB"),
    "lzo": (_lzo, "lzop -9 (LZO1X-1 blocks of 256 KiB)"),
    "lz4": (_lz4, "lz4 -l -9 (legacy frames)"),
    "zstd": (_zstd, "zstd -22 --ultra"),
    UNCOMPRESSED: (bytes, "none (CONFIG_KERNEL_UNCOMPRESSED)"),
}


def _padding(codec: str, size: int) -> bytes | None:
    """`size` bytes the codec's decoders skip after the stream, or None if impossible."""
    if size == 0:
        return b""
    assert codec != "lz4", "lz4 pads inside the stream: see _pad_lz4"
    if codec == "zstd":
        if size < 8:
            return None
        return struct.pack("<II", ZSTD_SKIPPABLE, size - 8) + bytes(size - 8)
    if codec == "xz" and size % 4:
        return None  # .xz Stream Padding comes in multiples of 4
    return bytes(size)


# Tighter settings tried, in order, when the build's own options give a stream a few bytes
# too long for the slot (another encoder version than the build's). The kernel's boot
# decompressor reads any of them: the same filters and the build's 32 MiB dictionary.
TIGHTER: dict[str, tuple[tuple[Callable[[bytes], bytes], str], ...]] = {
    "xz": (
        (_xz_extreme, "xz --check=crc32 --x86 --lzma2=preset=6e,dict=32MiB"),
        (_xz_longest, "xz --check=crc32 --x86 --lzma2=preset=9e,dict=32MiB,nice=273,depth=512"),
    ),
}


def repack(codec: str, decoded: bytes, slot: int) -> tuple[bytes, int, str]:
    """The new payload for a slot of `slot` bytes: stream, padding, decompressed size.
    Returns (payload, stream length, options used); EditError when it does not fit."""
    if codec == "lz4":
        fitted = _fit_lz4(decoded, slot)
        if fitted is not None:
            padded, stream, note = fitted
            return padded + struct.pack("<I", len(decoded)), stream, COMPRESSORS[codec][1] + note
        raise _too_long(
            codec,
            len(_lz4(decoded)),
            slot,
            COMPRESSORS[codec][1] + " with HC levels 3-12 for the last block",
        )
    tried, sizes = [], []
    for compress, options in (COMPRESSORS[codec], *TIGHTER.get(codec, ())):
        stream_bytes = compress(decoded)
        room = slot - 4 - len(stream_bytes)
        padding = _padding(codec, room) if room >= 0 else None
        if padding is not None:
            payload = stream_bytes + padding + struct.pack("<I", len(decoded))
            return payload, len(stream_bytes), options
        tried.append(options)
        sizes.append(len(stream_bytes))
    raise _too_long(codec, min(sizes), slot, "; ".join(tried))


def _too_long(codec: str, stream: int, slot: int, tried: str) -> EditError:
    return EditError(f"the re-compressed {codec} stream is {stream} bytes (+4 for the size) "
                     f"and the payload slot holds {slot}; options tried: {tried}")  # fmt: skip


def _fit_lz4(decoded: bytes, slot: int) -> tuple[bytes, int, str] | None:
    """magic, padding magic words, blocks: with the last block's HC level chosen so the
    free space is a multiple of 4; the other blocks at the build's level 9, else (a stream
    a few bytes too long for the slot) at level 12."""
    for base in (9, 12):
        blocks = _lz4_blocks(decoded, base)
        last = len(decoded) - (len(blocks) - 1) * LZ4_BLOCK
        for level in (base, *(lvl for lvl in (9, 10, 11, 12, 8, 7, 6, 5, 4, 3) if lvl != base)):
            if level != base:
                blocks[-1] = _lz4_block(decoded[-last:], level)
            stream = 4 + sum(len(block) for block in blocks)
            room = slot - 4 - stream
            if room >= 0 and room % 4 == 0:
                note = "" if base == 9 else ", blocks at HC level 12"
                note += "" if level == base else f", last block at HC level {level}"
                return _LZ4_MAGIC_BYTES * (1 + room // 4) + b"".join(blocks), stream, note
    return None


def store_crc(data: bytearray, crc_end: int) -> None:
    """build.c's trailer: CRC-32 without final XOR over [0, N-4), little-endian at N-4."""
    data[crc_end - 4 : crc_end] = struct.pack("<I", zlib.crc32(data[: crc_end - 4]) ^ 0xFFFFFFFF)
