"""What every loader model shares: facts computed once per image, the layer a loader is handed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import ElfInfo, Image, MultibootHeader, Note, Segment, align_up

UNSET_ADDR32 = 0xFFFFFFFF


def cached_fact(name: str):  # type: ignore[no-untyped-def]
    """Compute a fact once per image (rules ask for the same facts many times)."""

    def wrap(function):  # type: ignore[no-untyped-def]
        def get(image: Image, *args: Any) -> Any:
            key = (name, *args)
            if key not in image.facts:
                image.facts[key] = function(image, *args)
            return image.facts[key]

        get.__doc__ = function.__doc__
        return get

    return wrap


def layer_size(image: Image, layer: int) -> int:
    if layer == 0:
        return image.size
    info = image.layers[layer]
    # A prefix decoded to at least 1 MiB covers every search window.
    return info.decoded_size if info.decoded_size is not None else info.decoded_prefix


def boot_layer(image: Image) -> int:
    """The layer a loader is handed as "the file": a Unified Kernel Image's .linux section
    (its stub boots that kernel, and pvhlint's verdicts are for it), else the file itself."""
    kernel = image.uki_kernel
    return kernel.index if kernel is not None else 0


def note_size(note: Note) -> int:
    """Bytes the note occupies, padded the libelf way."""
    return 12 + align_up(note.namesz, 4) + align_up(note.descsz, 4)


def first_header(headers: list[MultibootHeader]) -> MultibootHeader | None:
    return min(headers, key=lambda h: h.offset) if headers else None


@dataclass
class PvhEntry:
    """The outcome of a PVH note search by QEMU or rust-vmm."""

    entry: int | None = None
    note: Note | None = None
    error: str | None = None  # the loader's own error text when the search itself fails
    segment: Segment | None = None


def pt_notes(elf: ElfInfo) -> list[tuple[Segment, Any]]:
    by_index = {seg.index: seg for seg in elf.segments}
    return [(by_index[a.index], a) for a in elf.note_areas if a.source == "PT_NOTE"]
