"""lz4: Linux's `lz4 -l -9`, legacy frames of 8 MiB blocks at HC level 9.

Both Xen's and Linux's unlz4 finish only when a block consumes the last byte, and Linux's
pre-boot unlz4 decodes each block to a fixed 8 MiB: the only padding both accept is extra
legacy magic words right after the first (booting showed that a trailing empty block gives
"Decoding failed" and trailing zeros make Xen say "missing data"). When the free space is
not a multiple of 4, the last block is re-compressed at other HC levels until it is."""

from __future__ import annotations

import struct

from .base import Chunks, CodecError, Progress, no_progress

NAME = "lz4"
MAGIC = b"\x02\x21"
BUILD_OPTIONS = "lz4 -l -9 (legacy frames)"
LEGACY_MAGIC = 0x184C2102
_LEGACY_MAGIC_BYTES = struct.pack("<I", LEGACY_MAGIC)
BLOCK = 8 << 20
LEVEL = 9
# HC levels tried for the last block, in order, when the free space is not a multiple of 4.
_LAST_BLOCK_LEVELS = (9, 10, 11, 12, 8, 7, 6, 5, 4, 3)


def decode(data: memoryview, limit: int) -> Chunks:
    """Legacy frames (`lz4 -l`): magic, then u32 LE block sizes; the magic may repeat."""
    import lz4.block

    if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != LEGACY_MAGIC:
        raise CodecError("lz4: not a legacy frame (magic 0x184c2102 missing)")
    pos = 4
    while pos + 4 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if size == LEGACY_MAGIC:
            continue
        if pos + size > len(data):
            raise CodecError(f"lz4: block of {size} bytes at {pos - 4:#x} runs past the payload")
        if data[pos : pos + size] == b"\0":  # an empty block: a lone zero token
            pos += size
            continue
        try:
            out = lz4.block.decompress(bytes(data[pos : pos + size]), BLOCK)
        except lz4.block.LZ4BlockError as exc:
            raise CodecError(f"lz4: block at {pos - 4:#x}: {exc}") from None
        pos += size
        yield out, pos


def encode_block(chunk: bytes, level: int) -> bytes:
    """One legacy block: its u32 LE size, then the HC-compressed bytes."""
    import lz4.block

    block = lz4.block.compress(chunk, mode="high_compression", compression=level,
                               store_size=False)  # fmt: skip
    return struct.pack("<I", len(block)) + block


def encode_blocks(data: bytes, level: int = LEVEL, progress: Progress = no_progress) -> list[bytes]:
    blocks = []
    for pos in range(0, len(data), BLOCK):
        blocks.append(encode_block(data[pos : pos + BLOCK], level))
        progress(min(pos + BLOCK, len(data)))
    return blocks


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    return _LEGACY_MAGIC_BYTES + b"".join(encode_blocks(data, LEVEL, progress))


def fit(
    decoded: bytes, slot: int, progress: Progress = no_progress
) -> tuple[bytes, int, str] | None:
    """(stream with its padding, stream length, options noted) for a slot of `slot` bytes
    (4 of them the decompressed size), or None: magic, padding magic words, blocks, with the
    last block's HC level chosen so the free space is a multiple of 4; the other blocks at
    the build's level 9, else (a stream a few bytes too long for the slot) at level 12."""
    for base in (LEVEL, 12):
        blocks = encode_blocks(decoded, base, progress)
        last = len(decoded) - (len(blocks) - 1) * BLOCK
        for level in (base, *(lvl for lvl in _LAST_BLOCK_LEVELS if lvl != base)):
            if level != base:
                blocks[-1] = encode_block(decoded[-last:], level)
            stream = 4 + sum(len(block) for block in blocks)
            room = slot - 4 - stream
            if room >= 0 and room % 4 == 0:
                note = "" if base == LEVEL else ", blocks at HC level 12"
                note += "" if level == base else f", last block at HC level {level}"
                return _LEGACY_MAGIC_BYTES * (1 + room // 4) + b"".join(blocks), stream, note
    return None
