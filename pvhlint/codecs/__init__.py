"""Kernel payload codecs: detection by leading bytes, decoding on demand, and encoding the
way the kernel build does (for `fix`). One module per codec holds its magic, its decoder,
its encoder with the build's options (Linux 6.1 scripts/Makefile.lib, scripts/xz_wrap.sh)
and the padding its boot decoders skip after the stream.

Decoding uses maintained libraries (zlib, bz2, lzma, lz4, zstandard, lzallright); only the
containers the kernel wraps around them (lz4 legacy frames, lzop) are walked here, the way
the kernel's own unlz4/unlzo do.
"""

from __future__ import annotations

from .base import (
    DEFAULT_MAX_OUTPUT,
    MAX_OUTPUT_ENV,
    Chunks,
    CodecError,
    format_size,
    max_output_from_env,
    parse_size,
)
from .registry import BY_NAME, CODEC_MAGICS, CODECS, DECODERS, UNCOMPRESSED, detect_codec
from .stream import MAX_RATIO, MAX_RESTARTS, DecodedStream
from .xz import liblzma

__all__ = [
    "BY_NAME",
    "CODECS",
    "CODEC_MAGICS",
    "DECODERS",
    "DEFAULT_MAX_OUTPUT",
    "MAX_OUTPUT_ENV",
    "MAX_RATIO",
    "MAX_RESTARTS",
    "UNCOMPRESSED",
    "Chunks",
    "CodecError",
    "DecodedStream",
    "detect_codec",
    "format_size",
    "liblzma",
    "max_output_from_env",
    "parse_size",
]
