"""GRUB 2.06/2.12: the layer it reads (through its gzip, xz and lzop filters), its Multiboot 1
and 2 scans, and its ELF path (grub-core/loader/multiboot_elfxx.c, shared by `multiboot`, 8 KiB
window, and `multiboot2`, 32 KiB window), checked against real GRUB (i386-pc, booted in QEMU by
tests/loaders/grub_boot.py) on the fixtures in tests/test_rules_boot.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..bzimage import FIELD_OFFSETS
from ..model import (
    EM_386,
    EM_X86_64,
    PT_LOAD,
    ElfInfo,
    Image,
    MultibootHeader,
    ProblemCode,
    Segment,
)
from ..multiboot import MULTIBOOT, Mb1Flag, Mb2Tag
from ..profiles import Loader
from .common import (  # conv-qemu
    boot_layer,
    bzimage_protocol_too_old,
    bzimage_truncated,
    elf_big_endian,
    first_header,
    layer_size,
    unsupported_machine,  # conv-qemu
)
from .outcome import Check, ErrorCode, LoaderError, Outcome, walk

GRUB_LINUX_MAX_SETUP_SECTS = 64  # include/grub/i386/linux.h

GRUB_FILTERS = ("gzip", "xz", "lzo")  # whole-file streams GRUB reads through (gzip first)


def grub_layer(image: Image) -> int:
    """GRUB opens files through its gzip, xz and lzop filters (gzio, xzio, lzopio)."""
    if image.format in GRUB_FILTERS and len(image.layers) > 1:
        return 1
    return boot_layer(image)


def grub_scan_limit(image: Image, version: int) -> int:
    """The last offset GRUB's multiboot scan tries in the layer it reads: it reads the
    first 8 KiB (MB1) or 32 KiB (MB2) and stops 12 or 16 bytes before the end of that."""
    return MULTIBOOT[version].scan_limit(layer_size(image, grub_layer(image)))


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
NOT_ELF = "invalid arch-dependent ELF magic"  # byte 4 neither 1 nor 2; see not_elf_text
CRASH = "crash"  # no message: GRUB overwrote its own memory


@dataclass(frozen=True)
class GrubElfError:
    """The first error GRUB's ELF path stops at: its text, and where in `layer` it comes from."""

    text: str
    explain: str
    layer: int
    offset: int | None
    length: int | None = None


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


def grub_elf_error(
    image: Image, header: MultibootHeader, window: int, *, mbi2: bool = False
) -> GrubElfError | None:
    """The error GRUB's ELF loader stops at for the layer holding `header`, or None when it
    loads. A big-endian or non-x86 ELF is left out (elf-unsupported-machine reports it)."""
    layer = header.layer
    elf = elf_of_layer(image, layer)
    if elf is None:
        return GrubElfError(
            NOT_ELF,
            "the file is not an ELF, and without flag bit 16 (the a.out kludge) GRUB loads "
            "only ELF files",
            layer,
            0,
            4,
        )
    if is_big_endian(image, elf) or not x86_machine(elf):
        return None
    checks = (_class_machine, _file_type, _phdr_window, _crosses_4g, _relocatable,
              _segments, _entry, _sections)  # fmt: skip
    for check in checks:
        found = check(image, elf, header, window, mbi2)
        if found is not None:
            return found
    return None


def _class_machine(image: Image, elf: ElfInfo, *_: object) -> GrubElfError | None:
    # grub_multiboot_is_elf32/64 test EI_CLASS for exactly 1 or 2 (libelf and QEMU read any
    # other value as ELF32, GRUB refuses it).
    if elf.ei_class not in (1, 2):
        return GrubElfError(NOT_ELF, f"EI_CLASS {elf.ei_class} is neither ELFCLASS32 (1) nor "
                            "ELFCLASS64 (2)", elf.layer, 4, 1)  # fmt: skip
    want = EM_386 if elf.elf_class == 32 else EM_X86_64
    if elf.machine == want:
        return None
    other = "EM_386 (3)" if want == EM_386 else "EM_X86_64 (62)"
    return GrubElfError(
        "invalid arch-dependent ELF magic",
        f"ELF{elf.elf_class} with e_machine {elf.machine}: GRUB takes ELF32 only with "
        f"EM_386 and ELF64 only with EM_X86_64, so ELF{elf.elf_class} needs {other}",
        elf.layer,
        18,
        2,
    )


def _file_type(image: Image, elf: ElfInfo, *_: object) -> GrubElfError | None:
    if elf.type in (ET_EXEC, ET_DYN):
        return None
    return GrubElfError(
        "this ELF file is not of the right type",
        f"e_type {elf.type}: GRUB loads only ET_EXEC (2) and ET_DYN (3)",
        elf.layer,
        16,
        2,
    )


