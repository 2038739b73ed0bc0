"""pvhlint/codecs/xz.py reads an .xz stream's decoded size from its index; checked against
what the xz tool and liblzma write and against the decoded length itself."""

from __future__ import annotations

import lzma
import random
import shutil
import subprocess

import pytest

from pvhlint.codecs.xz import uncompressed_size


def _data(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) if i % 7 else 0x90 for i in range(size))


@pytest.mark.parametrize("size", [0, 1, 4096, 300_000])
@pytest.mark.parametrize("check", [lzma.CHECK_NONE, lzma.CHECK_CRC32, lzma.CHECK_CRC64])
def test_liblzma_streams(size: int, check: int) -> None:
    data = _data(size, size)
    stream = lzma.compress(data, check=check)
    assert uncompressed_size(stream) == len(lzma.decompress(stream)) == size
    assert uncompressed_size(stream + b"\0" * 8) == size  # stream padding


@pytest.mark.skipif(shutil.which("xz") is None, reason="xz CLI missing")
def test_kernel_build_options_and_many_blocks() -> None:
    """The kernel's own command (scripts/xz_wrap.sh: --x86, a 32 MiB dictionary, CRC32) and
    a multi-block stream (one index record per block)."""
    data = _data(3 << 20, 7)
    for options in (["--check=crc32", "--x86", "--lzma2=,dict=32MiB"],
                    ["--check=crc32", "--block-size=262144"]):  # fmt: skip
        stream = subprocess.run(["xz", "-c", *options], input=data, capture_output=True,
                                check=True).stdout  # fmt: skip
        assert uncompressed_size(stream) == len(data)


def test_not_one_wellformed_stream_is_unknown() -> None:
    stream = lzma.compress(_data(5000, 1))
    assert uncompressed_size(stream[:-1]) is None  # cut: no footer
    assert uncompressed_size(stream + b"\0") is None  # padding not a multiple of four
    assert uncompressed_size(stream + stream) is None  # two streams: not read from the index
    assert uncompressed_size(b"\xfd7zXZ\x00" + b"\0" * 30) is None
    broken = bytearray(stream)
    broken[-8] ^= 1  # the footer's backward size, caught by its CRC32
    assert uncompressed_size(bytes(broken)) is None


def test_grub_xzio_footer_test() -> None:
    """GRUB's xzio takes a stream whose footer and index read (it checks no CRC), and
    falls back to the raw file when they do not, e.g. a file cut short."""
    from pvhlint.codecs.xz import grub_xzio_size

    stream = lzma.compress(_data(70_000, 3), check=lzma.CHECK_CRC32)
    assert grub_xzio_size(stream) == 70_000
    broken = bytearray(stream)
    broken[-12] ^= 1  # the footer's CRC32: GRUB does not check it
    assert grub_xzio_size(bytes(broken)) == 70_000
    assert grub_xzio_size(stream[:-1]) is None
    assert grub_xzio_size(stream[: len(stream) // 2]) is None
