"""The codecs a kernel payload may use, in Xen's libxenguest probe order
(linux-boot.md §9): the first magic that matches wins."""

from __future__ import annotations

from types import ModuleType

from . import bzip2, gzip, lz4, lzma, lzo, xz, zstd
from .base import Decoder

MODULES: tuple[ModuleType, ...] = (gzip, bzip2, xz, zstd, lzma, lzo, lz4)
CODEC_MAGICS: tuple[tuple[str, bytes], ...] = tuple((codec.NAME, codec.MAGIC) for codec in MODULES)
CODECS = tuple(name for name, _ in CODEC_MAGICS)
BY_NAME: dict[str, ModuleType] = {codec.NAME: codec for codec in MODULES}
DECODERS: dict[str, Decoder] = {codec.NAME: codec.decode for codec in MODULES}
# A payload that is the ELF itself (CONFIG_KERNEL_UNCOMPRESSED: `cat` and the size trailer).
UNCOMPRESSED = "none"


def detect_codec(head: bytes) -> str | None:
    """Name of the codec whose magic starts `head`, in Xen's probe order."""
    for name, magic in CODEC_MAGICS:
        if head.startswith(magic):
            return name
    return None
