"""Kernel payload codecs: detection by leading bytes, and decoding on demand.

Decoding uses maintained libraries (zlib, bz2, lzma, lz4, zstandard, lzallright);
only the containers the kernel wraps around them (lz4 legacy frames, lzop) are
walked here, the way the kernel's own unlz4/unlzo do.
"""

from __future__ import annotations

import bisect
import os
import re
import struct
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Protocol

# Xen's libxenguest probe order (linux-boot.md §9); the first match wins.
CODEC_MAGICS: tuple[tuple[str, bytes], ...] = (
    ("gzip", b"\x1f\x8b"),
    ("bzip2", b"BZh"),
    ("xz", b"\xfd7zXZ\x00"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("lzma", b"\x5d\x00"),
    ("lzo", b"\x89LZO\x00"),
    ("lz4", b"\x02\x21"),
)
CODECS = tuple(name for name, _ in CODEC_MAGICS)
# A payload that is the ELF itself (CONFIG_KERNEL_UNCOMPRESSED: `cat` and the size trailer).
UNCOMPRESSED = "none"

# Generous for any real kernel (Debian's payload inflates to 66 MB); a bomb stops here.
# Overridden per call (open_image's max_output), by $PVHLINT_MAX_DECOMPRESSED or by the
# `max-decompressed` setting (see pvhlint.config).
DEFAULT_MAX_OUTPUT = 512 << 20
# Real kernels compress 3-8x; past 16 MiB of output, more than this many bytes out per
# byte of input consumed so far is a bomb (only bzip2, xz, lzma, zstd and, barely, gzip
# can get there; lz4 and lzo top out near 255x and meet the cap instead).
MAX_RATIO = 1000
_RATIO_FLOOR = 16 << 20

# Input is fed in chunks this small so the consumed count is exact enough for the ratio
# to trip at the floor (1000 x 16 KiB = 16 MiB).
_IN_CHUNK = 1 << 14
_MAX_IN_CHUNK = 1 << 18  # a kernel's step (1 MiB / ratio) up to this
_OUT_CHUNK = 1 << 20
# Early-stop mode keeps decoded bytes below this offset and the last chunks decoded.
_KEEP_HEAD = 1 << 20
_KEEP_TAIL_CHUNKS = 2
# Decodes restarted to re-read a dropped range before the stream keeps everything: offsets
# out of order (scrambled PT_NOTE offsets) would otherwise cost a full decode each.
MAX_RESTARTS = 2
_LZ4_LEGACY_MAGIC = 0x184C2102
_LZ4_LEGACY_BLOCK = 8 << 20
_LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"
_LZO_BLOCK = 256 << 10  # the kernel's unlzo refuses larger blocks ("dest len longer ...")
# Decoder state a stream header may ask for (xz/lzma dictionary, zstd window): this, or the
# output cap if larger. Linux's own builds need at most 128 MiB (zstd -22); a header asking
# for more than all the output we would keep (up to 4 GiB) buys nothing but memory.
_MIN_DECODER_MEMORY = 1 << 28

# Each decoder yields (decoded chunk, input bytes consumed so far).
Chunks = Iterator[tuple[bytes, int]]


class CodecError(Exception):
    """A payload stream that cannot be decoded."""


MAX_OUTPUT_ENV = "PVHLINT_MAX_DECOMPRESSED"
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20,
          "g": 1 << 30, "gib": 1 << 30}  # fmt: skip


def parse_size(text: str | int) -> int:
    """'512MiB', '1G', '4096' -> bytes (binary units); ValueError unless positive."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(text))
        unit = match[2].lower() if match else ""
        if match is None or unit not in _UNITS:
            raise ValueError(f"{text!r} is not a size (e.g. 512MiB, 1GiB, 600000000)")
        value = int(match[1]) * _UNITS[unit]
    if value <= 0:
        raise ValueError(f"{text!r}: the size must be positive")
    return value


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def max_output_from_env() -> int | None:
    """$PVHLINT_MAX_DECOMPRESSED as bytes, None when unset; ValueError when malformed."""
    text = os.environ.get(MAX_OUTPUT_ENV, "").strip()
    if not text:
        return None
    try:
        return parse_size(text)
    except ValueError as exc:
        raise ValueError(f"${MAX_OUTPUT_ENV}: {exc}") from None


def detect_codec(head: bytes) -> str | None:
    """Name of the codec whose magic starts `head`, in Xen's probe order."""
    for name, magic in CODEC_MAGICS:
        if head.startswith(magic):
            return name
    return None


