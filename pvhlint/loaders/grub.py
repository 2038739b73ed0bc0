"""GRUB 2.06/2.12: the layer it reads (through its gzip, xz and lzop filters), its Multiboot 1
and 2 scans, and its ELF path (grub-core/loader/multiboot_elfxx.c, shared by `multiboot`, 8 KiB
window, and `multiboot2`, 32 KiB window), checked against real GRUB (i386-pc, booted in QEMU by
tests/loaders/grub_boot.py) on the fixtures in tests/rules/test_boot_real.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

from ..bzimage import BOOT_FLAG, FIELD_OFFSETS
from ..model import (
    EM_386,
    EM_X86_64,
    FORMAT_DESCRIPTIONS,
    PT_LOAD,
    ElfInfo,
    Image,
    MultibootHeader,
    MultibootTag,
    ProblemCode,
    Segment,
    align_up,
)
from ..multiboot import (
    MB1,
    MB2,
    MULTIBOOT,
    QEMU_MB1_LIMIT,
    Mb1Flag,
    Mb2Tag,
    MultibootSpec,
    mb1_header_size,
)
from ..profiles import Loader
from .common import (
    boot_layer,
    bzimage_protocol_too_old,
    bzimage_truncated,
    elf_big_endian,
    first_header,
    layer_size,
    unsupported_machine,
)
from .outcome import Check, ErrorCode, LoaderError, Outcome, narrowed, walk

GRUB_FILTERS = ("gzip", "xz", "lzo")  # whole-file streams GRUB reads through (gzip first)


def grub_layer(image: Image) -> int:
    """GRUB opens files through its gzip, xz and lzop filters (gzio, xzio, lzopio)."""
    if image.format in GRUB_FILTERS and len(image.layers) > 1:
        return 1
    return boot_layer(image)


@dataclass(frozen=True)
class GrubFile:
    """A layer as GRUB's commands read it: `size` bytes (file->size) of which the first
    `readable` can be read. Through gzio (grub-core/io/gzio.c) the size is the gzip file's
    last 4 bytes (test_gzip_header), whatever the stream holds, and a read that needs bytes
    past the deflate stream's last block fails: "premature end of compressed"
    (grub_gzio_read). Measured with GRUB 2.06: a gzip ELF without its trailer, or with
    4 bytes after it, is refused so, or read as shorter."""

    size: int
    readable: int

    def compressed_end(self, offset: int, length: int) -> int | None:
        """Where a read of `length` bytes at `offset` (cut to the size, as grub_file_read
        cuts it) runs past the readable bytes, or None."""
        end = min(offset + length, self.size)
        return end if end > self.readable else None


def grub_file(image: Image, layer: int) -> GrubFile:
    """A gzip layer with a known end (or, decoded only in part and undamaged so far, taken to
    hold what its last 4 bytes say); any other layer as pvhlint decoded it. A stream cut
    inside its deflate data is read on by gzio through a stale 8 KiB buffer (get_byte), which
    is not modelled: there the decoded bytes are the file."""
    info = image.layers[layer]
    if info.kind == "gzip" and info.size_trailer is not None:
        end = info.size_trailer if info.gzio_end is None else info.gzio_end  # 0: fails at once
        return GrubFile(info.size_trailer, min(info.size_trailer, end))
    size = layer_size(image, layer)
    return GrubFile(size, size)


def grub_scan_limit(image: Image, version: int) -> int:
    """The last offset GRUB's multiboot scan tries in the layer it reads: it reads the
    first 8 KiB (MB1) or 32 KiB (MB2) and stops 12 or 16 bytes before the end of that."""
    return MULTIBOOT[version].scan_limit(grub_file(image, grub_layer(image)).size)


def grub_mb1(image: Image) -> MultibootHeader | None:
    """GRUB: 4-byte steps up to min(8192, size) - 12, magic plus a zero checksum."""
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 1)
    return first_header([h for h in image.multiboot if h.version == 1 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset <= limit])  # fmt: skip


def grub_mb2(image: Image, *, loader: bool = True) -> MultibootHeader | None:
    """GRUB: 8-byte steps up to min(32768, size) - 16; the loader (not grub-file) also
    needs architecture 0."""
    layer = grub_layer(image)
    limit = grub_scan_limit(image, 2)
    return first_header([h for h in image.multiboot if h.version == 2 and h.layer == layer
                   and h.checksum_ok and h.aligned and h.offset <= limit
                   and (h.architecture == 0 or not loader)])  # fmt: skip


ET_EXEC, ET_DYN = 2, 3
SHT_RELA, SHT_REL = 4, 9
U32 = 0xFFFFFFFF
# GRUB's heap hands out memory in cells of this size (GRUB_MM_ALIGN, sizeof(struct
# grub_mm_header) on i386-pc): a load that overruns its chunk only within the chunk's last
# cell harms nothing. Measured with GRUB 2.06's multiboot on a 0x24-byte PT_LOAD at 1 MiB:
# p_memsz 0x4 to 0x20 crash, 0x21 and 0x23 load.
GRUB_MM_ALIGN = 16
CRASH = "crash"  # no message: GRUB overwrote its own memory
HANG = "hang"  # no message: GRUB loops for ever


LINUX = ("linux",)
# The targets of the GRUB command a code's prefix names: `multiboot`, `multiboot2`, `linux`,
# and (ELF_) the multiboot ELF loader both multiboot commands run.
COMMAND_TARGETS = {
    "MB1": (MB1.target,),
    "MB2": (MB2.target,),
    "LINUX": LINUX,
    "ELF": (MB1.target, MB2.target),
}


class GrubError(ErrorCode):
    """GRUB's messages (it prints `error: <message>.`, numbers filled in `LoaderError.text`),
    or how it dies. MB1_ and MB2_ codes are the `multiboot` and `multiboot2` commands',
    LINUX_ codes the `linux` command's, ELF_ codes both multiboot commands': their targets."""

    @property
    def targets(self) -> tuple[str, ...]:
        return COMMAND_TARGETS[self.name.partition("_")[0]]

    # grub_multiboot_load (loader/i386/multiboot_mbi.c): read 8 KiB, find_header.
    MB1_TOO_SHORT = "premature end of file <kernel path>"
    MB1_COMPRESSED_END = "premature end of compressed"  # gzio: the read past the stream's end
    MB1_NO_HEADER = "no multiboot header found"
    MB1_MISALIGNED = "no multiboot header found"
    MB1_BAD_CHECKSUM = "no multiboot header found"
    MB1_OUTSIDE_WINDOW = "no multiboot header found"
    MB1_UNSUPPORTED_FLAG = "unsupported flag: 0x%x"
    # load_kernel's a.out kludge (fields read from the 8 KiB buffer), then the video mode.
    MB1_FIELDS_PAST_BUFFER = "address is out of range"
    MB1_AOUT_OUT_OF_RANGE = "address is out of range"
    MB1_AOUT_SEEK = "attempt to seek outside of the file"
    MB1_AOUT_BSS_CRASH = CRASH
    MB1_VIDEO_MODE_TYPE = "unsupported graphical mode type %d"
    # grub_multiboot_load_elf (loader/multiboot_elfxx.c) for `multiboot`.
    MB1_ELF_MAGIC = "invalid arch-dependent ELF magic"
    MB1_ELF_TYPE = "this ELF file is not of the right type"
    MB1_ELF_PHDR_WINDOW = "program header at a too high offset"
    MB1_ELF_CROSSES_4G = "segment crosses 4 GiB border"
    MB1_ELF_OUT_OF_RANGE = "address is out of range"
    MB1_ELF_OVERLAP = "overlap detected"
    MB1_ELF_SEEK = "attempt to seek outside of the file"
    MB1_ELF_PREMATURE_END = "premature end of file <kernel path>"
    MB1_ELF_COMPRESSED_END = "premature end of compressed"
    MB1_ELF_CRASH = CRASH
    MB1_ELF_ENTRY64 = "invalid entry point for ELF64"
    MB1_ELF_ENTRY = "entry point isn't in a segment"
    # grub_multiboot2_load (loader/multiboot_mbi2.c): read 32 KiB, find_header, the tags.
    MB2_TOO_SHORT = "premature end of file <kernel path>"
    MB2_COMPRESSED_END = "premature end of compressed"
    MB2_NO_HEADER = "no multiboot header found"
    MB2_MISALIGNED = "no multiboot header found"
    MB2_BAD_CHECKSUM = "no multiboot header found"
    MB2_ARCHITECTURE = "no multiboot header found"
    MB2_TAG_SIZE_ZERO = HANG
    MB2_INFO_REQUEST_SHORT = "unsupported information tag: 0x%x"
    MB2_INFO_REQUEST = "unsupported information tag: 0x%x"
    MB2_UNSUPPORTED_TAG = "unsupported tag: 0x%x"
    MB2_ADDRESS_WITHOUT_ENTRY = "load address tag without entry address tag"
    # grub_multiboot2_load_elf (loader/multiboot_elfxx.c) for `multiboot2`.
    MB2_ELF_MAGIC = "invalid arch-dependent ELF magic"
    MB2_ELF_TYPE = "this ELF file is not of the right type"
    MB2_ELF_PHDR_WINDOW = "program header at a too high offset"
    MB2_ELF_CROSSES_4G = "segment crosses 4 GiB border"
    MB2_ELF_RELOCATABLE_RANGE = "invalid min/max address and/or load size"
    MB2_ELF_OUT_OF_RANGE = "address is out of range"
    MB2_ELF_OVERLAP = "overlap detected"
    MB2_ELF_SEEK = "attempt to seek outside of the file"
    MB2_ELF_PREMATURE_END = "premature end of file <kernel path>"
    MB2_ELF_COMPRESSED_END = "premature end of compressed"
    MB2_ELF_CRASH = CRASH
    MB2_ELF_ENTRY64 = "invalid entry point for ELF64"
    MB2_ELF_ENTRY = "entry point isn't in a segment"
    MB2_ELF_RELOCS = "ELF files with relocs are not supported yet"
    # grub_elfXX_get_shnum (kern/elfXX.c, GRUB 2.12), both multiboot ELF paths.
    ELF_SHNUM_NO_TABLE = "invalid section header table offset in e_shoff"
    ELF_SHNUM_SH_SIZE = "invalid number of section header table entries in sh_size"
    ELF_SHNUM_E_SHNUM = "invalid number of section header table entries in e_shnum: %d"
    # grub_cmd_linux (loader/i386/linux.c).
    LINUX_NOT_BZIMAGE = "invalid magic number"
    LINUX_BOOT_FLAG = "invalid magic number"
    LINUX_NO_HDRS_SETUP_SECTS = "too many setup sectors"
    LINUX_NO_HDRS = "version too old for 32-bit boot"
    LINUX_ZIMAGE = "zImage doesn't support 32-bit boot"
    LINUX_INIT_SIZE = CRASH

    # grub_multiboot_load_elf / grub_multiboot_load_elfXX (multiboot_elfxx.c): a big-endian
    # ELF, then an e_machine that is not x86 (elf-unsupported-machine explains both).
    ELF_BIG_ENDIAN = "invalid arch-independent ELF magic"
    ELF_NOT_X86 = "invalid arch-dependent ELF magic"
    # grub_cmd_linux (loader/i386/linux.c)
    LINUX_TOO_MANY_SETUP_SECTS = "too many setup sectors"
    LINUX_VERSION_TOO_OLD = "version too old for 32-bit boot"
    LINUX_PREMATURE_END = "premature end of file"  # "... %s", the path
    LINUX_FILTER_SEEK = "attempt to seek outside of the file"


@dataclass(frozen=True)
class ElfPath:
    """GRUB's ELF loader (multiboot_elfxx.c) as one command runs it: the header search's
    window (where the program headers must lie), and each error's code."""

    spec: MultibootSpec
    magic: GrubError
    file_type: GrubError
    phdr_window: GrubError
    crosses_4g: GrubError
    out_of_range: GrubError
    overlap: GrubError
    seek: GrubError
    premature_end: GrubError
    crash: GrubError
    entry64: GrubError
    entry: GrubError
    relocatable_range: GrubError | None = None  # multiboot2 only: the relocatable tag
    relocs: GrubError | None = None  # multiboot2 only refuses relocation sections
    compressed_end: GrubError | None = None  # a read past a gzip file's deflate stream

    @property
    def mbi2(self) -> bool:
        return self.spec is MB2

    @property
    def codes(self) -> tuple[GrubError, ...]:
        """Every error this command's ELF loader gives (its rule explains them all)."""
        found = (getattr(self, field.name) for field in fields(self))
        return tuple(value for value in found if isinstance(value, GrubError))


