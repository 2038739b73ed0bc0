"""Early-stop decoding keeps only the head and the last few MiB; a late read of a dropped
range decodes again and still returns the right bytes."""

from __future__ import annotations

import lzma
import random

from pvhlint.codecs import DecodedStream


def stream(keep_all: bool) -> tuple[DecodedStream, bytes]:
    raw = random.Random(7).randbytes(1 << 16) * 200  # 12.5 MiB, compresses well
    return DecodedStream("xz", lzma.compress(raw, check=lzma.CHECK_CRC32, preset=0),
                         keep_all=keep_all), raw  # fmt: skip


def test_passed_chunks_are_dropped_and_read_again():
    decoded, raw = stream(keep_all=False)
    assert decoded.read(11 << 20, 100) == raw[11 << 20 : (11 << 20) + 100]
    dropped = sum(chunk is None for chunk in decoded._chunks)
    assert dropped >= 5  # of the 11 MiB before the read, only head and tail stay
    assert decoded.read(3 << 20, 5000) == raw[3 << 20 : (3 << 20) + 5000]
    assert decoded.read(0, 64) == raw[:64]
    assert decoded.read(12 << 20, 1 << 20) == raw[12 << 20 : 13 << 20]


def test_full_mode_keeps_everything():
    decoded, raw = stream(keep_all=True)
    assert decoded.read(11 << 20, 100) == raw[11 << 20 : (11 << 20) + 100]
    assert all(chunk is not None for chunk in decoded._chunks)
    decoded.read_all()
    assert decoded.read(0, len(raw)) == raw