def _phdr_window(
    image: Image, elf: ElfInfo, header: MultibootHeader, window: int, mbi2: bool
) -> GrubElfError | None:
    end = elf.phoff + elf.phnum * elf.phentsize  # e_phnum, however many could be read
    if end <= window:
        return None
    return GrubElfError(
        "program header at a too high offset",
        f"the program headers end at {end:#x}, but GRUB takes them from the {window // 1024} "
        "KiB it read to find the Multiboot header",
        elf.layer,
        32 if elf.elf_class == 64 else 28,
        8 if elf.elf_class == 64 else 4,
    )


def _loads(elf: ElfInfo) -> list:  # type: ignore[type-arg]
    return [seg for seg in elf.segments if seg.type == PT_LOAD]


def _crosses_4g(image: Image, elf: ElfInfo, *_: object) -> GrubElfError | None:
    if elf.elf_class != 64:
        return None
    for seg in _loads(elf):
        if seg.paddr + seg.memsz >= 1 << 32:
            return GrubElfError(
                "segment crosses 4 GiB border",
                f"PT_LOAD {seg.index} ends at physical {seg.paddr + seg.memsz:#x}; GRUB loads "
                "an ELF64 only below 4 GiB",
                elf.layer,
                elf.phdr_offset(seg.index),
            )
    return None


def _relocatable(
    image: Image, elf: ElfInfo, header: MultibootHeader, window: int, mbi2: bool
) -> GrubElfError | None:
    tags = [tag for tag in header.tags if tag.type == Mb2Tag.RELOCATABLE] if mbi2 else []
    loads = _loads(elf)
    if not tags or not loads:
        return None
    fields = tags[-1].fields  # GRUB keeps the last relocatable tag
    low = min(seg.paddr for seg in loads)
    size = (max(seg.paddr + seg.memsz for seg in loads) - low) & U32
    min_addr, max_addr = int(fields.get("min_addr", 0)), int(fields.get("max_addr", 0))
    if size > max_addr or min_addr > max_addr - size:
        return GrubElfError(
            "invalid min/max address and/or load size",
            f"the relocatable tag allows [{min_addr:#x}, {max_addr:#x}] but the image "
            f"needs {size:#x} bytes",
            header.layer,
            tags[-1].offset,
            tags[-1].size,
        )
    return None


def _segments(
    image: Image, elf: ElfInfo, header: MultibootHeader, window: int, mbi2: bool
) -> GrubElfError | None:
    """multiboot_elfxx.c's load loop, per PT_LOAD: allocate p_memsz bytes at p_paddr (one
    chunk for all with a multiboot2 relocatable tag), seek, read p_filesz bytes into it."""
    size = layer_size(image, elf.layer)
    relocatable = mbi2 and any(tag.type == Mb2Tag.RELOCATABLE for tag in header.tags)
    chunks: list[Segment] = []  # grub_relocator_alloc_chunk_addr's, in load order
    for seg in _loads(elf):
        where = elf.phdr_offset(seg.index)
        if elf.elf_class == 32 and seg.paddr + seg.memsz > U32:
            return GrubElfError(
                "address is out of range",
                f"PT_LOAD {seg.index} at physical {seg.paddr:#x} with p_memsz {seg.memsz:#x} "
                "runs past 4 GiB: GRUB's memory allocator refuses it",
                elf.layer,
                where,
            )
        if not relocatable:
            other = next((o for o in chunks if o.paddr <= seg.paddr < o.paddr + o.memsz
                          or seg.paddr <= o.paddr < seg.paddr + seg.memsz), None)  # fmt: skip
            if other is not None:
                return GrubElfError(
                    "overlap detected",
                    f"PT_LOAD {seg.index} at physical [{seg.paddr:#x}, "
                    f"{seg.paddr + seg.memsz:#x}) overlaps PT_LOAD {other.index}: GRUB's "
                    "relocator refuses a second chunk over the first (relocator.c)",
                    elf.layer,
                    where,
                )
            chunks.append(seg)
        if seg.filesz and seg.offset > size:
            return GrubElfError(
                "attempt to seek outside of the file",
                f"PT_LOAD {seg.index} starts at file offset {seg.offset:#x}, past the end of "
                f"the file ({size:#x})",
                elf.layer,
                where,
            )
        if seg.filesz and seg.offset + seg.filesz > size:
            return GrubElfError(
                "premature end of file <kernel path>",
                f"PT_LOAD {seg.index} needs file bytes up to {seg.offset + seg.filesz:#x}, "
                f"but the file ends at {size:#x}",
                elf.layer,
                where,
            )
        if seg.filesz > seg.memsz and not relocatable:
            return GrubElfError(
                CRASH,
                f"PT_LOAD {seg.index} has p_filesz {seg.filesz:#x} > p_memsz {seg.memsz:#x}: "
                "GRUB reads p_filesz bytes into the p_memsz bytes it allocated at p_paddr and "
                "overruns them",
                elf.layer,
                where,
            )
    return None


