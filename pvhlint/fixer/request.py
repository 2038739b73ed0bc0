"""Stage 1, request: what `pvhlint fix` was asked, resolved against the image it edits.

The note names and values are parsed here, once (pvhlint.xennotes encodes a value as the
descriptor it decodes); the targets that must still accept are settled from the check
before the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..blob import BytesBlob, ReleasedBlob
from ..checker import ImageResult, Options, check_image, required_names
from ..errors import ImageError, UsageError
from ..image import open_image_bytes
from ..model import ElfInfo, Image, ProblemCode
from ..profiles import DEFAULT_PROFILE, Profile, TargetVersion, parse_target, versions_in_force
from ..xennotes import OBSOLETE_FOR_PVH, XenNote, encode_value, note_number

if TYPE_CHECKING:
    from .repack import Watch


@dataclass
class FixRequest:
    """What the user asked: the options of `pvhlint fix`, note names and values as given."""

    path: Path
    output: Path | None = None
    drop_obsolete: bool = False
    drop: tuple[str, ...] = ()  # note names or numbers
    set: tuple[tuple[str, str], ...] = ()  # (note name or number, value as --set-note takes it)
    require: tuple[str, ...] = ()
    dry_run: bool = False
    backup: bool = False
    break_signature: bool = False
    # decompression cap; None: the flat default (pvhlint.api.fix resolves the configured one)
    max_output: int | None = None
    force: bool = False  # write a result no boot target accepts
    loaders: Profile = DEFAULT_PROFILE  # the loader versions the checks model
    watch: Watch | None = None  # sees a bzImage's re-compression (the progress bar)


@dataclass(frozen=True)
class Edit:
    """A request resolved against its image: the Xen note types to `drop` and the descriptors
    to set (`values`), the targets as `asked` (some at a version: xen-pvh@4.17) and their
    names `required`, the check `before`, the ELF's bytes (`kernel`: the file, or a bzImage's
    decoded payload) and `notes` for the user on what the drop was widened or narrowed by."""

    request: FixRequest
    image: Image
    elf: ElfInfo
    kernel: bytes
    drop: frozenset[int]
    values: dict[int, bytes]
    asked: tuple[str, ...]
    required: tuple[str, ...]
    before: ImageResult
    notes: tuple[str, ...] = ()

    def released(self) -> Edit:
        """This edit without the kernel's bytes from before it, once the plan is checked
        against them: a bzImage's decoded payload (66 MB for Debian's kernel) is freed
        before the encoder maps its tables. An ELF file's own bytes stay (the writer keeps
        them anyway)."""
        layer = self.elf.layer
        if layer == 0:
            return self
        self.image.blobs[layer] = ReleasedBlob()
        return replace(self, kernel=b"")


def read_request(request: FixRequest, original: bytes) -> Edit:
    """The request for the file read as `original`; UsageError when it cannot apply to it,
    ImageError when the image cannot be read."""
    image = _open_for_fix(original, str(request.path), request.max_output)
    assert image.elf is not None
    probe = check_image(image, Options(require=request.require, loaders=request.loaders))
    asked = _required(request, probe)  # targets, some perhaps at a version (xen-pvh@4.17)
    required = required_names(asked)
    drop, values = _edits(image.elf, request, required)
    before = check_image(image, Options(require=asked, loaders=request.loaders))
    kernel = _kernel_bytes(image, original)
    notes = _paddr_offset_notes(image.elf, request, drop, values)
    return Edit(request, image, image.elf, kernel, frozenset(drop), values, asked, required,
                before, notes)  # fmt: skip


def open_whole(data: bytes, name: str, max_output: int | None) -> Image:
    """An image decoded to the end: a payload cut short (corrupt, or past the decompression
    cap) would be re-compressed or written out truncated, so it is bad input here."""
    image = open_image_bytes(data, name, full=True, max_output=max_output)
    for problem in image.problems:
        if problem.code == ProblemCode.PAYLOAD_CORRUPT:
            raise ImageError(name, f"the payload does not decode completely ({problem.message})")
    return image


def _open_for_fix(data: bytes, name: str, max_output: int | None) -> Image:
    image = open_whole(data, name, max_output)
    if image.format == "bzimage" and (image.elf is None or image.payload_layer is None):
        raise UsageError("is a bzImage whose payload holds no ELF kernel pvhlint can edit")
    if image.format in ("gzip", "xz", "lzo"):
        raise UsageError(f"is {image.format}-compressed as a whole: decompress it, fix the ELF, "
                         "and compress it again")  # fmt: skip
    if image.format == "pe":
        raise UsageError(
            "is a PE/EFI image: fix the kernel it was built from, then build "
            "the Unified Kernel Image again (ukify or objcopy) and re-sign it"
        )
    if image.elf is None:
        raise UsageError(f"is a {image.format} image with no ELF notes to edit")
    return image


def _kernel_bytes(image: Image, original: bytes) -> bytes:
    """The ELF layer's bytes, held once: the file itself, or the decoded payload, whose
    decoder then holds a plain copy instead of its chunks (no second whole-payload copy)."""
    assert image.elf is not None
    layer = image.elf.layer
    if layer == 0:
        return original
    raw = image.blobs[layer].read(0, 1 << 62)
    image.blobs[layer] = BytesBlob(raw)
    return raw


def _required(request: FixRequest, before: ImageResult) -> tuple[str, ...]:
    """--require, else for --drop-obsolete-notes: xen-pvh plus qemu and rust-vmm where they
    accepted before. Plain --drop-note/--set-note require nothing: the user chose."""
    if request.require:
        return request.require
    if not request.drop_obsolete:
        return ()
    extra = [t for t in ("qemu", "rust-vmm") if before.verdicts[t].accept]
    return ("xen-pvh", *extra)


PADDR_OFFSET, VIRT_BASE = XenNote.PADDR_OFFSET, XenNote.VIRT_BASE
PADDR_OFFSET_TOO = (
    "PADDR_OFFSET dropped too: xen-pvh is required at Xen 4.17, which refuses a PVH kernel "
    'with PADDR_OFFSET and no VIRT_BASE ("ELF_PADDR_OFFSET set, VIRT_BASE unset"); PVH '
    "ignores it"
)
PADDR_OFFSET_KEPT = (
    "PADDR_OFFSET kept: Xen 4.18 and later (xen.git b77ed96fce) boot a PVH kernel with it and "
    "no VIRT_BASE; for Xen 4.17 give --loaders debian12 or --require xen-pvh@4.17 to drop it"
)
PADDR_OFFSET_REFUSED_BY = TargetVersion("xen-pvh", "4.17")  # see rules/xen/xen_paddr_offset.py


def _edits(elf: ElfInfo, request: FixRequest,
           required: tuple[str, ...]) -> tuple[set[int], dict[int, bytes]]:  # fmt: skip
    """The note types to drop and the descriptors to set."""
    drop = {note_number(name) for name in request.drop}
    if request.drop_obsolete:
        drop |= set(OBSOLETE_FOR_PVH)
    values: dict[int, bytes] = {}
    for name, text in request.set:
        number = note_number(name)
        present = [note.descsz for note in elf.xen_notes if note.type == number]
        values[number] = encode_value(number, text, elf.elf_class == 64,
                                      present[-1] if present else None)  # fmt: skip
    if drop & set(values):
        raise UsageError("a note cannot be both dropped and set in one run")
    present_types = {note.type for note in elf.xen_notes}
    orphaned = request.drop_obsolete and PADDR_OFFSET in present_types and VIRT_BASE not in values
    if orphaned and _paddr_offset_refused(request, required):
        drop.add(PADDR_OFFSET)
    if not drop and not values:
        raise UsageError("nothing to do: give --drop-obsolete-notes, --drop-note or --set-note")
    return drop, values


def _paddr_offset_refused(request: FixRequest, required: tuple[str, ...]) -> bool:
    """Whether a required target's version refuses PADDR_OFFSET without VIRT_BASE."""
    wanted = PADDR_OFFSET_REFUSED_BY
    versions = versions_in_force(request.loaders, request.require)
    names = {parse_target(text).target for text in required}
    return wanted.target in names and wanted.version in versions[wanted.target]


def _paddr_offset_notes(elf: ElfInfo, request: FixRequest, drop: set[int],
                        values: dict[int, bytes]) -> tuple[str, ...]:  # fmt: skip
    """Why PADDR_OFFSET was dropped though not named, or kept though VIRT_BASE goes."""
    named = {note_number(name) for name in request.drop}
    if PADDR_OFFSET in drop and PADDR_OFFSET not in named:
        return (PADDR_OFFSET_TOO,)
    if _orphans_paddr_offset(elf, drop, values):
        return (PADDR_OFFSET_KEPT,)
    return ()


def _orphans_paddr_offset(elf: ElfInfo, drop: set[int], values: dict[int, bytes]) -> bool:
    """The edit leaves PADDR_OFFSET without VIRT_BASE where VIRT_BASE was."""
    present = {n.type for n in elf.xen_notes}
    kept_paddr = PADDR_OFFSET in present and PADDR_OFFSET not in drop
    return kept_paddr and VIRT_BASE in present and VIRT_BASE in drop and VIRT_BASE not in values
