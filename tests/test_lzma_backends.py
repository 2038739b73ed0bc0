"""xz and lzma payloads decode through lzma_mt (liblzma 5.8) when it is installed and through
the standard library otherwise: both must give the same bytes and refuse the same input."""

from __future__ import annotations

import lzma
import random

import pytest

from pvhlint import codecs
from pvhlint.codecs import DecodedStream

RAW = random.Random(6).randbytes(1 << 16) * 40 + bytes(range(256)) * 64  # 2.6 MB
KERNEL_XZ = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 6}]  # xz_wrap.sh
STREAMS = {
    "xz": lzma.compress(RAW, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=KERNEL_XZ),
    "lzma": lzma.compress(RAW, format=lzma.FORMAT_ALONE, preset=6),
}


def decoded(codec: str, data: bytes) -> tuple[bytes, str | None]:
    stream = DecodedStream(codec, data)
    stream.read_all()
    return stream.read(0, stream.decoded_size), stream.error


def test_the_faster_backend_is_installed():
    # A dependency in pyproject.toml: issue 6's speed figures rest on it.
    assert codecs.liblzma().__name__ == "lzma_mt"


@pytest.mark.parametrize("codec", STREAMS)
@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data,
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:4000] + bytes(64) + data[4064:],  # corrupted inside
        lambda data: data[:200],
    ],
    ids=["whole", "cut", "corrupt", "header-only"],
)
def test_both_backends_agree(codec: str, damage, monkeypatch: pytest.MonkeyPatch):
    data = damage(STREAMS[codec])
    fast_bytes, fast_error = decoded(codec, data)
    monkeypatch.setattr(codecs.xz, "liblzma", lambda: lzma)
    std_bytes, std_error = decoded(codec, data)
    assert fast_bytes == std_bytes
    assert (fast_error is None) == (std_error is None)
    if STREAMS[codec].startswith(data):  # cut short: what came out is the start of RAW
        assert RAW.startswith(fast_bytes)
    if data == STREAMS[codec]:
        assert fast_bytes == RAW and fast_error is None


def test_input_step_grows_for_kernels_and_stays_small_for_bombs():
    step = codecs.base.input_step
    assert step(0, 0) == codecs.base.IN_CHUNK  # nothing known yet
    assert step(4 << 20, 1 << 20) == codecs.base.MAX_IN_CHUNK  # ratio 4: 1 MiB / 4 = 256 KiB
    assert step(70 << 20, 1 << 20) == codecs.base.IN_CHUNK  # ratio 70: 1 MiB / 70 < 16 KiB
    assert step(1 << 20, 1 << 10) == codecs.base.IN_CHUNK  # a bomb's ratio


def test_a_kernel_like_stream_is_decoded_in_few_calls():
    calls = []

    class Counting:
        def __init__(self) -> None:
            self.inner = lzma.LZMADecompressor(lzma.FORMAT_XZ)

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

        def decompress(self, data: bytes, max_length: int = -1) -> bytes:
            calls.append(len(data))
            return self.inner.decompress(data, max_length)

    noise = random.Random(3).randbytes(24 * 32768)  # compresses about 2.6x, like a kernel
    raw = b"".join(noise[i * 24 : i * 24 + 24] + bytes(40) for i in range(32768))
    data = lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    chunks = list(codecs.base.pull_chunks(Counting, memoryview(data), "xz"))
    assert b"".join(chunk for chunk, _ in chunks) == raw
    assert max(calls) == codecs.base.MAX_IN_CHUNK  # the step grew past the first 16 KiB
    assert len(calls) < len(data) // codecs.base.IN_CHUNK // 4


def test_a_damaged_stream_keeps_what_decodes_before_the_damage():
    """A decode call that fails loses its output in Python's lzma; libxenguest's one
    lzma_code call keeps it (its buffer may fill before the damage). pvhlint decodes again,
    the last steps a byte at a time, to keep all of it but the failing call's byte."""
    raw = random.Random(5).randbytes(1 << 20)
    data = bytearray(lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32))
    data[-40] ^= 0xFF  # the last block's data: all of it decodes first, then the check fails
    got = b""
    with pytest.raises(codecs.base.CodecError):
        for chunk, _ in codecs.base.pull_chunks(
            lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), memoryview(bytes(data)), "xz"
        ):
            got += chunk
    # the damaged byte comes out damaged; the call that meets the check loses its 1 byte
    assert len(got) >= len(raw) - 1  # one 1 MiB call lost it all before
    assert sum(a != b for a, b in zip(got, raw, strict=False)) == 1
