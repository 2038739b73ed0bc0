"""What every loader model shares: facts computed once per image, the layer a loader is handed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..bzimage import FIELD_OFFSETS
from ..model import ElfInfo, Image, MultibootHeader, Note, ProblemCode, Segment, align_up
from ..profiles import LOADER_OF, Loader, parse_target
from .outcome import ErrorCode, LoaderError

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
    error: ErrorCode | None = None  # the loader's error when the search itself fails
    segment: Segment | None = None


def pt_notes(elf: ElfInfo) -> list[tuple[Segment, Any]]:
    by_index = {seg.index: seg for seg in elf.segments}
    return [(by_index[a.index], a) for a in elf.note_areas if a.source == "PT_NOTE"]


@dataclass(frozen=True)
class SharedCause:
    """One cause several loaders refuse for, told once (one account, one place): each
    loader's check yields its own error from it, carrying its own words, and Rule.explains
    merges them back into one finding, quoting only the loaders whose walk got there."""

    detail: str  # the cause, without the loaders' words
    layer: int
    offset: int | None
    length: int | None
    said: tuple[tuple[str, str], ...]  # (target, that loader's words), in telling order

    @property
    def refuses(self) -> tuple[str, ...]:
        return tuple(target for target, _ in self.said)

    def error(self, code: ErrorCode, loader: Loader) -> Iterator[LoaderError]:
        """`loader`'s error for this cause, when it refuses any of its targets."""
        mine = [(t, words) for t, words in self.said if LOADER_OF[parse_target(t).target] is loader]
        if mine:
            words = "; ".join(dict.fromkeys(words for _, words in mine))
            yield LoaderError(code, self.detail, self.layer, self.offset, self.length,
                              tuple(t for t, _ in mine), said=words)  # fmt: skip


def elf_big_endian(image: Image) -> bool:
    """EI_DATA 2 in the layer holding the ELF."""
    elf = image.elf
    return elf is not None and any(p.code == ProblemCode.BIG_ENDIAN and p.layer == elf.layer
                                   for p in image.problems)  # fmt: skip


@cached_fact("unsupported-machine")
def unsupported_machine(image: Image) -> SharedCause | None:
    """A big-endian or non-x86 ELF, and each loader that parses its ELF header and refuses
    it, in its own words (elf-unsupported-machine; checked with Debian 12's QEMU 7.2,
    libxenguest 4.17 and GRUB 2.06). None for a little-endian x86 ELF, or no ELF."""
    from .grub import grub_mb1_elf_header, grub_mb2_elf_header
    from .qemu import qemu_elf_layer

    elf = image.elf
    if elf is None:
        return None
    codes = {p.code for p in image.problems if p.layer == elf.layer}
    big = ProblemCode.BIG_ENDIAN in codes
    if not big and ProblemCode.UNSUPPORTED_MACHINE not in codes:
        return None
    said: list[tuple[str, str]] = []

    def refuse(target: str, text: str) -> None:
        said.append((target, text))

    if big:
        hvm = ('"xc_dom_parse_hvm_kernel: ELF image is not 32bit"' if elf.elf_class == 64 else
               "an HVM firmware load, not PVH")  # fmt: skip
        refuse("xen-pvh", f"libxenguest PVH: {hvm}")
        refuse("xen-pv", 'libxenguest PV: "xc_dom_find_loader: no loader found"')
    else:
        refuse("xen-pv", f'libxenguest PV: "xc_dom_guest_type: unknown image type {elf.machine}"')
    if qemu_elf_layer(image) == elf.layer:
        refuse("qemu", 'QEMU: "Error while loading elf kernel"')
    grub = ("invalid arch-independent ELF magic" if big else
            "invalid arch-dependent ELF magic")  # fmt: skip
    for target, header in (("multiboot1", grub_mb1_elf_header(image)),
                           ("multiboot2", grub_mb2_elf_header(image))):  # fmt: skip
        if header is not None and header.layer == elf.layer:
            refuse(target, f'GRUB {target}: "error: {grub}."')
    if big and image.format in ("elf32", "elf64"):
        refuse("rust-vmm", 'rust-vmm: "Kernel Loader: Trying to load big-endian binary on '
               'little-endian machine"')  # fmt: skip
    if big:
        what, offset, length = f"big-endian ELF{elf.elf_class} (EI_DATA 2)", 5, 1
    else:
        what = f"ELF{elf.elf_class} for {elf.machine_name} (e_machine {elf.machine}), not x86"
        offset, length = 18, 2
    return SharedCause(what, elf.layer, offset, length, tuple(said))


def protocol_text(value: int) -> str:
    """A boot protocol version as people write it: 0x20f is "2.15"."""
    return f"{value >> 8}.{value & 0xFF:02d}"


@cached_fact("bzimage-protocol-old")
def bzimage_protocol_too_old(image: Image) -> SharedCause | None:
    """A setup header whose boot protocol version GRUB's 32-bit `linux` (below 2.03) or
    libxenguest's bzImage probe (below 2.08) refuses, told once for both."""
    setup = image.setup
    if setup is None or not setup.has_hdrs:
        return None
    version = setup.version
    offset, size = FIELD_OFFSETS["version"]
    said: list[tuple[str, str]] = []
    if version < 0x203:
        said.append(("linux", 'GRUB linux: "error: version too old for 32-bit boot"'))
    if version < 0x208:
        xen = f'libxenguest: "xc_dom_probe_bzimage_kernel: boot protocol too old ({version:04x})"'
        said += [("xen-pvh", xen), ("xen-pv", xen)]
    if not said:
        return None
    need = "2.03, which GRUB needs for 32-bit boot" if version < 0x203 else (
        "2.08, which Xen needs for the payload fields")  # fmt: skip
    return SharedCause(f"boot protocol {protocol_text(version)} at {offset:#x} is older than "
                       f"{need}", setup.layer, offset, size, tuple(said))  # fmt: skip


@cached_fact("bzimage-truncated")
def bzimage_truncated(image: Image) -> SharedCause | None:
    """A bzImage in the layer QEMU and GRUB are handed that ends before its protected-mode
    code: QEMU's x86_load_linux and GRUB's `linux` both refuse it, told once for both."""
    from .qemu import qemu_path

    setup = image.setup
    if setup is None or setup.layer != boot_layer(image):
        return None
    size = layer_size(image, setup.layer)
    if size >= setup.pm_offset:
        return None
    sects = setup.setup_sects or 4
    said = []
    if qemu_path(image) in ("linux", "zimage"):
        said.append(("qemu", 'QEMU: "qemu: invalid kernel header"'))
    said.append(("linux", 'GRUB linux: "error: premature end of file <path>."'))
    return SharedCause(f"the file ends at {size:#x}, before the protected-mode code at "
                       f"{setup.pm_offset:#x} (({sects} + 1) * 512)", setup.layer, 0x1F1, 1,
                       tuple(said))  # fmt: skip
