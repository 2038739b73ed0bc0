"""Stage 3, repack: a bzImage's edited payload re-compressed the way the kernel build does,
into the same slot (an ELF's new bytes are the plan's).

Nothing in the file moves: the new stream, padding the codec's boot decompressor
skips, and the 4-byte decompressed size fill exactly the old payload_length
bytes; then the build's CRC32 trailer is recomputed. Each codec's build options
and padding are in its module under pvhlint/codecs/.
"""

from __future__ import annotations

import enum
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..codecs import BY_NAME, UNCOMPRESSED, lz4, zstd
from ..codecs.base import Encoder, Progress, no_progress
from ..errors import EditError
from ..model import CrcTrailer, SetupHeader

if TYPE_CHECKING:
    from .plan import Plan
    from .request import Edit

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


class CrcState(enum.Enum):
    """What a re-pack does with the CRC32 trailer."""

    UPDATED = "CRC32 trailer updated"
    REPAIRED = "CRC32 trailer repaired: it did not match the image before the fix either"
    NOT_CARRIED = (
        "no CRC32 trailer written: this kernel's build writes none (Linux 6.15 and later, "
        "or not Linux)"
    )
    ABSENT = "no CRC32 trailer written: syssize points past the end of the file"

    @property
    def written(self) -> bool:
        return self in (CrcState.UPDATED, CrcState.REPAIRED)


@dataclass(frozen=True)
class Repacked:
    """How a bzImage's payload was re-compressed: `codec` with `options` (the build's, or
    for xz the first of codecs.xz.ATTEMPTS that fits), a
    `stream` of that many bytes plus `padding` its boot decoders skip plus the 4-byte size,
    filling the `slot` at `offset` in the file; and what became of the CRC32 trailer."""

    codec: str
    options: str
    slot: int
    offset: int
    stream: int
    padding: int
    crc: CrcState


@dataclass(frozen=True)
class Packed:
    """The repack stage's value: the new file's bytes (`data`: an ELF's are the plan's),
    how a bzImage's payload was `repacked`, and `notes` for the user."""

    data: bytes | bytearray
    repacked: Repacked | None = None
    notes: tuple[str, ...] = ()


RESIGN = "the Authenticode signature no longer matches: re-sign the image"


def repack(edit: Edit, plan: Plan) -> Packed:
    """The new file: for a bzImage, `plan`'s decoded payload re-compressed into the same
    slot; EditError when it cannot fit there."""
    image = edit.image
    if edit.elf.layer == 0:
        return Packed(plan.data)
    payload = image.payload_layer
    assert payload is not None  # the request stage refuses a bzImage without one
    if plan.moved:
        raise EditError("the note area inside the compressed kernel has no room for this; "
                        "moving it would change the kernel's decompressed size")  # fmt: skip
    assert payload.codec is not None and payload.size is not None and image.setup is not None
    new_payload, stream, options = recompress(payload.codec, plan.data, payload.size,
                                              edit.request.watch)  # fmt: skip
    data = bytearray(image.blobs[0].read(0, image.size))
    data[payload.offset : payload.offset + payload.size] = new_payload
    crc = _crc_state(image.setup, len(data))
    if crc.written:
        assert image.setup.crc_end is not None
        store_crc(data, image.setup.crc_end)
    repacked = Repacked(payload.codec, options, payload.size, payload.offset, stream,
                        payload.size - 4 - stream, crc)  # fmt: skip
    signed = image.pe is not None and image.pe.signed
    return Packed(bytes(data), repacked, (RESIGN,) if signed else ())


def _crc_state(setup: SetupHeader, size: int) -> CrcState:
    """A kernel whose build wrote a CRC keeps a valid one; none is added to one without."""
    if setup.crc_end is None or not 4 <= setup.crc_end <= size:
        return CrcState.ABSENT
    trailer = setup.crc_trailer
    if trailer in (CrcTrailer.VALID, CrcTrailer.VALID_BEFORE_SIGNING):
        return CrcState.UPDATED
    if trailer is CrcTrailer.NONE_EXPECTED:
        return CrcState.NOT_CARRIED
    return CrcState.REPAIRED


def recompress(codec: str, decoded: bytes, slot: int,
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
    # a codec's own order of option sets (codecs.xz), else the build's options alone
    attempts = getattr(BY_NAME.get(codec), "ATTEMPTS", (COMPRESSORS[codec],))
    for attempt, (compress, options) in enumerate(attempts, 1):
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
