"""Re-compressing a bzImage payload the way the kernel build does, into the same slot.

Nothing in the file moves: the new stream, padding the codec's boot decompressor
skips, and the 4-byte decompressed size fill exactly the old payload_length
bytes; then the build's CRC32 trailer is recomputed. Each codec's build options
and padding are in its module under pvhlint/codecs/.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .codecs import BY_NAME, UNCOMPRESSED, lz4, zstd
from .codecs.base import Encoder, Progress, no_progress
from .notes_edit import EditError

# How often the waiting thread wakes: a Ctrl-C is acted on within this, whatever the encoder.
_WAKE_SECONDS = 0.1
_T = TypeVar("_T")


@dataclass(frozen=True)
class Step:
    """Where a re-compression is, for a progress bar: `done` of `total` decoded bytes
    through the encoder (`exact` False: the encoder reports only its end, zstd's one-shot
    call, whose output differs from a streamed one), `attempt` counting the option sets."""

    codec: str
    options: str
    done: int
    total: int
    attempt: int
    exact: bool = True


# A watcher of the re-compression (the command line's progress bar).
Watch = Callable[[Step], None]


def _no_watch(step: Step) -> None:
    """The watch of a re-compression nobody watches (the API without a callback)."""


# codec -> (encoder with the build's options, those options as the build spells them)
COMPRESSORS: dict[str, tuple[Encoder, str]] = {
    **{name: (codec.encode, codec.BUILD_OPTIONS) for name, codec in BY_NAME.items()},
    UNCOMPRESSED: (
        lambda data, progress=no_progress: bytes(data),
        "none (CONFIG_KERNEL_UNCOMPRESSED)",
    ),
}


def _padding(codec: str, size: int) -> bytes | None:
    """`size` bytes the codec's decoders skip after the stream, or None if impossible."""
    if size == 0:
        return b""
    assert codec != lz4.NAME, "lz4 pads inside the stream: see codecs.lz4.fit"
    module = BY_NAME.get(codec)
    return bytes(size) if module is None else module.padding(size)


def repack(codec: str, decoded: bytes, slot: int,
           watch: Watch | None = None) -> tuple[bytes, int, str]:  # fmt: skip
    """The new payload for a slot of `slot` bytes: stream, padding, decompressed size.
    Returns (payload, stream length, options used); EditError when it does not fit.
    `watch` sees each attempt's progress. The encoder runs in a worker thread while this
    one waits in short steps, so a Ctrl-C (KeyboardInterrupt, raised only in the main
    thread and only between calls) ends the command at once, nothing written, instead of
    after a one-shot library call of half a minute; the abandoned daemon thread dies with
    the process."""
    watch = watch or _no_watch
    size = struct.pack("<I", len(decoded))
    if codec == lz4.NAME:
        progress = _progress_of(watch, codec, lz4.BUILD_OPTIONS, len(decoded), 1)
        fitted = _in_worker(lambda: lz4.fit(decoded, slot, progress))
        if fitted is not None:
            padded, stream, note = fitted
            return padded + size, stream, lz4.BUILD_OPTIONS + note
        raise _too_long(codec, len(lz4.encode(decoded, no_progress)), slot,
                        lz4.BUILD_OPTIONS + " with HC levels 3-12 for the last block")  # fmt: skip
    tried, sizes = [], []
    tighter: tuple[tuple[Callable[[bytes, Progress], bytes], str], ...] = getattr(
        BY_NAME.get(codec), "TIGHTER", ()
    )
    for attempt, (compress, options) in enumerate((COMPRESSORS[codec], *tighter), 1):
        progress = _progress_of(watch, codec, options, len(decoded), attempt)
        stream_bytes = _in_worker(lambda: compress(decoded, progress))  # noqa: B023
        room = slot - 4 - len(stream_bytes)
        padding = _padding(codec, room) if room >= 0 else None
        if padding is not None:
            return stream_bytes + padding + size, len(stream_bytes), options
        tried.append(options)
        sizes.append(len(stream_bytes))
    raise _too_long(codec, min(sizes), slot, "; ".join(tried))


def _progress_of(watch: Watch, codec: str, options: str, total: int, attempt: int) -> Progress:
    exact = codec != zstd.NAME
    watch(Step(codec, options, 0, total, attempt, exact))

    def progress(done: int) -> None:
        watch(Step(codec, options, done, total, attempt, exact))

    return progress


def _in_worker(work: Callable[[], _T]) -> _T:
    """`work()` run in a daemon thread, waited for in steps a KeyboardInterrupt can end."""
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="pvhlint-encode", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_WAKE_SECONDS)
    if failure:
        raise failure[0]
    return outcome[0]


def _too_long(codec: str, stream: int, slot: int, tried: str) -> EditError:
    return EditError(f"the re-compressed {codec} stream is {stream} bytes (+4 for the size) "
                     f"and the payload slot holds {slot}; options tried: {tried}")  # fmt: skip


def store_crc(data: bytearray, crc_end: int) -> None:
    """build.c's trailer: CRC-32 without final XOR over [0, N-4), little-endian at N-4."""
    data[crc_end - 4 : crc_end] = struct.pack("<I", zlib.crc32(data[: crc_end - 4]) ^ 0xFFFFFFFF)