ZSTD_MAX_WINDOW = 1 << 31


def _decoder_memory(limit: int) -> int:
    """Most memory a stream header may make its decoder reserve (dictionary, window)."""
    return max(_MIN_DECODER_MEMORY, limit)


def _zlib_chunks(data: memoryview, limit: int) -> Chunks:
    import zlib

    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos, pending = 0, b""
    while not decoder.eof:
        if not pending:
            if pos >= len(data):
                raise CodecError("gzip stream ends early")
            pending, pos = bytes(data[pos : pos + _IN_CHUNK]), pos + _IN_CHUNK
        try:
            out = decoder.decompress(pending, _OUT_CHUNK)
        except zlib.error as exc:
            raise CodecError(f"gzip: {exc}") from None
        pending = decoder.unconsumed_tail
        if out:
            yield out, min(pos, len(data)) - len(pending)


class _Pullable(Protocol):
    """bz2.BZ2Decompressor and lzma.LZMADecompressor (imported lazily, so typed here)."""

    eof: bool
    needs_input: bool

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _pull_chunks(decoder: _Pullable, data: memoryview, codec: str) -> Chunks:
    """Drive a bz2/lzma style decoder (needs_input, eof) with bounded output."""
    pos = produced = 0
    while not decoder.eof:
        chunk = b""
        if decoder.needs_input:
            if pos >= len(data):
                raise CodecError(f"{codec} stream ends early")
            step = _input_step(produced, pos)
            chunk, pos = bytes(data[pos : pos + step]), pos + step
        try:
            out = decoder.decompress(chunk, _OUT_CHUNK)
        except (OSError, EOFError, ValueError) as exc:
            raise CodecError(f"{codec}: {exc}") from None
        if out:
            produced += len(out)
            yield out, min(pos, len(data))


