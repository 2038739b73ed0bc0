"""A compressed stream decoded only as far as readers have asked: the `Blob` of a payload."""

from __future__ import annotations

import bisect

from .base import DEFAULT_MAX_OUTPUT, MAX_OUTPUT_ENV, Chunks, CodecError, format_size
from .registry import DECODERS

# Real kernels compress 3-8x; past 16 MiB of output, more than this many bytes out per
# byte of input consumed so far is a bomb (only bzip2, xz, lzma, zstd and, barely, gzip
# can get there; lz4 and lzo top out near 255x and meet the cap instead).
MAX_RATIO = 1000
_RATIO_FLOOR = 16 << 20
# Early-stop mode keeps decoded bytes below this offset and the last chunks decoded.
_KEEP_HEAD = 1 << 20
_KEEP_TAIL_CHUNKS = 2
# Decodes restarted to re-read a dropped range before the stream keeps everything: offsets
# out of order (scrambled PT_NOTE offsets) would otherwise cost a full decode each.
MAX_RESTARTS = 2


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
        self._source: Chunks | None = DECODERS[self.codec](self._input, self.max_output)

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