E = GrubError
MB1_ELF = ElfPath(MB1, E.MB1_ELF_MAGIC, E.MB1_ELF_TYPE, E.MB1_ELF_PHDR_WINDOW,
                  E.MB1_ELF_CROSSES_4G, E.MB1_ELF_OUT_OF_RANGE, E.MB1_ELF_OVERLAP,
                  E.MB1_ELF_SEEK, E.MB1_ELF_PREMATURE_END, E.MB1_ELF_CRASH,
                  E.MB1_ELF_ENTRY64, E.MB1_ELF_ENTRY,
                  compressed_end=E.MB1_ELF_COMPRESSED_END)  # fmt: skip
MB2_ELF = ElfPath(MB2, E.MB2_ELF_MAGIC, E.MB2_ELF_TYPE, E.MB2_ELF_PHDR_WINDOW,
                  E.MB2_ELF_CROSSES_4G, E.MB2_ELF_OUT_OF_RANGE, E.MB2_ELF_OVERLAP,
                  E.MB2_ELF_SEEK, E.MB2_ELF_PREMATURE_END, E.MB2_ELF_CRASH,
                  E.MB2_ELF_ENTRY64, E.MB2_ELF_ENTRY, E.MB2_ELF_RELOCATABLE_RANGE,
                  E.MB2_ELF_RELOCS, E.MB2_ELF_COMPRESSED_END)  # fmt: skip


def elf_of_layer(image: Image, layer: int) -> ElfInfo | None:
    elf = image.elf
    return elf if elf is not None and elf.layer == layer else None


def is_big_endian(image: Image, elf: ElfInfo) -> bool:
    return any(p.code == ProblemCode.BIG_ENDIAN and p.layer == elf.layer for p in image.problems)


def x86_machine(elf: ElfInfo) -> bool:
    return elf.machine in (EM_386, EM_X86_64)


def grub_mb1_elf_header(image: Image) -> MultibootHeader | None:
    """GRUB's Multiboot 1 header when GRUB loads the file as an ELF (flags bit 16 clear)."""
    header = grub_mb1(image)
    return header if header is not None and not header.flags & Mb1Flag.AOUT_KLUDGE else None