def _entry(image: Image, elf: ElfInfo, *_: object) -> GrubElfError | None:
    mask = U32 if elf.elf_class == 32 else (1 << 64) - 1
    # GRUB walks every program header, whatever its type, by virtual address.
    for seg in elf.segments:
        if seg.vaddr <= elf.entry < (seg.vaddr + seg.memsz) & mask:
            physical = (elf.entry - seg.vaddr + seg.paddr) & mask
            if elf.elf_class == 64 and physical > U32:
                return GrubElfError(
                    "invalid entry point for ELF64",
                    f"e_entry {elf.entry:#x} is physical {physical:#x} (through program "
                    f"header {seg.index}); GRUB starts the kernel in 32-bit mode, below 4 GiB",
                    elf.layer,
                    24,
                    8,
                )
            return None
    return GrubElfError(
        "entry point isn't in a segment",
        f"e_entry {elf.entry:#x} lies in no program header's [p_vaddr, p_vaddr + p_memsz)",
        elf.layer,
        24,
        elf.elf_class // 8,
    )


def _sections(
    image: Image, elf: ElfInfo, header: MultibootHeader, window: int, mbi2: bool
) -> GrubElfError | None:
    """After the segments and the entry, GRUB reads the section header table (seek to
    e_shoff, read e_shnum * e_shentsize bytes) and, in index order, refuses a relocation
    section (multiboot2 only) and loads every section with sh_addr 0 and a size (seek to
    sh_offset, read sh_size). A seek past the end of the file is "attempt to seek outside of
    the file", a short read "premature end of file"."""
    if not elf.shnum:
        return None
    size = layer_size(image, elf.layer)
    table = (elf.shoff, elf.shnum * elf.shentsize)
    found = _file_range(elf, "the section header table", *table, size, 32 if elf.elf_class
                        == 64 else 28)  # fmt: skip
    if found is not None or elf.sections is None:
        return found
    for sec in elf.sections:
        where = elf.shoff + sec.index * elf.shentsize
        if mbi2 and sec.type in (SHT_REL, SHT_RELA) and sec.index:
            kind = "SHT_RELA" if sec.type == SHT_RELA else "SHT_REL"
            return GrubElfError(
                "ELF files with relocs are not supported yet",
                f"section {sec.name or sec.index} is {kind}; GRUB's multiboot2 loader refuses "
                "any relocation section",
                elf.layer,
                where,
            )
        if sec.addr == 0 and sec.size:
            name = f"section {sec.name or sec.index} (sh_addr 0, so GRUB loads it)"
            found = _file_range(elf, name, sec.offset, sec.size, size, where)
            if found is not None:
                return found
    return None


def _file_range(
    elf: ElfInfo, what: str, offset: int, length: int, size: int, where: int
) -> GrubElfError | None:
    """grub_file_seek then grub_file_read of [offset, offset + length) of a `size`-byte file."""
    if offset > size:
        return GrubElfError("attempt to seek outside of the file", f"{what} starts at file "
                            f"offset {offset:#x}, past the end of the file ({size:#x})",
                            elf.layer, where)  # fmt: skip
    if offset + length > size:
        return GrubElfError("premature end of file <kernel path>", f"{what} needs file bytes "
                            f"up to {offset + length:#x}, but the file ends at {size:#x}",
                            elf.layer, where)  # fmt: skip
    return None


def grub_text(text: str) -> str:
    """GRUB prints its errors as `error: <msg>.`."""
    if text == CRASH:
        return "GRUB crashes"
    return f'GRUB: "error: {text}."'


SHN_LORESERVE = 0xFF00


