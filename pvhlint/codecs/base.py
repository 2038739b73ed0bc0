"""What every codec module shares: the chunk protocol, the decoder's input stepping and
the size limits a decode runs under."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Protocol

# Generous for any real kernel (Debian's payload inflates to 66 MB); a bomb stops here.
# Overridden per call (open_image's max_output), by $PVHLINT_MAX_DECOMPRESSED or by the
# `max-decompressed` setting (see pvhlint.config).
DEFAULT_MAX_OUTPUT = 512 << 20
MAX_OUTPUT_ENV = "PVHLINT_MAX_DECOMPRESSED"

# Input is fed in chunks this small so the consumed count is exact enough for the ratio
# to trip at the floor (1000 x 16 KiB = 16 MiB).
IN_CHUNK = 1 << 14
MAX_IN_CHUNK = 1 << 18  # a kernel's step (1 MiB / ratio) up to this
OUT_CHUNK = 1 << 20
# Decoder state a stream header may ask for (xz/lzma dictionary, zstd window): this, or the
# output cap if larger. Linux's own builds need at most 128 MiB (zstd -22); a header asking
# for more than all the output we would keep (up to 4 GiB) buys nothing but memory.
_MIN_DECODER_MEMORY = 1 << 28

# Each decoder yields (decoded chunk, input bytes consumed so far).
Chunks = Iterator[tuple[bytes, int]]
Decoder = Callable[[memoryview, int], Chunks]
# An encoder is handed the decoded kernel and a callback it calls with the input bytes
# done so far (the progress bar; Ctrl-C lands between two calls).
Progress = Callable[[int], None]
Encoder = Callable[[bytes, Progress], bytes]
# What a build-option encoder feeds the library per call: short enough that Ctrl-C (which
# Python handles only between calls) is seen within a second at the slowest level.
ENCODE_STEP = 1 << 20


class CodecError(Exception):
    """A payload stream that cannot be decoded."""


def no_progress(done: int) -> None:
    """The progress callback of an encode nobody watches."""


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


def decoder_memory(limit: int) -> int:
    """Most memory a stream header may make its decoder reserve (dictionary, window)."""
    return max(_MIN_DECODER_MEMORY, limit)


class Pullable(Protocol):
    """bz2.BZ2Decompressor and lzma.LZMADecompressor (imported lazily, so typed here)."""

    eof: bool
    needs_input: bool

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def pull_chunks(make: Callable[[], Pullable], data: memoryview, codec: str) -> Chunks:
    """Drive a bz2/lzma style decoder (needs_input, eof) with bounded output. A decoder that
    fails loses the output of the failing call; the bytes a boot decoder writes before it
    meets the damage are then recovered by `_salvage`."""
    decoder = make()
    pos = produced = 0
    while not decoder.eof:
        chunk = b""
        if decoder.needs_input:
            if pos >= len(data):
                raise CodecError(f"{codec} stream ends early")
            step = input_step(produced, pos)
            chunk, pos = bytes(data[pos : pos + step]), pos + step
        try:
            out = decoder.decompress(chunk, OUT_CHUNK)
        except Exception as exc:  # LZMAError, OSError, EOFError, ValueError: damaged data
            yield from _salvage(make, data, produced)
            raise CodecError(f"{codec}: {exc}") from None
        if out:
            produced += len(out)
            yield out, min(pos, len(data))


_SALVAGE_IN, _SALVAGE_OUT = 256, 4096


def _salvage(make: Callable[[], Pullable], data: memoryview, produced: int) -> Chunks:
    """Decode again and yield what comes past `produced` before the error: all of the output
    a damaged stream gives before it fails, to the byte (Xen's one decode call keeps what it
    wrote before the damage; a size trailer may end before it). A first pass in 4 KiB steps
    finds where the last whole step ends; the second pass takes 1 byte a call from there."""
    good = sum(len(out) for out in _decode_until_error(make, data, lambda done: _SALVAGE_OUT))
    done = 0
    for out in _decode_until_error(make, data, lambda done: _SALVAGE_OUT if done < good else 1):
        if done + len(out) > produced:
            yield out[max(0, produced - done) :], len(data)
        done += len(out)


def _decode_until_error(
    make: Callable[[], Pullable], data: memoryview, most: Callable[[int], int]
) -> Iterator[bytes]:
    """A fresh decoder's output, at most `most(done)` bytes a call, until it fails or ends."""
    decoder, pos, done = make(), 0, 0
    while not decoder.eof:
        chunk = b""
        if decoder.needs_input:
            if pos >= len(data):
                return
            chunk, pos = bytes(data[pos : pos + _SALVAGE_IN]), pos + _SALVAGE_IN
        try:
            out = decoder.decompress(chunk, most(done))
        except Exception:  # the same damage, met again
            return
        done += len(out)
        yield out


def input_step(produced: int, fed: int) -> int:
    """Input for the next call: about one output chunk's worth at the ratio seen so far.

    A kernel (3-8x) then takes one call per MiB instead of dozens, and each call runs
    longer without the interpreter lock, which matters to a decode in pvhlint.prefetch's
    thread. A bomb's ratio keeps the step at IN_CHUNK, so the ratio check still stops it
    at its floor; a stream that turns into a bomb after a normal start meets the output
    cap, as it would have with any step (its cumulative ratio stays low)."""
    if fed == 0:
        return IN_CHUNK
    ratio = max(1, produced // fed)
    return min(MAX_IN_CHUNK, max(IN_CHUNK, OUT_CHUNK // ratio))


class Incremental(Protocol):
    """zlib/bz2/lzma/zstandard compressor objects: compress() per step, then flush()."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


def encode_in_steps(encoder: Incremental, data: bytes, progress: Progress) -> bytes:
    """Feed `data` to an incremental encoder ENCODE_STEP at a time, reporting progress.
    The output is the one-shot call's, byte for byte (the libraries buffer internally).
    Pass the only reference to `encoder`: its tables (370 MiB for the kernel build's xz)
    are freed before the output is joined, not after."""
    out = []
    with memoryview(data) as view:
        for pos in range(0, len(data), ENCODE_STEP):
            out.append(encoder.compress(view[pos : pos + ENCODE_STEP]))
            progress(min(pos + ENCODE_STEP, len(data)))
    out.append(encoder.flush())
    del encoder
    return b"".join(out)