def grub_mb2_elf_header(image: Image) -> MultibootHeader | None:
    """GRUB's Multiboot 2 header when GRUB loads the file as an ELF (no address tag)."""
    header = grub_mb2(image)
    if header is None or any(tag.type == Mb2Tag.ADDRESS for tag in header.tags):
        return None
    return header


def grub_text(text: str) -> str:
    """GRUB prints its errors as `error: <msg>.`."""
    if text == CRASH:
        return "GRUB crashes"
    return f'GRUB: "error: {text}."'


# --- Finding the header: grub_multiboot_load / grub_multiboot2_load up to find_header ---

NOT_FOUND = 'GRUB: "error: no multiboot header found."'


class ScanCodes(NamedTuple):
    """A command's errors when find_header finds nothing: the file too short to scan, no
    header at all, a header passed over for its alignment or its checksum, and (through
    gzio) the read of the search window failing."""

    too_short: GrubError
    not_found: GrubError
    misaligned: GrubError
    bad_checksum: GrubError
    compressed_end: GrubError

    @property
    def no_header(self) -> tuple[GrubError, GrubError, GrubError]:
        """Those that mean no header was there to be passed over (mbN-no-header's)."""
        return self.too_short, self.not_found, self.compressed_end


SCAN_CODES = {
    MB1: ScanCodes(
        E.MB1_TOO_SHORT, E.MB1_NO_HEADER, E.MB1_MISALIGNED, E.MB1_BAD_CHECKSUM, E.MB1_COMPRESSED_END
    ),
    MB2: ScanCodes(
        E.MB2_TOO_SHORT, E.MB2_NO_HEADER, E.MB2_MISALIGNED, E.MB2_BAD_CHECKSUM, E.MB2_COMPRESSED_END
    ),
}


def grub_header(image: Image, spec: MultibootSpec) -> MultibootHeader | None:
    """The header GRUB's loader takes (for MB2: architecture 0 as well)."""
    return grub_mb1(image) if spec is MB1 else grub_mb2(image)


def _missed(image: Image, spec: MultibootSpec, *, checksum_ok: bool,
            aligned: bool) -> Iterator[MultibootHeader]:  # fmt: skip
    """When GRUB finds no header: those in the layer it reads, at offsets its scan reaches,
    with the checksum and alignment asked for."""
    layer = grub_layer(image)
    limit = grub_scan_limit(image, spec.version)
    for header in image.multiboot:
        if (header.version == spec.version and header.layer == layer
                and header.checksum_ok == checksum_ok and header.aligned == aligned
                and header.offset <= limit):  # fmt: skip
            yield header


def _search_read(image: Image, spec: MultibootSpec) -> LoaderError | None:
    """The window's read (grub-file and both commands read the first 8 or 32 KiB, cut to the
    file's size) failing in gzio: the file's size, its last 4 bytes, runs past the deflate
    stream's end."""
    layer = grub_layer(image)
    file = grub_file(image, layer)
    end = file.compressed_end(0, spec.window)
    if end is None:
        return None
    return LoaderError(SCAN_CODES[spec].compressed_end,
                       f"the gzip file's last 4 bytes give GRUB's gzio a size of {file.size:#x}, "
                       f"but its deflate stream ends at {file.readable:#x}: reading the first "
                       f'{end:#x} bytes fails (GRUB: "error: premature end of compressed.")', 0,
                       image.size - 4, 4, refuses=(spec.target,))  # fmt: skip


def _scan_failures(image: Image, spec: MultibootSpec, which: str,
                   looking: str) -> Iterator[LoaderError]:  # fmt: skip
    """find_header finds nothing (fewer than 32 bytes read: "premature end of file"): why,
    and each header it would have taken but for its alignment or checksum. `which` narrows
    what it looks for (" with ..."), `looking` says who only looks at multiples of the
    alignment."""
    too_short, not_found, misaligned, bad_checksum, _ = SCAN_CODES[spec]
    refuses = (spec.target,)
    layer = grub_layer(image)
    size = grub_file(image, layer).size
    where = f"the first {spec.window_text}" if size >= spec.window else f"the file's {size} bytes"
    if layer:
        where += " of the gunzipped file"
    if size < 32:
        yield LoaderError(too_short, f'only {size} bytes: GRUB: "error: premature end of file '
                          '<kernel path>."', layer, 0, refuses=refuses)  # fmt: skip
    else:
        yield LoaderError(not_found, f"no {spec.label} header{which} in {where} ({spec.align}-byte "
                          f"steps, magic 0x{spec.magic:08X} with a zero checksum sum): "
                          f"{NOT_FOUND}", layer, 0, refuses=refuses)  # fmt: skip
    align = spec.align
    for header in _missed(image, spec, checksum_ok=True, aligned=False):
        flags = f" (flags {header.flags:#x})" if spec is MB1 else ""
        yield LoaderError(misaligned, f"{spec.label} header at {header.offset:#x}{flags} is not "
                          f"{align}-byte aligned ({header.offset % align} past a multiple of "
                          f"{align}); {looking} at multiples of {align} ({NOT_FOUND})",
                          header.layer, header.offset, spec.fixed_size,
                          refuses=refuses)  # fmt: skip
    for header in _missed(image, spec, checksum_ok=False, aligned=True):
        fields, values = _checksummed(header)
        want = -(spec.magic + sum(values)) & U32
        yield LoaderError(bad_checksum, f"{spec.label} header at {header.offset:#x}: {fields} "
                          f"need checksum {want:#010x}, found {header.checksum:#010x} "
                          f"({NOT_FOUND})", header.layer, header.offset + spec.checksum_at, 4,
                          refuses=refuses)  # fmt: skip


def _checksummed(header: MultibootHeader) -> tuple[str, list[int]]:
    """The fields the checksum covers besides the magic, named, and their values."""
    if header.version == 1:
        return f"flags {header.flags:#x}", [header.flags]
    return (f"architecture {header.architecture} and header_length {header.header_length}",
            [header.architecture, header.header_length])  # fmt: skip


NEAR = 2 * MB1.window  # further out, a magic is more likely data than a lost header


def mb1_search_read(image: Image) -> Iterator[LoaderError]:
    failed = _search_read(image, MB1)
    if failed is not None:
        yield failed


def mb2_search_read(image: Image) -> Iterator[LoaderError]:
    failed = _search_read(image, MB2)
    if failed is not None:
        yield failed


