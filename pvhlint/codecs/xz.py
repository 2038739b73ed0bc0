"""xz: Linux's scripts/xz_wrap.sh, `xz --check=crc32 --x86 --lzma2=,dict=32MiB`; the .xz
format's own Stream Padding (zero bytes, a multiple of 4) fills the slot."""

from __future__ import annotations

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
    decoder = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=decoder_memory(limit))
    return pull_chunks(decoder, data, NAME)


def _encode(data: bytes, progress: Progress, preset: int, **tuning: int) -> bytes:
    import lzma

    lzma2 = {"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": DICT_SIZE, **tuning}
    encoder = lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                                  filters=[{"id": lzma.FILTER_X86}, lzma2])  # fmt: skip
    return encode_in_steps(encoder, data, progress)


def encode(data: bytes, progress: Progress = no_progress) -> bytes:
    return _encode(data, progress, 6)


def encode_extreme(data: bytes, progress: Progress = no_progress) -> bytes:
    import lzma

    return _encode(data, progress, 6 | lzma.PRESET_EXTREME)


def encode_longest(data: bytes, progress: Progress = no_progress) -> bytes:
    import lzma

    return _encode(data, progress, 9 | lzma.PRESET_EXTREME, nice_len=273, depth=512)


# Tighter settings tried, in order, when the build's own options give a stream a few bytes
# too long for the slot (another encoder version than the build's). The kernel's boot
# decompressor reads any of them: the same filters and the build's 32 MiB dictionary.
TIGHTER = (
    (encode_extreme, "xz --check=crc32 --x86 --lzma2=preset=6e,dict=32MiB"),
    (encode_longest, "xz --check=crc32 --x86 --lzma2=preset=9e,dict=32MiB,nice=273,depth=512"),
)


def padding(size: int) -> bytes | None:
    return None if size % 4 else bytes(size)  # .xz Stream Padding comes in multiples of 4