def _input_step(produced: int, fed: int) -> int:
    """Input for the next call: about one output chunk's worth at the ratio seen so far.

    A kernel (3-8x) then takes one call per MiB instead of dozens, and each call runs
    longer without the interpreter lock, which matters to a decode in pvhlint.prefetch's
    thread. A bomb's ratio keeps the step at _IN_CHUNK, so the ratio check still stops it
    at its floor; a stream that turns into a bomb after a normal start meets the output
    cap, as it would have with any step (its cumulative ratio stays low)."""
    if fed == 0:
        return _IN_CHUNK
    ratio = max(1, produced // fed)
    return min(_MAX_IN_CHUNK, max(_IN_CHUNK, _OUT_CHUNK // ratio))


def _bzip2_chunks(data: memoryview, limit: int) -> Chunks:
    import bz2

    return _pull_chunks(bz2.BZ2Decompressor(), data, "bzip2")


def liblzma() -> ModuleType:
    """lzma_mt when installed: the same API over liblzma 5.8, whose LZMA decoder is about
    30 % faster than the 5.4 that Debian 12's Python links; otherwise the standard library."""
    try:
        import lzma_mt

        return lzma_mt
    except ImportError:
        import lzma

        return lzma


def _xz_chunks(data: memoryview, limit: int) -> Chunks:
    lzma = liblzma()
    decoder = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=_decoder_memory(limit))
    return _pull_chunks(decoder, data, "xz")


def _lzma_chunks(data: memoryview, limit: int) -> Chunks:
    lzma = liblzma()
    # The .lzma header names any dictionary size up to 4 GiB; liblzma would reserve it.
    decoder = lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=_decoder_memory(limit))
    return _pull_chunks(decoder, data, "lzma")


def _zstd_chunks(data: memoryview, limit: int) -> Chunks:
    import io

    import zstandard

    # A frame header may ask for a window up to 2 GiB (zstd -22 --ultra uses 128 MiB);
    # more than the output cap buys nothing but memory.
    # ZSTD_WINDOWLOG_MAX is 31 on 64-bit: zstd refuses a larger limit ("unable to set max
    # window size"), so a cap above 2 GiB must not become one.
    window = min(_decoder_memory(limit), ZSTD_MAX_WINDOW)
    decoder = zstandard.ZstdDecompressor(max_window_size=window)
    source = io.BytesIO(data)
    reader = decoder.stream_reader(source, read_size=_IN_CHUNK, read_across_frames=False)
    while True:
        try:
            out = reader.read(_OUT_CHUNK)
        except zstandard.ZstdError as exc:
            raise CodecError(f"zstd: {exc}") from None
        if not out:
            return
        yield out, source.tell()


def _lz4_legacy_chunks(data: memoryview, limit: int) -> Chunks:
    """Legacy frames (`lz4 -l`): magic, then u32 LE block sizes; the magic may repeat."""
    import lz4.block

    if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != _LZ4_LEGACY_MAGIC:
        raise CodecError("lz4: not a legacy frame (magic 0x184c2102 missing)")
    pos = 4
    while pos + 4 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if size == _LZ4_LEGACY_MAGIC:
            continue
        if pos + size > len(data):
            raise CodecError(f"lz4: block of {size} bytes at {pos - 4:#x} runs past the payload")
        if data[pos : pos + size] == b"\0":  # an empty block: a lone zero token
            pos += size
            continue
        try:
            out = lz4.block.decompress(bytes(data[pos : pos + size]), _LZ4_LEGACY_BLOCK)
        except lz4.block.LZ4BlockError as exc:
            raise CodecError(f"lz4: block at {pos - 4:#x}: {exc}") from None
        pos += size
        yield out, pos


def _lzop_blocks_start(data: memoryview) -> tuple[int, int]:
    """Skip the lzop file header (as the kernel's unlzo does); return (offset, flags)."""
    if bytes(data[:9]) != _LZOP_MAGIC:
        raise CodecError("lzo: lzop magic missing")
    pos = 9
    version = struct.unpack_from(">H", data, pos)[0]
    pos += 4  # version, lib_version
    if version >= 0x0940:
        pos += 2  # version_needed_to_extract
    pos += 1  # method
    if version >= 0x0940:
        pos += 1  # level
    flags = struct.unpack_from(">I", data, pos)[0]
    pos += 4
    if flags & 0x800:  # F_H_FILTER
        pos += 4
    pos += 8  # mode, mtime_low
    if version >= 0x0940:
        pos += 4  # mtime_high
    pos += 1 + data[pos]  # file name
    return pos + 4, flags  # header checksum


def _lzo_chunks(data: memoryview, limit: int) -> Chunks:
    import lzallright

    try:
        pos, flags = _lzop_blocks_start(data)
    except (struct.error, IndexError):
        raise CodecError("lzo: lzop header truncated") from None
    d_checks = bool(flags & 0x1) + bool(flags & 0x100)  # F_ADLER32_D, F_CRC32_D
    c_checks = bool(flags & 0x2) + bool(flags & 0x200)  # F_ADLER32_C, F_CRC32_C
    codec = lzallright.LZOCompressor()
    while True:
        if pos + 4 > len(data):
            raise CodecError("lzo: stream ends before its end marker")
        dst_len = struct.unpack_from(">I", data, pos)[0]
        if dst_len == 0:
            return
        if dst_len > _LZO_BLOCK or pos + 8 > len(data):
            # dst_len sizes the output buffer: 4 GiB from 4 bytes otherwise.
            raise CodecError(f"lzo: block at {pos:#x} claims {dst_len} bytes (at most 256 KiB)")
        src_len = struct.unpack_from(">I", data, pos + 4)[0]
        pos += 8 + 4 * d_checks + (4 * c_checks if src_len < dst_len else 0)
        block = bytes(data[pos : pos + src_len])
        if len(block) < src_len or src_len > dst_len:
            raise CodecError(f"lzo: block at {pos:#x} is truncated or malformed")
        pos += src_len
        if src_len == dst_len:
            yield block, pos
            continue
        try:
            out = codec.decompress(block, output_size_hint=dst_len)
        except lzallright.LZOError as exc:
            raise CodecError(f"lzo: block at {pos - src_len:#x}: {exc}") from None
        if len(out) != dst_len:
            raise CodecError(f"lzo: block decoded to {len(out)} bytes, header says {dst_len}")
        yield out, pos


_DECODERS: dict[str, Callable[[memoryview, int], Chunks]] = {
    "gzip": _zlib_chunks,
    "bzip2": _bzip2_chunks,
    "xz": _xz_chunks,
    "zstd": _zstd_chunks,
    "lzma": _lzma_chunks,
    "lzo": _lzo_chunks,
    "lz4": _lz4_legacy_chunks,
}


class DecodedStream:
    """A compressed stream decoded only as far as readers have asked (a `Blob`).

    Output is kept as a list of chunks, not one growing buffer, so reading 24 MB
    of a payload never needs a second 24 MB copy while the buffer reallocates.
    """

    def __init__(
        self,
        codec: str,
        data: memoryview | bytes,
        max_output: int = DEFAULT_MAX_OUTPUT,
        keep_all: bool = True,
    ) -> None:
        self.codec = codec
        self.input_size = len(data)
        self.max_output = max_output
        self.error: str | None = None
        self.keep_all = keep_all
        self._input = memoryview(data)
        self._pin = (0, 0)  # a range a restarted decode must keep
        self.restarts = 0
        self._start_decoding()

    def _start_decoding(self) -> None:
        self._chunks: list[bytes | None] = []
        self._starts: list[int] = []
        self._size = 0
        self._kept_until = 0  # chunks before this index were considered for dropping
        self.input_used = 0  # compressed bytes the decoder has consumed so far
        self._source: Chunks | None = _DECODERS[self.codec](self._input, self.max_output)

    @property
    def complete(self) -> bool:
        return self._source is None

    @property
    def decoded_size(self) -> int:
        return self._size

    @property
    def known_size(self) -> int | None:
        return self._size if self._source is None else None

    def _pull(self) -> None:
        assert self._source is not None
        try:
            chunk, self.input_used = next(self._source)
        except StopIteration:
            self._source = None
            return
        except CodecError as exc:
            self.error, self._source = str(exc), None
            return
        except Exception as exc:  # any library's complaint about hostile data is a decode error
            self.error, self._source = f"{self.codec}: {exc or type(exc).__name__}", None
            return
        self.error = self._limit_error(self._size + len(chunk))
        if self.error:
            self._source = None
            chunk = chunk[: max(0, self.max_output - self._size)]  # never keep past the cap
        if chunk:
            self._starts.append(self._size)
            self._chunks.append(chunk)
            self._size += len(chunk)
            if not self.keep_all:
                self._drop_passed()

    def _drop_passed(self) -> None:
        """Early-stop mode keeps the head (ELF and program headers) and the last few MiB
        (the note area being read): Debian's kernel then needs ~5 MiB, not 24."""
        last = len(self._chunks) - _KEEP_TAIL_CHUNKS
        for index in range(self._kept_until, max(self._kept_until, last)):
            start = self._starts[index]
            chunk = self._chunks[index]
            end = start + (len(chunk) if chunk is not None else 0)
            pinned = start < self._pin[1] and end > self._pin[0]
            if start >= _KEEP_HEAD and not pinned:
                self._chunks[index] = None
        self._kept_until = max(self._kept_until, last)

    def _limit_error(self, size: int) -> str | None:
        if size > self.max_output:
            return (f"{self.codec} payload expands past the {format_size(self.max_output)} cap "
                    f"(max-decompressed, ${MAX_OUTPUT_ENV})")  # fmt: skip
        if size > _RATIO_FLOOR and size > MAX_RATIO * max(self.input_used, 1):
            return (f"{self.codec} payload expands more than {MAX_RATIO}x: "
                    f"{size} bytes from {self.input_used} (a decompression bomb?)")  # fmt: skip
        return None

    def ensure(self, end: int) -> int:
        while self._size < end and self._source is not None:
            self._pull()
        return min(end, self._size)

    def read_all(self) -> int:
        return self.ensure(1 << 62)

    def read(self, offset: int, size: int) -> bytes:
        if offset < 0 or size <= 0:
            return b""
        end = self.ensure(offset + size)
        if offset >= end:
            return b""
        index = bisect.bisect_right(self._starts, offset) - 1
        if any(
            chunk is None for chunk in self._chunks[index : bisect.bisect_left(self._starts, end)]
        ):
            return self._read_again(offset, size)
        parts = []
        while offset < end:
            chunk, start = self._chunks[index], self._starts[index]
            assert chunk is not None
            piece = chunk[offset - start : end - start]
            parts.append(piece)
            offset += len(piece)
            index += 1
        return b"".join(parts)

    def _read_again(self, offset: int, size: int) -> bytes:
        """A range already dropped: decode again from the start, keeping it this time; past
        MAX_RESTARTS, keeping everything (up to the cap), so no range is dropped again."""
        self.restarts += 1
        self.keep_all = self.keep_all or self.restarts > MAX_RESTARTS
        self._pin = (offset, offset + size)
        self._start_decoding()
        return self.read(offset, size)

    def find(self, needle: bytes, start: int, limit: int) -> int:
        """Search forward, decoding as needed (used for NUL-terminated strings)."""
        window = 1 << 16
        pos = start
        while pos < limit:
            block = self.read(pos, min(window, limit - pos) + len(needle) - 1)
            if not block:
                return -1
            hit = block.find(needle)
            if hit >= 0:
                return pos + hit
            pos += max(1, len(block) - len(needle) + 1)
        return -1