def grub_shnum_error(image: Image, header: MultibootHeader) -> GrubElfError | None:
    """GRUB 2.12's grub_elfXX_get_shnum (kern/elfXX.c), which multiboot_elfxx.c calls right
    after the e_type check: e_shnum 0 means "the count is in section 0's sh_size", so an
    ELF without section headers (e_shoff 0) is refused; a count of SHN_LORESERVE or more in
    e_shnum too. Added by grub.git 27a14a8ae ("elf: Validate number of elf section header
    table entries", in 2.12); GRUB 2.06 reads e_shnum as it is. None when GRUB stops earlier
    (not an ELF, wrong class, machine or type: grub_elf_error reports those) or passes."""
    elf = elf_of_layer(image, header.layer)
    if elf is None or is_big_endian(image, elf) or not x86_machine(elf):
        return None
    if _class_machine(image, elf) is not None or _file_type(image, elf) is not None:
        return None
    where = 48 if elf.elf_class == 32 else 60  # e_shnum
    if elf.shnum == 0 and elf.shoff == 0:
        return GrubElfError(
            "invalid section header table offset in e_shoff",
            "e_shnum 0 and e_shoff 0 (no section header table): GRUB 2.12 then looks for "
            "the count in section 0's sh_size and refuses the missing table",
            elf.layer, where, 2,
        )  # fmt: skip
    if elf.shnum == 0:
        # GRUB reads sh_size of the header at e_shoff and wants >= SHN_LORESERVE: a kernel
        # never has 65280 sections, so e_shnum 0 with a table is refused as well.
        return GrubElfError(
            "invalid number of section header table entries in sh_size",
            "e_shnum 0 with e_shoff set: GRUB 2.12 takes the count from section 0's "
            "sh_size, which must then be 0xff00 or more",
            elf.layer, where, 2,
        )  # fmt: skip
    if elf.shnum >= SHN_LORESERVE:
        return GrubElfError(
            f"invalid number of section header table entries in e_shnum: {elf.shnum}",
            f"e_shnum {elf.shnum:#x} is SHN_LORESERVE (0xff00) or more, which GRUB 2.12 "
            "refuses in e_shnum",
            elf.layer, where, 2,
        )  # fmt: skip
    return None


class GrubError(ErrorCode):
    """GRUB's messages (it prints `error: <message>.`), or how it dies."""

    # --- conv-qemu: the elf-unsupported-machine and bzimage-* codes
    ELF_BIG_ENDIAN = "invalid arch-independent ELF magic"
    ELF_NOT_X86 = "invalid arch-dependent ELF magic"
    LINUX_TOO_MANY_SETUP_SECTS = "too many setup sectors"
    LINUX_VERSION_TOO_OLD = "version too old for 32-bit boot"
    LINUX_PREMATURE_END = "premature end of file"  # "... %s", the path
    LINUX_FILTER_SEEK = "attempt to seek outside of the file"
    # --- end conv-qemu


# --- conv-qemu: checks of elf-unsupported-machine and the bzimage rules


def elf_machine(image: Image) -> Iterator[LoaderError]:
    """multiboot_elfxx.c (`multiboot`, `multiboot2`, ELF path): grub_multiboot_load_elf
    refuses a big-endian ELF (arch-independent magic) and grub_multiboot_load_elfXX one
    whose e_machine is not x86 (arch-dependent magic)."""
    cause = unsupported_machine(image)
    if cause is not None:
        code = GrubError.ELF_BIG_ENDIAN if elf_big_endian(image) else GrubError.ELF_NOT_X86
        yield from cause.error(code, Loader.GRUB)


def linux_setup_sects(image: Image) -> Iterator[LoaderError]:
    """grub_cmd_linux (loader/i386/linux.c): lh.setup_sects > GRUB_LINUX_MAX_SETUP_SECTS."""
    setup = image.setup
    if setup is not None and setup.setup_sects > GRUB_LINUX_MAX_SETUP_SECTS:
        offset, size = FIELD_OFFSETS["setup_sects"]
        yield LoaderError(GrubError.LINUX_TOO_MANY_SETUP_SECTS,
                          f"setup_sects {setup.setup_sects} at {offset:#x} is over "
                          f'{GRUB_LINUX_MAX_SETUP_SECTS} (GRUB linux: "error: too many setup '
                          'sectors.")', setup.layer, offset, size, refuses=("linux",))  # fmt: skip


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
                          refuses=("linux",))  # fmt: skip


CONV_QEMU_ELF_CHECKS: tuple[Check, ...] = (elf_machine,)  # multiboot_elfxx.c, first
CONV_QEMU_LINUX_CHECKS: tuple[Check, ...] = (  # grub_cmd_linux's order
    linux_setup_sects,
    linux_version,
    linux_truncated,
)
# --- end conv-qemu


CHECKS: tuple[Check, ...] = (
    *CONV_QEMU_ELF_CHECKS,  # conv-qemu
    *CONV_QEMU_LINUX_CHECKS,  # conv-qemu
)


def run(image: Image) -> Outcome:
    return walk(image, Loader.GRUB, CHECKS)
