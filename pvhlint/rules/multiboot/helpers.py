"""What the paired mb1-/mb2- rules share: GRUB's search for a header of one MultibootSpec,
and the findings that differ between the versions only by the spec's numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pvhlint.loaders.common import layer_size
from pvhlint.loaders.grub import (
    grub_elf_error,
    grub_layer,
    grub_mb1,
    grub_mb2,
    grub_scan_limit,
    grub_text,
)
from pvhlint.model import Image, MultibootHeader
from pvhlint.multiboot import MB1, MultibootSpec
from pvhlint.rule import Hit

NOT_FOUND = 'GRUB: "error: no multiboot header found."'


def grub_header(image: Image, spec: MultibootSpec) -> MultibootHeader | None:
    """The header GRUB's loader takes (for MB2: architecture 0 as well)."""
    return grub_mb1(image) if spec is MB1 else grub_mb2(image)


def missed_by_grub(
    image: Image, spec: MultibootSpec, *, checksum_ok: bool, aligned: bool
) -> Iterator[MultibootHeader]:
    """When GRUB finds no header: those in the layer it reads, at offsets its scan reaches,
    with the checksum and alignment asked for."""
    if grub_header(image, spec) is not None:
        return
    layer = grub_layer(image)
    limit = grub_scan_limit(image, spec.version)
    for header in image.multiboot:
        if (header.version == spec.version and header.layer == layer
                and header.checksum_ok == checksum_ok and header.aligned == aligned
                and header.offset <= limit):  # fmt: skip
            yield header


def no_header(image: Image, spec: MultibootSpec, which: str = "") -> Iterator[Hit]:
    """GRUB's scan finds nothing: `which` narrows what it looks for (" with ...")."""
    if grub_header(image, spec) is not None:
        return
    layer = grub_layer(image)
    size = layer_size(image, layer)
    where = f"the first {spec.window_text}" if size >= spec.window else f"the file's {size} bytes"
    if layer:
        where += " of the gunzipped file"
    if size < 32:
        yield Hit(f'only {size} bytes: GRUB: "error: premature end of file <kernel path>."',
                  layer, 0, rejects=(spec.target,))  # fmt: skip
        return
    yield Hit(f"no {spec.label} header{which} in {where} ({spec.align}-byte steps, magic "
              f"0x{spec.magic:08X} with a zero checksum sum): {NOT_FOUND}", layer, 0,
              rejects=(spec.target,))  # fmt: skip


def misaligned(image: Image, spec: MultibootSpec, about: Callable[[MultibootHeader], str],
               looking: str) -> Iterator[Hit]:  # fmt: skip
    """Headers GRUB would take but for their alignment; `about` adds to "header at X",
    `looking` says who only looks at multiples of the alignment."""
    align = spec.align
    for header in missed_by_grub(image, spec, checksum_ok=True, aligned=False):
        yield Hit(f"{spec.label} header at {header.offset:#x}{about(header)} is not "
                  f"{align}-byte aligned ({header.offset % align} past a multiple of {align}); "
                  f"{looking} at multiples of {align} ({NOT_FOUND})", header.layer,
                  header.offset, spec.fixed_size, rejects=(spec.target,))  # fmt: skip


Covered = Callable[[MultibootHeader], tuple[str, list[int]]]


def bad_checksums(image: Image, spec: MultibootSpec, covered: Covered) -> Iterator[Hit]:
    """Aligned headers in GRUB's scan whose checksum is wrong; `covered` names the fields the
    checksum covers besides the magic, and gives their values."""
    for header in missed_by_grub(image, spec, checksum_ok=False, aligned=True):
        fields, values = covered(header)
        want = -(spec.magic + sum(values)) & 0xFFFFFFFF
        yield Hit(f"{spec.label} header at {header.offset:#x}: {fields} need checksum "
                  f"{want:#010x}, found {header.checksum:#010x} ({NOT_FOUND})", header.layer,
                  header.offset + spec.checksum_at, 4, rejects=(spec.target,))  # fmt: skip


def field_after_magic(spec: MultibootSpec, header: MultibootHeader, text: str) -> Hit:
    """A finding about the word after the magic (MB1 flags, MB2 architecture) that GRUB
    refuses."""
    return Hit(text, header.layer, header.offset + 4, 4, rejects=(spec.target,))


def grub_elf(image: Image, spec: MultibootSpec, header: MultibootHeader | None) -> Iterator[Hit]:
    """The error GRUB's ELF loader stops at for the image holding `header`, if any."""
    if header is None:
        return
    error = grub_elf_error(image, header, spec.window, mbi2=spec is not MB1)
    if error is not None:
        yield Hit(f"{spec.label} ELF: {error.explain} ({grub_text(error.text)})", error.layer,
                  error.offset, error.length, rejects=(spec.target,))  # fmt: skip
