"""`pvhlint extract`: the ELF kernel a bzImage's compressed payload holds, written out."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from .request import open_whole
from .write import open_locked, read_all, write_new


def extract(path: Path, output: Path, max_output: int | None = None) -> tuple[int, bool]:
    """Write the decompressed payload of a bzImage (the ELF, then the build's relocations,
    exactly what Linux's scripts/extract-vmlinux writes) to `output` ("-": standard
    output); returns the size written and whether an existing file was replaced."""
    with open_locked(path, lock=False) as opened:
        image = open_whole(read_all(opened), str(path), max_output)
    payload = image.payload_layer
    if payload is None or image.elf is None:
        raise UsageError("is not a bzImage (or a UKI) whose payload holds an ELF kernel")
    blob = image.blobs[payload.index]
    size = blob.read_all()
    step = 16 << 20  # written a piece at a time: no whole-payload copy beside the decoder's
    pieces = (blob.read(at, step) for at in range(0, size, step))
    if str(output) == "-":  # standard output, as for extract-vmlinux
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        return size, False
    return size, write_new(output, pieces)