def mb1_find_header(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot_load (loader/i386/multiboot_mbi.c): reads 8 KiB, fewer than 32 bytes is
    "premature end of file"; find_header tries 4-byte steps up to 12 bytes before the end of
    what it read for the magic with a zero checksum sum, else "no multiboot header found"."""
    if grub_mb1(image) is not None:
        return
    yield from _scan_failures(image, MB1, "", "GRUB and QEMU only look")
    layer = grub_layer(image)
    limit = min(MB1.window, grub_file(image, layer).size) - MB1.scan_tail
    for header in image.multiboot:
        if (header.version == 1 and header.layer == layer and header.checksum_ok
                and limit < header.offset < NEAR):  # fmt: skip
            aligned = "" if header.aligned else " (and it is not 4-byte aligned)"
            yield LoaderError(E.MB1_OUTSIDE_WINDOW, f"Multiboot 1 header at {header.offset:#x} "
                              f"lies past GRUB's window (it tries offsets up to {limit:#x}; "
                              f"QEMU below {QEMU_MB1_LIMIT:#x}){aligned} ({NOT_FOUND})", layer,
                              header.offset, 12, refuses=(MB1.target,))  # fmt: skip


ARCHITECTURES = {4: "MIPS32"}


def mb2_find_header(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot2_load (loader/multiboot_mbi2.c): reads 32 KiB; its find_header takes
    8-byte steps up to 16 bytes before the end and, unlike grub-file, also wants
    architecture 0 (i386)."""
    if grub_mb2(image) is not None:
        return
    yield from _scan_failures(image, MB2, " with architecture 0", "GRUB only looks")
    header = grub_mb2(image, loader=False)
    if header is not None:
        arch = header.architecture
        name = f" ({ARCHITECTURES[arch]})" if arch in ARCHITECTURES else ""
        yield LoaderError(E.MB2_ARCHITECTURE, f"Multiboot 2 header at {header.offset:#x} has "
                          f"architecture {arch}{name}, not 0 (i386): grub-file says yes, GRUB's "
                          f"loader says {NOT_FOUND[6:]}", header.layer, header.offset + 4, 4,
                          refuses=(MB2.target,))  # fmt: skip


# --- Multiboot 1: the flags, load_kernel's a.out kludge, the video mode ---

UNSUPPORTED_FLAGS = 0x0000FFF8  # multiboot_mbi.c UNSUPPORTED_FLAGS


def mb1_flags(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot_load: `header->flags & UNSUPPORTED_FLAGS` is "unsupported flag"."""
    header = grub_mb1(image)
    if header is None or not header.flags & UNSUPPORTED_FLAGS:
        return
    bits = [str(bit) for bit in range(3, 16) if header.flags >> bit & 1]
    which = f"bit {bits[0]}" if len(bits) == 1 else f"bits {', '.join(bits)}"
    flags = header.flags
    yield LoaderError(E.MB1_UNSUPPORTED_FLAG, f"Multiboot 1 flags {flags:#x} at "
                      f"{header.offset + 4:#x} set {which}, which no loader defines (GRUB: "
                      f'"error: unsupported flag: {flags:#x}."; QEMU ignores it)', header.layer,
                      header.offset + 4, 4, refuses=(MB1.target,),
                      text=f"unsupported flag: {flags:#x}")  # fmt: skip


def _fields_past_buffer(image: Image, *, aout: bool) -> Iterator[LoaderError]:
    """GRUB found a header so near 8 KiB that the fields its flags call for lie past the
    8192 bytes it read: it takes them from memory past its buffer (measured: real GRUB
    2.06 "address is out of range"). `aout`: the address fields, which load_kernel reads;
    else the video fields, read after the kernel is loaded."""
    header = grub_mb1(image)
    if header is None or bool(header.flags & Mb1Flag.AOUT_KLUDGE) != aout:
        return
    read = min(MB1.window, grub_file(image, header.layer).size)
    end = header.offset + mb1_header_size(header.flags)
    if end > read and end > MB1.window:
        used = "address fields (flag bit 16)" if aout else "video fields"
        yield LoaderError(E.MB1_FIELDS_PAST_BUFFER, f"Multiboot 1 header at {header.offset:#x} "
                          f"(flags {header.flags:#x}) ends at {end:#x}, past the {read} bytes "
                          f"GRUB read: GRUB takes its {used} from memory past its buffer, i.e. "
                          'garbage (real GRUB 2.06: "error: address is out of range.")',
                          header.layer, header.offset, end - header.offset,
                          refuses=(MB1.target,))  # fmt: skip


def mb1_aout_fields_past_buffer(image: Image) -> Iterator[LoaderError]:
    yield from _fields_past_buffer(image, aout=True)


def mb1_video_fields_past_buffer(image: Image) -> Iterator[LoaderError]:
    yield from _fields_past_buffer(image, aout=False)


def mb1_aout(image: Image) -> Iterator[LoaderError]:
    """load_kernel's a.out kludge (flag bit 16): the chunk at load_addr, the seek to the
    load start, the read, the bss memset (loaders/aout.py)."""
    from .aout import aout_causes  # aout.py reads QEMU's header as well as GRUB's

    for cause in aout_causes(image):
        if cause.grub is not None:
            yield LoaderError(cause.grub, cause.detail, cause.layer, cause.offset, 4,
                              refuses=(MB1.target,))  # fmt: skip


def mb1_video_mode(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot_load after load_kernel: with flag bit 2, mode_type 0 or 1, else
    "unsupported graphical mode type"."""
    header = grub_mb1(image)
    if header is None or not header.flags & Mb1Flag.VIDEO_MODE:
        return
    mode = header.fields.get("mode_type")
    if mode is not None and mode not in (0, 1):
        yield LoaderError(E.MB1_VIDEO_MODE_TYPE, f"Multiboot 1 mode_type {mode} at "
                          f"{header.offset + 32:#x} is neither 0 (framebuffer) nor 1 (EGA "
                          f'text) (GRUB: "error: unsupported graphical mode type {mode}.")',
                          header.layer, header.offset + 32, 4, refuses=(MB1.target,),
                          text=f"unsupported graphical mode type {mode}")  # fmt: skip


# --- Multiboot 2: the tags (grub_multiboot2_load's loop, in tag order, to the end tag) ---

SUPPLIED = frozenset(range(22)) - {13}  # the information requests multiboot_mbi2.c knows
REQUEST_NAMES = {13: "SMBIOS"}
HANDLED = frozenset(Mb2Tag) - {Mb2Tag.ENTRY_ADDRESS_EFI32}  # the tags multiboot_mbi2.c knows


def grub_tag_hangs(tag: MultibootTag) -> bool:
    """A tag of size 0 that is not the end tag: GRUB's loop steps 0 bytes for ever."""
    return tag.size == 0 and tag.type != Mb2Tag.END


def grub_request_overruns(tag: MultibootTag) -> bool:
    """A required information request shorter than its 8-byte header: (size - 8) / 4,
    unsigned, is huge, and GRUB reads requests on until one is not a known type."""
    return (0 < tag.size < 8 and tag.type == Mb2Tag.INFORMATION_REQUEST
            and not tag.optional)  # fmt: skip


def mb2_tags(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot2_load's tag loop: the first tag GRUB refuses (or spins on) stops it."""
    header = grub_mb2(image)
    if header is None:
        return
    for tag in header.tags:
        error = _tag_error(header, tag)
        if error is not None:
            yield error
            return


def _tag_error(header: MultibootHeader, tag: MultibootTag) -> LoaderError | None:
    """GRUB switches on the tag's type (refusing an unknown required one), then steps
    ALIGN_UP(size, 8) bytes: a size-0 tag spins (mb2-malformed-tag names it "hangs" even
    for an information request, which GRUB reads on from)."""
    refuses = (MB2.target,)
    about = f"Multiboot 2 tag {tag.type} ({tag.name}) at {tag.offset:#x}"
    if grub_tag_hangs(tag) and (tag.type in HANDLED or tag.optional):
        return LoaderError(E.MB2_TAG_SIZE_ZERO, f"{about} has size 0: GRUB never steps past "
                           "it and hangs", header.layer, tag.offset + 4, 4,
                           refuses=refuses)  # fmt: skip
    if grub_request_overruns(tag):
        return LoaderError(E.MB2_INFO_REQUEST_SHORT, f"{about} has size {tag.size}, below its "
                           "8-byte header: GRUB's request count goes negative and it reads on "
                           'until a word is not a known type (GRUB: "error: unsupported '
                           'information tag: 0x...")', header.layer, tag.offset + 4, 4,
                           refuses=refuses)  # fmt: skip
    if tag.optional:
        return None
    if tag.type == Mb2Tag.INFORMATION_REQUEST and tag.size >= 8:
        missing = [value for value in tag.fields.get("requests", []) if value not in SUPPLIED]
        if not missing:
            return None
        named = ", ".join(f"{v}" + (f" ({REQUEST_NAMES[v]})" if v in REQUEST_NAMES else "")
                          for v in missing)  # fmt: skip
        return LoaderError(E.MB2_INFO_REQUEST, f"required information request at "
                           f"{tag.offset:#x} asks for type {named} (GRUB: \"error: unsupported "
                           f'information tag: {missing[0]:#x}.")', header.layer, tag.offset,
                           tag.size, refuses=refuses,
                           text=f"unsupported information tag: {missing[0]:#x}")  # fmt: skip
    if tag.type not in HANDLED:
        return LoaderError(E.MB2_UNSUPPORTED_TAG, f"{about} is not optional and GRUB does not "
                           f'implement it (GRUB: "error: unsupported tag: {tag.type:#x}.")',
                           header.layer, tag.offset, 4, refuses=refuses,
                           text=f"unsupported tag: {tag.type:#x}")  # fmt: skip
    return None


def _class_machine(image: Image, elf: ElfInfo, header: MultibootHeader,
                   path: ElfPath) -> LoaderError | None:  # fmt: skip
    # grub_multiboot_is_elf32/64 test EI_CLASS for exactly 1 or 2 (libelf and QEMU read any
    # other value as ELF32, GRUB refuses it).
    if elf.ei_class not in (1, 2):
        return LoaderError(path.magic, f"EI_CLASS {elf.ei_class} is neither ELFCLASS32 (1) "
                           "nor ELFCLASS64 (2)", elf.layer, 4, 1)  # fmt: skip
    want = EM_386 if elf.elf_class == 32 else EM_X86_64
    if elf.machine == want:
        return None
    other = "EM_386 (3)" if want == EM_386 else "EM_X86_64 (62)"
    return LoaderError(
        path.magic,
        f"ELF{elf.elf_class} with e_machine {elf.machine}: GRUB takes ELF32 only with "
        f"EM_386 and ELF64 only with EM_X86_64, so ELF{elf.elf_class} needs {other}",
        elf.layer,
        18,
        2,
    )


def _file_type(image: Image, elf: ElfInfo, header: MultibootHeader,
               path: ElfPath) -> LoaderError | None:  # fmt: skip
    if elf.type in (ET_EXEC, ET_DYN):
        return None
    return LoaderError(
        path.file_type,
        f"e_type {elf.type}: GRUB loads only ET_EXEC (2) and ET_DYN (3)",
        elf.layer,
        16,
        2,
    )


def _phdr_window(
    image: Image, elf: ElfInfo, header: MultibootHeader, path: ElfPath
) -> LoaderError | None:
    window = path.spec.window
    end = elf.phoff + elf.phnum * elf.phentsize  # e_phnum, however many could be read
    if end <= window:
        return None
    return LoaderError(
        path.phdr_window,
        f"the program headers end at {end:#x}, but GRUB takes them from the {window // 1024} "
        "KiB it read to find the Multiboot header",
        elf.layer,
        32 if elf.elf_class == 64 else 28,
        8 if elf.elf_class == 64 else 4,
    )


def _loads(elf: ElfInfo) -> list:  # type: ignore[type-arg]
    return [seg for seg in elf.segments if seg.type == PT_LOAD]


def _crosses_4g(image: Image, elf: ElfInfo, header: MultibootHeader,
                path: ElfPath) -> LoaderError | None:  # fmt: skip
    if elf.elf_class != 64:
        return None
    for seg in _loads(elf):
        if seg.paddr + seg.memsz >= 1 << 32:
            return LoaderError(
                path.crosses_4g,
                f"PT_LOAD {seg.index} ends at physical {seg.paddr + seg.memsz:#x}; GRUB loads "
                "an ELF64 only below 4 GiB",
                elf.layer,
                elf.phdr_offset(seg.index),
            )
    return None


def _relocatable(
    image: Image, elf: ElfInfo, header: MultibootHeader, path: ElfPath
) -> LoaderError | None:
    tags = [tag for tag in header.tags if tag.type == Mb2Tag.RELOCATABLE] if path.mbi2 else []
    loads = _loads(elf)
    if not tags or not loads or path.relocatable_range is None:
        return None
    fields = tags[-1].fields  # GRUB keeps the last relocatable tag
    low = min(seg.paddr for seg in loads)
    size = (max(seg.paddr + seg.memsz for seg in loads) - low) & U32
    min_addr, max_addr = int(fields.get("min_addr", 0)), int(fields.get("max_addr", 0))
    if size > max_addr or min_addr > max_addr - size:
        return LoaderError(
            path.relocatable_range,
            f"the relocatable tag allows [{min_addr:#x}, {max_addr:#x}] but the image "
            f"needs {size:#x} bytes",
            header.layer,
            tags[-1].offset,
            tags[-1].size,
        )
    return None


def _segments(
    image: Image, elf: ElfInfo, header: MultibootHeader, path: ElfPath
) -> LoaderError | None:
    """multiboot_elfxx.c's load loop, per PT_LOAD: allocate p_memsz bytes at p_paddr (one
    chunk for all with a multiboot2 relocatable tag), seek, read p_filesz bytes into it."""
    file = grub_file(image, elf.layer)
    size = file.size
    relocatable = path.mbi2 and any(tag.type == Mb2Tag.RELOCATABLE for tag in header.tags)
    chunks: list[Segment] = []  # grub_relocator_alloc_chunk_addr's, in load order
    for seg in _loads(elf):
        where = elf.phdr_offset(seg.index)
        if elf.elf_class == 32 and seg.paddr + seg.memsz > U32:
            return LoaderError(
                path.out_of_range,
                f"PT_LOAD {seg.index} at physical {seg.paddr:#x} with p_memsz {seg.memsz:#x} "
                "runs past 4 GiB: GRUB's memory allocator refuses it",
                elf.layer,
                where,
            )
        if not relocatable:
            other = next((o for o in chunks if o.paddr <= seg.paddr < o.paddr + o.memsz
                          or seg.paddr <= o.paddr < seg.paddr + seg.memsz), None)  # fmt: skip
            if other is not None:
                return LoaderError(
                    path.overlap,
                    f"PT_LOAD {seg.index} at physical [{seg.paddr:#x}, "
                    f"{seg.paddr + seg.memsz:#x}) overlaps PT_LOAD {other.index}: GRUB's "
                    "relocator refuses a second chunk over the first (relocator.c)",
                    elf.layer,
                    where,
                )
            chunks.append(seg)
        if seg.filesz and seg.offset > size:
            return LoaderError(
                path.seek,
                f"PT_LOAD {seg.index} starts at file offset {seg.offset:#x}, past the end of "
                f"the file ({size:#x})",
                elf.layer,
                where,
            )
        failed = _compressed_end(elf, path, f"PT_LOAD {seg.index}", seg.offset, seg.filesz,
                                 file, where) if seg.filesz else None  # fmt: skip
        if failed is not None:
            return failed
        if seg.filesz and seg.offset + seg.filesz > size:
            return LoaderError(
                path.premature_end,
                f"PT_LOAD {seg.index} needs file bytes up to {seg.offset + seg.filesz:#x}, "
                f"but the file ends at {size:#x}",
                elf.layer,
                where,
            )
        cell_end = align_up(seg.paddr + seg.memsz, GRUB_MM_ALIGN)
        if seg.paddr + seg.filesz > cell_end and not relocatable:
            return LoaderError(
                path.crash,
                f"PT_LOAD {seg.index} has p_filesz {seg.filesz:#x} > p_memsz {seg.memsz:#x}: "
                "GRUB reads p_filesz bytes into the p_memsz bytes it allocated at p_paddr and "
                f"overruns them past {cell_end:#x}, where its heap's next cell begins",
                elf.layer,
                where,
            )
    return None


def _entry(image: Image, elf: ElfInfo, header: MultibootHeader,
           path: ElfPath) -> LoaderError | None:  # fmt: skip
    mask = U32 if elf.elf_class == 32 else (1 << 64) - 1
    # GRUB walks every program header, whatever its type, by virtual address.
    for seg in elf.segments:
        if seg.vaddr <= elf.entry < (seg.vaddr + seg.memsz) & mask:
            physical = (elf.entry - seg.vaddr + seg.paddr) & mask
            if elf.elf_class == 64 and physical > U32:
                return LoaderError(
                    path.entry64,
                    f"e_entry {elf.entry:#x} is physical {physical:#x} (through program "
                    f"header {seg.index}); GRUB starts the kernel in 32-bit mode, below 4 GiB",
                    elf.layer,
                    24,
                    8,
                )
            return None
    return LoaderError(
        path.entry,
        f"e_entry {elf.entry:#x} lies in no program header's [p_vaddr, p_vaddr + p_memsz)",
        elf.layer,
        24,
        elf.elf_class // 8,
    )


def _sections(
    image: Image, elf: ElfInfo, header: MultibootHeader, path: ElfPath
) -> LoaderError | None:
    """After the segments and the entry, GRUB reads the section header table (seek to
    e_shoff, read e_shnum * e_shentsize bytes) and, in index order, refuses a relocation
    section (multiboot2 only) and loads every section with sh_addr 0 and a size (seek to
    sh_offset, read sh_size). A seek past the end of the file is "attempt to seek outside of
    the file", a short read "premature end of file"."""
    if not elf.shnum:
        return None
    file = grub_file(image, elf.layer)
    table = (elf.shoff, elf.shnum * elf.shentsize)
    found = _file_range(elf, path, "the section header table", *table, file,
                        32 if elf.elf_class == 64 else 28)  # fmt: skip
    if found is not None or elf.sections is None:
        return found
    for sec in elf.sections:
        where = elf.shoff + sec.index * elf.shentsize
        if path.relocs is not None and sec.type in (SHT_REL, SHT_RELA) and sec.index:
            kind = "SHT_RELA" if sec.type == SHT_RELA else "SHT_REL"
            return LoaderError(
                path.relocs,
                f"section {sec.name or sec.index} is {kind}; GRUB's multiboot2 loader refuses "
                "any relocation section",
                elf.layer,
                where,
            )
        if sec.addr == 0 and sec.size:
            name = f"section {sec.name or sec.index} (sh_addr 0, so GRUB loads it)"
            found = _file_range(elf, path, name, sec.offset, sec.size, file, where)
            if found is not None:
                return found
    return None


def _file_range(
    elf: ElfInfo, path: ElfPath, what: str, offset: int, length: int, file: GrubFile, where: int
) -> LoaderError | None:
    """grub_file_seek then grub_file_read of [offset, offset + length) of the file."""
    size = file.size
    if offset > size:
        return LoaderError(path.seek, f"{what} starts at file offset {offset:#x}, past the "
                           f"end of the file ({size:#x})", elf.layer, where)  # fmt: skip
    failed = _compressed_end(elf, path, what, offset, length, file, where)
    if failed is not None:
        return failed
    if offset + length > size:
        return LoaderError(path.premature_end, f"{what} needs file bytes up to "
                           f"{offset + length:#x}, but the file ends at {size:#x}", elf.layer,
                           where)  # fmt: skip
    return None


def _compressed_end(elf: ElfInfo, path: ElfPath, what: str, offset: int, length: int,
                    file: GrubFile, where: int) -> LoaderError | None:  # fmt: skip
    """A read through gzio that needs bytes past the deflate stream's end (GrubFile)."""
    end = file.compressed_end(offset, length)
    if end is None or path.compressed_end is None:
        return None
    return LoaderError(path.compressed_end, f"{what} needs bytes up to {end:#x} of the "
                       f"gunzipped file, whose deflate stream ends at {file.readable:#x} "
                       f"(its size, the gzip file's last 4 bytes, says {file.size:#x}): "
                       'GRUB: "error: premature end of compressed."', elf.layer, where)  # fmt: skip


# --- The ELF path: grub_multiboot_load_elf / grub_multiboot2_load_elf (multiboot_elfxx.c) ---


def _grub_elf(image: Image, header: MultibootHeader) -> ElfInfo | None:
    """The ELF GRUB's ELF path reads, when pvhlint models it: a big-endian or non-x86 ELF
    is left out (elf-unsupported-machine reports it)."""
    elf = elf_of_layer(image, header.layer)
    if elf is None or is_big_endian(image, elf) or not x86_machine(elf):
        return None
    return elf


def grub_elf_start(image: Image, header: MultibootHeader, path: ElfPath) -> LoaderError | None:
    """grub_multiboot_load_elf up to e_type: an ELF at all (grub_multiboot_is_elf32/64),
    its class and machine, its type."""
    if elf_of_layer(image, header.layer) is None:
        return LoaderError(
            path.magic,
            "the file is not an ELF, and without flag bit 16 (the a.out kludge) GRUB loads "
            "only ELF files",
            header.layer,
            0,
            4,
        )
    elf = _grub_elf(image, header)
    if elf is None:
        return None
    return _class_machine(image, elf, header, path) or _file_type(image, elf, header, path)


def grub_elf_load(image: Image, header: MultibootHeader, path: ElfPath) -> LoaderError | None:
    """The rest of multiboot_elfxx.c's load, after the section count (GRUB 2.12): the
    program headers within the window read, ELF64 below 4 GiB, the relocatable range
    (multiboot2), the PT_LOAD loop, the entry point, the sections."""
    elf = _grub_elf(image, header)
    if elf is None or grub_elf_start(image, header, path) is not None:
        return None
    checks = (_phdr_window, _crosses_4g, _relocatable, _segments, _entry, _sections)
    for check in checks:
        found = check(image, elf, header, path)
        if found is not None:
            return found
    return None


def _on_path(error: LoaderError | None, path: ElfPath) -> Iterator[LoaderError]:
    """An ELF-path error as the command's finding: "Multiboot N ELF: <cause> (GRUB: ...)"."""
    if error is not None:
        yield replace(error, detail=f"{path.spec.label} ELF: {error.detail} "
                      f"({grub_text(error.message)})", refuses=(path.spec.target,))  # fmt: skip


def _elf_step(image: Image, header: MultibootHeader | None, path: ElfPath,
              step: Callable[[Image, MultibootHeader, ElfPath], LoaderError | None]
              ) -> Iterator[LoaderError]:  # fmt: skip
    """One step of the ELF path, for the command whose header takes the ELF path."""
    if header is not None:
        yield from _on_path(step(image, header, path), path)


def mb1_elf_start(image: Image) -> Iterator[LoaderError]:
    return _elf_step(image, grub_mb1_elf_header(image), MB1_ELF, grub_elf_start)


def mb1_elf_load(image: Image) -> Iterator[LoaderError]:
    return _elf_step(image, grub_mb1_elf_header(image), MB1_ELF, grub_elf_load)


def mb2_elf_start(image: Image) -> Iterator[LoaderError]:
    return _elf_step(image, grub_mb2_elf_header(image), MB2_ELF, grub_elf_start)


def mb2_elf_load(image: Image) -> Iterator[LoaderError]:
    return _elf_step(image, grub_mb2_elf_header(image), MB2_ELF, grub_elf_load)


SHN_LORESERVE = 0xFF00
SHNUM_SINCE = "2.12"  # grub.git 27a14a8ae added grub_elfXX_get_shnum to the ELF path


def grub_shnum_error(image: Image, header: MultibootHeader) -> LoaderError | None:
    """GRUB 2.12's grub_elfXX_get_shnum (kern/elfXX.c), which multiboot_elfxx.c calls right
    after the e_type check: e_shnum 0 means "the count is in section 0's sh_size", so an
    ELF without section headers (e_shoff 0) is refused; a count of SHN_LORESERVE or more in
    e_shnum too. Added by grub.git 27a14a8ae ("elf: Validate number of elf section header
    table entries", in 2.12); GRUB 2.06 reads e_shnum as it is. None when GRUB stops earlier
    (not an ELF, wrong class, machine or type: grub_elf_start) or passes."""
    elf = _grub_elf(image, header)
    if elf is None or grub_elf_start(image, header, MB1_ELF) is not None:
        return None
    where = 48 if elf.elf_class == 32 else 60  # e_shnum
    if elf.shnum == 0 and elf.shoff == 0:
        return LoaderError(
            E.ELF_SHNUM_NO_TABLE,
            "e_shnum 0 and e_shoff 0 (no section header table): GRUB 2.12 then looks for "
            "the count in section 0's sh_size and refuses the missing table",
            elf.layer, where, 2,
        )  # fmt: skip
    if elf.shnum == 0:
        # GRUB reads sh_size of the header at e_shoff and wants >= SHN_LORESERVE: a kernel
        # never has 65280 sections, so e_shnum 0 with a table is refused as well.
        return LoaderError(
            E.ELF_SHNUM_SH_SIZE,
            "e_shnum 0 with e_shoff set: GRUB 2.12 takes the count from section 0's "
            "sh_size, which must then be 0xff00 or more",
            elf.layer, where, 2,
        )  # fmt: skip
    if elf.shnum >= SHN_LORESERVE:
        return LoaderError(
            E.ELF_SHNUM_E_SHNUM,
            f"e_shnum {elf.shnum:#x} is SHN_LORESERVE (0xff00) or more, which GRUB 2.12 "
            "refuses in e_shnum",
            elf.layer, where, 2,
            text=f"invalid number of section header table entries in e_shnum: {elf.shnum}",
        )  # fmt: skip
    return None


def _shnum(
    image: Image, spec: MultibootSpec, header: MultibootHeader | None
) -> Iterator[LoaderError]:
    error = grub_shnum_error(image, header) if header is not None else None
    if error is not None:
        yield replace(error, detail=f"{spec.label} ELF: {error.detail} "
                      f"({grub_text(error.message)} from {SHNUM_SINCE}; 2.06 loads it)",
                      refuses=(f"{spec.target}@{SHNUM_SINCE}",))  # fmt: skip


def mb1_elf_shnum(image: Image) -> Iterator[LoaderError]:
    yield from _shnum(image, MB1, grub_mb1_elf_header(image))


def mb2_elf_shnum(image: Image) -> Iterator[LoaderError]:
    yield from _shnum(image, MB2, grub_mb2_elf_header(image))


# --- Multiboot 2 before the ELF path ---


def mb2_address_without_entry(image: Image) -> Iterator[LoaderError]:
    """grub_multiboot2_load after the tag loop: an address tag needs an entry address tag
    (or, on x86-64 EFI with tag 7, tag 9; never on i386-pc)."""
    header = grub_mb2(image)
    if header is None:
        return
    types = {tag.type for tag in header.tags}
    address = next((tag for tag in header.tags if tag.type == Mb2Tag.ADDRESS), None)
    if address is None or Mb2Tag.ENTRY_ADDRESS in types:
        return
    efi_entry = {Mb2Tag.EFI_BS, Mb2Tag.ENTRY_ADDRESS_EFI64}
    efi = " (only GRUB on x86-64 EFI boots it, through tags 7 and 9)" if efi_entry <= types else ""
    yield LoaderError(E.MB2_ADDRESS_WITHOUT_ENTRY, f"Multiboot 2 address tag at "
                      f"{address.offset:#x} but no entry address tag{efi} (GRUB: \"error: load "
                      'address tag without entry address tag.")', header.layer, address.offset,
                      address.size, refuses=(MB2.target,))  # fmt: skip


# --- linux: grub_cmd_linux (loader/i386/linux.c) ---

PAGE = 4096


def linux_boot_flag(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux reads the setup header, then `lh.boot_flag != 0xaa55` is "invalid
    magic number"."""
    setup = image.setup
    if setup is None:
        what = FORMAT_DESCRIPTIONS.get(image.format, image.format)
        yield LoaderError(E.LINUX_NOT_BZIMAGE, f"no Linux setup header ({what}): the u16 at "
                          '0x1fe is not 0xAA55 (GRUB linux: "error: invalid magic number.")', 0,
                          0x1FE, 2, refuses=LINUX)  # fmt: skip
    elif setup.has_hdrs and setup.boot_flag != BOOT_FLAG:
        offset, size = FIELD_OFFSETS["boot_flag"]
        yield LoaderError(E.LINUX_BOOT_FLAG, f"boot_flag {setup.boot_flag:#06x} at {offset:#x}, "
                          'not 0xAA55 (GRUB linux: "error: invalid magic number."; QEMU and Xen '
                          "do not check it)", setup.layer, offset, size,
                          refuses=LINUX)  # fmt: skip


GRUB_MAX_SETUP_SECTS = 64  # GRUB_LINUX_MAX_SETUP_SECTS


def linux_no_hdrs(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux: setup_sects over 64 is "too many setup sectors", then no "HdrS" (or a
    version below 2.03) "version too old for 32-bit boot". Here: 0xAA55 without "HdrS"."""
    setup = image.setup
    if setup is None or setup.has_hdrs:
        return
    code = (E.LINUX_NO_HDRS_SETUP_SECTS if setup.setup_sects > GRUB_MAX_SETUP_SECTS
            else E.LINUX_NO_HDRS)  # fmt: skip
    yield LoaderError(code, 'boot-sector signature 0xAA55 but no "HdrS" at 0x202: not a bzImage '
                      f'(an old zImage or boot sector) (GRUB linux: "error: {code.text}'
                      f'{"." if code is E.LINUX_NO_HDRS_SETUP_SECTS else ""}")', setup.layer,
                      0x202, 4, refuses=LINUX)  # fmt: skip


def linux_loaded_high(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux: without GRUB_LINUX_FLAG_BIG_KERNEL (loadflags bit 0) "zImage doesn't
    support 32-bit boot"."""
    setup = image.setup
    if setup is None or not setup.has_hdrs or setup.version < 0x203:
        return  # GRUB stops at the version first (bzimage-protocol)
    flags = setup.fields.get("loadflags")
    if flags is None or flags & 1:
        return
    offset, size = FIELD_OFFSETS["loadflags"]
    yield LoaderError(E.LINUX_ZIMAGE, f"loadflags {flags:#x} at {offset:#x} without LOADED_HIGH "
                      "(GRUB linux: \"error: zImage doesn't support 32-bit boot\")", setup.layer,
                      offset, size, refuses=LINUX)  # fmt: skip


def linux_init_size(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux (protocol 2.10+): reserves page_align(init_size) bytes, then reads the
    whole protected-mode part of the file into them: a smaller init_size overruns them."""
    setup = image.setup
    if setup is None or not setup.has_hdrs or setup.version < 0x20A:
        return  # before 2.10 GRUB sizes the reservation from the file (three times it)
    if setup.layer != grub_layer(image):
        return
    init_size = setup.fields.get("init_size")
    code = layer_size(image, setup.layer) - setup.pm_offset
    if init_size is None or code <= 0:
        return  # bzimage-truncated
    reserved = -(-max(init_size, 1) // PAGE) * PAGE
    if reserved < code:
        offset, size = FIELD_OFFSETS["init_size"]
        yield LoaderError(E.LINUX_INIT_SIZE, f"init_size {init_size:#x} ({reserved:#x} bytes "
                          f"reserved) is smaller than the {code:#x} bytes of protected-mode code "
                          "GRUB reads into it (GRUB crashes)", setup.layer, offset, size,
                          refuses=LINUX)  # fmt: skip


# --- the ELF's machine and the Linux header: causes GRUB shares with QEMU and Xen


def _elf_machine(image: Image) -> Iterator[LoaderError]:
    """multiboot_elfxx.c (`multiboot`, `multiboot2`, ELF path): grub_multiboot_load_elf
    refuses a big-endian ELF (arch-independent magic) and grub_multiboot_load_elfXX one
    whose e_machine is not x86 (arch-dependent magic)."""
    cause = unsupported_machine(image)
    if cause is not None:
        code = GrubError.ELF_BIG_ENDIAN if elf_big_endian(image) else GrubError.ELF_NOT_X86
        yield from cause.error(code, Loader.GRUB)


def mb1_elf_machine(image: Image) -> Iterator[LoaderError]:
    yield from narrowed(_elf_machine(image), MB1.target)


def mb2_elf_machine(image: Image) -> Iterator[LoaderError]:
    yield from narrowed(_elf_machine(image), MB2.target)


def linux_setup_sects(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux (loader/i386/linux.c): lh.setup_sects > GRUB_LINUX_MAX_SETUP_SECTS."""
    setup = image.setup
    if setup is not None and setup.setup_sects > GRUB_MAX_SETUP_SECTS:
        offset, size = FIELD_OFFSETS["setup_sects"]
        yield LoaderError(GrubError.LINUX_TOO_MANY_SETUP_SECTS,
                          f"setup_sects {setup.setup_sects} at {offset:#x} is over "
                          f'{GRUB_MAX_SETUP_SECTS} (GRUB linux: "error: too many setup '
                          'sectors.")', setup.layer, offset, size, refuses=LINUX)  # fmt: skip


def linux_version(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux: a protocol version below 2.03."""
    cause = bzimage_protocol_too_old(image)
    if cause is not None:
        yield from cause.error(GrubError.LINUX_VERSION_TOO_OLD, Loader.GRUB)


def linux_truncated(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux reading the setup sectors and the kernel: a file cut before its
    protected-mode code; read through a whole-file gzip or xz filter, the seek to it fails."""
    cause = bzimage_truncated(image)
    if cause is not None:
        yield from cause.error(GrubError.LINUX_PREMATURE_END, Loader.GRUB)
        return
    setup = image.setup
    if setup is None or setup.layer == boot_layer(image) or setup.layer != grub_layer(image):
        return
    size = layer_size(image, setup.layer)
    if size < setup.pm_offset:
        yield LoaderError(GrubError.LINUX_FILTER_SEEK,
                          f"the bzImage inside the {image.format} file ends at {size:#x}, before "
                          f"its protected-mode code at {setup.pm_offset:#x} (GRUB linux: \"error: "
                          'attempt to seek outside of the file.")', setup.layer, 0x1F1, 1,
                          refuses=LINUX)  # fmt: skip


# In GRUB's order, per command (the walk keeps the commands apart by target): multiboot,
# multiboot2, linux.
CHECKS: tuple[Check, ...] = (
    mb1_search_read,  # grub_multiboot_load: read 8 KiB (through gzio, that can fail)
    mb1_find_header,  # grub_multiboot_load: find_header in what it read
    mb1_flags,  # grub_multiboot_load: UNSUPPORTED_FLAGS
    mb1_aout_fields_past_buffer,  # load_kernel reads the address fields from the buffer
    mb1_aout,  # load_kernel: the a.out kludge's chunk, seek, read, bss memset
    mb1_elf_machine,  # grub_multiboot_load_elf: EI_DATA; grub_multiboot_load_elfXX: e_machine
    mb1_elf_start,  # load_kernel -> grub_multiboot_load_elf: magic, class, machine, e_type
    mb1_elf_shnum,  # multiboot_elfxx.c: grub_elfXX_get_shnum (2.12)
    mb1_elf_load,  # multiboot_elfxx.c: program headers, segments, entry, sections
    mb1_video_fields_past_buffer,  # grub_multiboot_load reads mode_type from the buffer
    mb1_video_mode,  # grub_multiboot_load: mode_type
    mb2_search_read,  # grub_multiboot2_load: read 32 KiB (through gzio, that can fail)
    mb2_find_header,  # grub_multiboot2_load: find_header (architecture 0)
    mb2_tags,  # grub_multiboot2_load: the tag loop
    mb2_address_without_entry,  # grub_multiboot2_load: address tag needs an entry tag
    mb2_elf_machine,  # grub_multiboot2_load_elf: EI_DATA, e_machine
    mb2_elf_start,  # grub_multiboot2_load_elf: magic, class, machine, e_type
    mb2_elf_shnum,  # multiboot_elfxx.c: grub_elfXX_get_shnum (2.12)
    mb2_elf_load,  # multiboot_elfxx.c: program headers, relocatable, segments, entry, sections
    linux_boot_flag,  # grub_cmd_linux: boot_flag
    linux_setup_sects,  # grub_cmd_linux: setup_sects > 64
    linux_no_hdrs,  # grub_cmd_linux: no "HdrS"
    linux_version,  # grub_cmd_linux: a version below 2.03
    linux_loaded_high,  # grub_cmd_linux: loadflags
    linux_truncated,  # grub_cmd_linux: reading the setup sectors and the kernel
    linux_init_size,  # grub_cmd_linux: the protected-mode read into init_size's reservation
)


def run(image: Image) -> Outcome:
    return walk(image, Loader.GRUB, CHECKS)
