"""Where something is in an image's layers, for every format: `where` names a place
('payload+0x16c1b90'), and `located` is the one walk over a result's findings that
SARIF and GitHub share (each finding with its layer and the stored layer that holds it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Image, Layer
    from ..rule import Finding


def where(image: Image, layer: int, offset: int | None) -> str:
    """'payload+0x16c1b90' style location: layer name and offset within it."""
    name = image.layers[layer].kind
    return name if offset is None else f"{name}+{offset:#x}"


def top_layer(image: Image, index: int) -> Layer:
    """The layer directly inside the file that (transitively) holds layer `index`."""
    layer = image.layers[index]
    while layer.parent not in (None, 0):
        layer = image.layers[layer.parent]
    return layer


@dataclass(frozen=True)
class Located:
    """A finding with its `layer`; `top`, for a decoded layer, the layer stored in the file
    that holds it (None in the file itself); `occurrence`, how many findings of the same
    rule came before it in that layer (stable across runs, unlike an offset a fix moves)."""

    finding: Finding
    layer: Layer
    top: Layer | None
    occurrence: int


def located(image: Image, findings: Iterable[Finding]) -> Iterator[Located]:
    seen: dict[tuple[str, int], int] = {}
    for finding in findings:
        occurrence = seen.get((finding.rule, finding.layer), 0)
        seen[finding.rule, finding.layer] = occurrence + 1
        top = None if finding.layer == 0 else top_layer(image, finding.layer)
        yield Located(finding, image.layers[finding.layer], top, occurrence)
