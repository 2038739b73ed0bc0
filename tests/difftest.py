"""Differential testing: structured mutants of the fixtures (and Debian's images), each run
through the real loaders and through pvhlint, verdicts compared per boot target.

A mutant is a ``Recipe``: a parent image name plus a few ``Edit``s (an integer field set at a
file offset, bytes spliced in, the bzImage payload recompressed with another codec, a cut, a
whole-file wrapper). Recipes are generated from a seed (``generate``) and rebuild the same bytes
every time (``Recipe.build``), so a mismatch is kept as a recipe, never as a binary blob
(tests/difftest_cases.py). Where the mutation points are is read by this module's own small
parsers (``Layout``), not by pvhlint, which is the code under test.

What is compared with what (per target; see tests/verdict_table.py for the fixture table):

* qemu, xen-pvh, xen-pv: exactly as tests/verdict_table.py (QEMU 7.2 ``-kernel``, Debian 12's
  libxenguest 4.17 probe); a QEMU that neither fails nor answers in 10 s is a reject ("hang").
* multiboot1, multiboot2, linux: grub-file (GRUB 2.06) first. Its "no" is the answer (GRUB's
  loader scans exactly as grub-file). Its "yes" only says a header is there: a mutant is not a
  fixture that passes GRUB's loader checks by construction, so GRUB's own ``multiboot``,
  ``multiboot2`` or ``linux`` command is then booted in QEMU (tests/loaders/grub_boot.py) and
  its answer is the real verdict.
* rust-vmm: exactly as tests/verdict_table.py (linux-loader 0.14's ``Elf::load`` as Cloud
  Hypervisor calls it; accept = loaded with a PVH entry), the same probe for both releases.
* pvhlint: ``check_image(open_image(path, lenient=True), Options(loaders=Profile.DEBIAN12))``
  (the real loaders asked are Debian 12's); an ImageError (or any
  exception) is "no verdict", a mismatch wherever the loader decided.

A mismatch's class is (target, pvhlint's word, the real word, the real message with numbers
and the file name normalised). ``minimise`` drops edits one at a time while the same class
persists.

    python -m tests.difftest --minutes 30 [--seed S] [--no-debian] [--out FILE]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import json
import lzma
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from pvhlint.checker import Options, check_image
from pvhlint.errors import ImageError
from pvhlint.image import open_image
from pvhlint.profiles import Profile
from tests import verdict_table as vt
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict
from tests.loaders.releases import Release

M32 = 0xFFFFFFFF
BINLOADER_MAGIC = 0x336EC578  # xg_dom_binloader.c XEN_MULTIBOOT_MAGIC3
BINLOADER_SCAN = 8192  # find_table: 4-aligned, in the first 8 KiB
MB1_MAGIC, MB2_MAGIC = 0x1BADB002, 0xE85250D6
MB1_SCAN, MB2_SCAN = 8192, 32768
GRUB_COMMANDS = {"multiboot1": "multiboot", "multiboot2": "multiboot2", "linux": "linux"}
QEMU_PATIENCE = 60.0  # seconds for QEMU's second try (see _ask_twice)
GRUB_BOOT_SECONDS = 15.0  # a GRUB boot takes ~0.5 s (a few s on a loaded machine)
CODEC_SWAP_LIMIT = 1 << 20  # recompress payloads up to this size only (Debian's are ~8 MiB)


# --- recipes ------------------------------------------------------------------------------------


class EditKind(StrEnum):
    FIELD = "field"  # little-endian integer of `width` bytes at `offset`
    BYTES = "bytes"  # `data` written at `offset`
    CODEC = "codec"  # a bzImage payload recompressed with `codec` ("raw": not compressed)
    TRUNCATE = "truncate"  # the file cut to `offset` bytes
    WRAP = "wrap"  # the whole file compressed with `codec` (gzip, xz, bzip2)


# Applied in this order whatever the recipe's order, so any subset of edits still builds.
_ORDER = (EditKind.FIELD, EditKind.BYTES, EditKind.CODEC, EditKind.TRUNCATE, EditKind.WRAP)


@dataclass(frozen=True)
class Edit:
    kind: EditKind
    label: str  # what was changed, e.g. "phdr[1].p_align", "setup.version"
    offset: int = 0
    width: int = 0
    value: int = 0
    data: bytes = b""
    codec: str = ""

    def __str__(self) -> str:
        if self.kind is EditKind.FIELD:
            return f"{self.label}@{self.offset:#x}={self.value:#x}"
        if self.kind is EditKind.BYTES:
            return f"{self.label}@{self.offset:#x}={self.data.hex()}"
        if self.kind is EditKind.TRUNCATE:
            return f"{self.label}: cut to {self.offset:#x}"
        return f"{self.label}: {self.codec}"

    def code(self) -> str:
        """The constructor call that recreates this edit (for the registry file)."""
        if self.kind is EditKind.FIELD:
            return f"set_field({self.label!r}, {self.offset:#x}, {self.width}, {self.value:#x})"
        if self.kind is EditKind.BYTES:
            return f"splice({self.label!r}, {self.offset:#x}, bytes.fromhex({self.data.hex()!r}))"
        if self.kind is EditKind.TRUNCATE:
            return f"truncate({self.label!r}, {self.offset:#x})"
        if self.kind is EditKind.CODEC:
            return f"recompress({self.codec!r})"
        return f"wrap({self.codec!r})"


def set_field(label: str, offset: int, width: int, value: int) -> Edit:
    return Edit(EditKind.FIELD, label, offset, width, value % (1 << (8 * width)))


def splice(label: str, offset: int, data: bytes) -> Edit:
    return Edit(EditKind.BYTES, label, offset, data=data)


def recompress(codec: str) -> Edit:
    return Edit(EditKind.CODEC, "payload.codec", codec=codec)


def truncate(label: str, length: int) -> Edit:
    return Edit(EditKind.TRUNCATE, label, length)


def wrap(codec: str) -> Edit:
    return Edit(EditKind.WRAP, "file.wrapper", codec=codec)


@dataclass(frozen=True)
class Recipe:
    parent: str
    edits: tuple[Edit, ...]

    def build(self) -> bytes:
        return apply_edits(parent_bytes(self.parent), self.edits)

    def without(self, index: int) -> Recipe:
        return Recipe(self.parent, self.edits[:index] + self.edits[index + 1 :])

    def __str__(self) -> str:
        return f"{self.parent} + [{'; '.join(map(str, self.edits)) or 'no edit'}]"

    def code(self) -> str:
        edits = ", ".join(edit.code() for edit in self.edits)
        return f"Recipe({self.parent!r}, ({edits}{',' if len(self.edits) == 1 else ''}))"


def apply_edits(data: bytes, edits: Iterable[Edit]) -> bytes:
    ordered = sorted(edits, key=lambda edit: _ORDER.index(edit.kind))
    buf = bytearray(data)
    for edit in ordered:
        if edit.kind is EditKind.FIELD and edit.offset + edit.width <= len(buf):
            buf[edit.offset : edit.offset + edit.width] = edit.value.to_bytes(edit.width, "little")
        elif edit.kind is EditKind.BYTES and edit.offset + len(edit.data) <= len(buf):
            buf[edit.offset : edit.offset + len(edit.data)] = edit.data
        elif edit.kind is EditKind.CODEC:
            buf = bytearray(swap_payload_codec(bytes(buf), edit.codec) or buf)
        elif edit.kind is EditKind.TRUNCATE:
            del buf[edit.offset :]
        elif edit.kind is EditKind.WRAP:
            buf = bytearray(WRAPPERS[edit.codec](bytes(buf)))
    return bytes(buf)


WRAPPERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, 9, mtime=0),
    "xz": lambda data: lzma.compress(data, lzma.FORMAT_XZ, check=lzma.CHECK_CRC32),
    "bzip2": bz2.compress,
}


# --- parents ------------------------------------------------------------------------------------


def binloader_table(
    flags: int, header_addr: int, load_addr: int, load_end: int, bss_end: int, entry: int
) -> bytes:
    """xg_dom_binloader.c's xen_bin_image_table with a correct checksum."""
    checksum = -(BINLOADER_MAGIC + flags) & M32
    return struct.pack(
        "<8I", BINLOADER_MAGIC, flags, checksum, header_addr, load_addr, load_end, bss_end, entry
    )


def binloader_image(
    table_at: int = 0x100,
    flags: int = 0x10000,
    size: int = 0x3000,
    load_addr: int = 0x100000,
    load_end: int = 0,
    bss_end: int = 0,
) -> bytes:
    """A flat image (stub code at +0x200) with the binary loader's table at `table_at`."""
    body = bytearray(size)
    body[0x200:0x204] = b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp .-1
    table = binloader_table(
        flags, load_addr + table_at, load_addr, load_end, bss_end, load_addr + 0x200
    )
    body[table_at : table_at + len(table)] = table
    return bytes(body)


BINLOADER_PARENTS: dict[str, Callable[[], bytes]] = {
    "bin/flat": binloader_image,
    "bin/flat-bss-pae3": lambda: binloader_image(
        flags=0x1C000, load_end=0x103000, bss_end=0x105000
    ),
    "bin/flat-pae2-align": lambda: binloader_image(flags=0x18001),
    "bin/flat-table-8188": lambda: binloader_image(table_at=8188, size=0x4000),
    "bin/flat-table-8192": lambda: binloader_image(table_at=8192, size=0x4000),
    "bin/flat-small": lambda: binloader_image(table_at=0, size=0x40),
    # PAE bits 2: xen-3.0-x86_64, the one binary-loader guest type Debian 12's Xen runs.
    "bin/flat-x86_64": lambda: binloader_image(flags=0x18000),
    "bin/flat-x86_64-bss": lambda: binloader_image(
        flags=0x18000, load_end=0x102800, bss_end=0x104000
    ),
}


@cache
def synthetic_parents() -> dict[str, bytes]:
    """name -> bytes: the verdict table's fixtures and variants, the boot-protocol variants
    (``boot/<name>``) and the binary-loader images (``bin/<name>``)."""
    from fixtures.variants_boot import BUILDERS, variant

    found = {name: data for name, (_, data) in vt.synthetic_images().items()}
    found |= {f"boot/{name}": variant(name) for name in BUILDERS}
    found |= {name: build() for name, build in BINLOADER_PARENTS.items()}
    return found


_DEBIAN_DIR: list[Path] = []


def debian_parents() -> dict[str, bytes]:
    """The real-world tier's images (fixtures.debian, fetched and cached); empty when
    unavailable. Not the UKIs: pvhlint's verdicts on a UKI are those of the kernel its stub
    boots, which the real loaders are asked about only on that kernel, cut out by objcopy
    (tests/verdict_table.py real_loaders_file); the kernel itself is a parent here."""
    from fixtures import debian

    if not _DEBIAN_DIR:
        _DEBIAN_DIR.append(Path(tempfile.mkdtemp(prefix="pvhlint-difftest-debian-")))
    found = {}
    for name in vt.DEBIAN_ROWS:
        if vt.real_loaders_file(name, _no_fetch) is not None:
            continue
        try:
            found[name] = vt.debian_path(name, debian.image, _DEBIAN_DIR[0]).read_bytes()
        except debian.FetchError:
            continue
    return found


def _no_fetch(name: str) -> Path:
    return Path(name)  # real_loaders_file only names the kernel; nothing is fetched


_PARENTS: dict[str, bytes] = {}


class ParentUnavailable(LookupError):
    """A Debian parent that cannot be fetched here."""


def parent_bytes(name: str) -> bytes:
    if name not in _PARENTS:
        if name.startswith("debian-"):
            _PARENTS.update(debian_parents())
        else:
            _PARENTS.update(synthetic_parents())
    if name not in _PARENTS:
        raise ParentUnavailable(f"{name}: not fetched (Debian's archive unreachable?)")
    return _PARENTS[name]


# --- where the structures are (this module's own parsers, not pvhlint's) ------------------------


@dataclass
class Slot:
    """An integer field of the parent: its name, where it is, how wide, its current value."""

    label: str
    offset: int
    width: int
    value: int


@dataclass
class Note:
    index: int
    offset: int
    namesz: int
    descsz: int
    type: int
    name: bytes
    desc_offset: int


@dataclass
class Layout:
    size: int
    elf_wide: bool | None = None  # None: not an ELF
    header: list[Slot] = field(default_factory=list)
    phdrs: list[dict[str, Slot]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    mb1: int | None = None
    mb2: int | None = None
    mb2_tags: list[int] = field(default_factory=list)
    binloader: int | None = None
    setup: dict[str, Slot] = field(default_factory=dict)
    payload: tuple[int, int] | None = None  # file offset, length (bzImage)
    cuts: set[int] = field(default_factory=set)


_PHDR32 = (("p_type", 0), ("p_offset", 4), ("p_vaddr", 8), ("p_paddr", 12), ("p_filesz", 16),
           ("p_memsz", 20), ("p_flags", 24), ("p_align", 28))  # fmt: skip
_PHDR64 = (("p_type", 0), ("p_flags", 4), ("p_offset", 8), ("p_vaddr", 16), ("p_paddr", 24),
           ("p_filesz", 32), ("p_memsz", 40), ("p_align", 48))  # fmt: skip
# Linux boot protocol setup header (Documentation/arch/x86/boot.rst): name -> (offset, width).
SETUP = {"setup_sects": (0x1F1, 1), "syssize": (0x1F4, 4), "boot_flag": (0x1FE, 2),
         "header": (0x202, 4), "version": (0x206, 2), "loadflags": (0x211, 1),
         "code32_start": (0x214, 4), "kernel_alignment": (0x230, 4),
         "relocatable_kernel": (0x234, 1), "xloadflags": (0x236, 2),
         "payload_offset": (0x248, 4), "payload_length": (0x24C, 4),
         "pref_address": (0x258, 8), "init_size": (0x260, 4)}  # fmt: skip


def _u(data: bytes, offset: int, width: int) -> int:
    return int.from_bytes(data[offset : offset + width], "little")


def _slot(data: bytes, label: str, offset: int, width: int) -> Slot:
    return Slot(label, offset, width, _u(data, offset, width))


def layout(data: bytes) -> Layout:
    out = Layout(len(data), cuts={0, 1, 4, 16, len(data) - 1})
    if data[:4] == b"\x7fELF" and len(data) >= 52:
        _elf_layout(data, out)
    out.mb1 = _scan(data, MB1_MAGIC, MB1_SCAN, 4)
    out.mb2 = _scan(data, MB2_MAGIC, MB2_SCAN, 8)
    out.binloader = _scan(data, BINLOADER_MAGIC, BINLOADER_SCAN, 4)
    if out.mb2 is not None:
        _mb2_tags(data, out)
    if len(data) >= 0x264 and data[0x1FE:0x200] == b"\x55\xaa" and data[0x202:0x206] == b"HdrS":
        _bz_layout(data, out)
    for at in (out.mb1, out.mb2, out.binloader):
        if at is not None:
            out.cuts |= {at, at + 4, at + 12, at + 32}
    out.cuts = {cut for cut in out.cuts if 0 < cut < len(data)}
    return out


def _scan(data: bytes, magic: int, window: int, align: int) -> int | None:
    needle = struct.pack("<I", magic)
    at = data.find(needle, 0, window + 4)
    while at != -1 and at % align:
        at = data.find(needle, at + 1, window + 4)
    return at if at != -1 and at < window else None


def _elf_layout(data: bytes, out: Layout) -> None:
    wide = data[4] == 2
    word = 8 if wide else 4
    out.elf_wide = wide
    names = [("e_type", 16, 2), ("e_machine", 18, 2), ("e_entry", 24, word),
             ("e_phoff", 24 + word, word), ("e_shoff", 24 + 2 * word, word),
             ("e_flags", 24 + 3 * word, 4), ("e_phentsize", 30 + 3 * word, 2),
             ("e_phnum", 32 + 3 * word, 2)]  # fmt: skip
    out.header = [_slot(data, *spec) for spec in names]
    ehsize = 64 if wide else 52
    phoff, phent, phnum = out.header[3].value, out.header[6].value, out.header[7].value
    out.cuts |= {ehsize, phoff, phoff + phent * phnum}
    fields = _PHDR64 if wide else _PHDR32
    for i in range(min(phnum, 32)):
        base = phoff + i * phent
        if phent < (56 if wide else 32) or base + phent > len(data):
            break
        row = {
            name: _slot(
                data, f"phdr[{i}].{name}", base + at, 4 if name in ("p_type", "p_flags") else word
            )
            for name, at in fields
        }
        out.phdrs.append(row)
        start, size = row["p_offset"].value, row["p_filesz"].value
        out.cuts |= {base, start, start + size, start + size // 2}
        if row["p_type"].value == 4:
            _notes(data, start, size, out)


def _notes(data: bytes, start: int, size: int, out: Layout) -> None:
    at, end = start, min(start + size, len(data))
    while at + 12 <= end:
        namesz, descsz, kind = struct.unpack_from("<III", data, at)
        name_end = at + 12 + (namesz + 3) // 4 * 4
        desc_end = name_end + (descsz + 3) // 4 * 4
        out.notes.append(
            Note(
                len(out.notes), at, namesz, descsz, kind, data[at + 12 : at + 12 + namesz], name_end
            )
        )
        out.cuts |= {at, at + 12, name_end, name_end + descsz // 2}
        if desc_end <= at or desc_end > end:
            break
        at = desc_end


def _mb2_tags(data: bytes, out: Layout) -> None:
    assert out.mb2 is not None
    length = _u(data, out.mb2 + 8, 4)
    at, end = out.mb2 + 16, min(out.mb2 + length, len(data))
    while at + 8 <= end and len(out.mb2_tags) < 16:
        out.mb2_tags.append(at)
        size = _u(data, at + 4, 4)
        if size < 8:
            break
        at += (size + 7) // 8 * 8


def _bz_layout(data: bytes, out: Layout) -> None:
    out.setup = {name: _slot(data, f"setup.{name}", *spec) for name, spec in SETUP.items()}
    sects = out.setup["setup_sects"].value or 4
    pm_start = (sects + 1) * 512
    start = pm_start + out.setup["payload_offset"].value
    length = out.setup["payload_length"].value
    if start + length <= len(data) and length > 4:
        out.payload = (start, length)
        out.cuts |= {pm_start, start, start + 4, start + length // 2, start + length - 4,
                     start + length}  # fmt: skip
    out.cuts |= {0x1F1, 0x202, 0x206, 0x208, 0x264, pm_start}


# --- the bzImage payload codec swap -------------------------------------------------------------

_MAGICS = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "lzma": b"\x5d\x00", "xz": b"\xfd7zXZ\x00",
           "lzo": b"\x89LZO\x00\r\n\x1a\n", "lz4": b"\x02\x21\x4c\x18",
           "zstd": b"\x28\xb5\x2f\xfd"}  # fmt: skip
_DECODERS = {"gzip": ["gzip", "-dc"], "bzip2": ["bzip2", "-dc"], "lzma": ["lzma", "-dc"],
             "xz": ["xz", "-dc"], "lzo": ["lzop", "-dc"], "lz4": ["lz4", "-dc"],
             "zstd": ["zstd", "-dc"]}  # fmt: skip
SWAP_CODECS = (*_MAGICS, "raw")


@cache
def _decoded_payload(data: bytes) -> tuple[int, int, bytes] | None:
    """(offset, length, decompressed) of a bzImage's payload, decoded with the codec's own CLI
    (the stream without the 4-byte size trailer; gzip's ISIZE is its trailer)."""
    found = layout(data).payload
    if found is None or found[1] > CODEC_SWAP_LIMIT:
        return None
    start, length = found
    payload = data[start : start + length]
    codec = next((name for name, magic in _MAGICS.items() if payload.startswith(magic)), None)
    if codec is None:
        return None
    stream = payload if codec == "gzip" else payload[:-4]
    proc = subprocess.run(_DECODERS[codec], input=stream, capture_output=True, check=False)
    if proc.returncode != 0 or not proc.stdout:
        return None
    return start, length, proc.stdout


def swap_payload_codec(data: bytes, codec: str) -> bytes | None:
    """The bzImage with its payload recompressed as the kernel build would (stream + size
    trailer; "raw": the bytes themselves + trailer), payload_length, syssize and
    kernel_info_offset moved with it. None when the payload cannot be decoded."""
    from fixtures.bzimage import crc32_no_final_xor
    from fixtures.compressors import kernel_compress

    decoded = _decoded_payload(data)
    if decoded is None:
        return None
    start, length, inner = decoded
    if codec == "raw":
        payload = inner + struct.pack("<I", len(inner))
    else:
        payload = kernel_compress(codec, inner)
    grow = (len(payload) - length + 15) // 16 * 16
    payload = payload.ljust(length + grow, b"\0")
    buf = bytearray(data[:start] + payload + data[start + length :])
    struct.pack_into("<I", buf, 0x24C, len(payload))
    # syssize wraps in its u32 (a mutated syssize near 2**32 plus the growth)
    struct.pack_into("<I", buf, 0x1F4, (_u(data, 0x1F4, 4) + grow // 16) & 0xFFFFFFFF)
    pm_start = ((data[0x1F1] or 4) + 1) * 512
    kernel_info = _u(data, 0x268, 4)
    if kernel_info and pm_start + kernel_info >= start + length:
        struct.pack_into("<I", buf, 0x268, kernel_info + grow)
    end = pm_start + _u(buf, 0x1F4, 4) * 16
    if end <= len(buf):  # build.c's CRC over [0, end - 4)
        struct.pack_into("<I", buf, end - 4, crc32_no_final_xor(bytes(buf[: end - 4])))
    return bytes(buf)


# --- mutation operators -------------------------------------------------------------------------

Operator = Callable[[bytes, Layout, random.Random], list[Edit] | None]
LOW_ADDRESSES = (0, 0x1000, 0x7C00, 0x9F000, 0xA0000, 0xC0000, 0xE0000, 0xF0000, 0xFFFC0000)


def _pick_value(rng: random.Random, slot: Slot, extra: Sequence[int] = ()) -> int:
    width_max = (1 << (8 * slot.width)) - 1
    near = (slot.value - 1, slot.value + 1, slot.value * 2, slot.value // 2)
    common = (0, 1, 2, 3, 4, 8, 16, 0x1000, 0x7FFFFFFF, 0x80000000, M32, width_max)
    pool = [*extra, *near, *common, rng.getrandbits(8 * min(slot.width, 4))]
    return rng.choice(pool) & width_max


def _field(slot: Slot, value: int) -> Edit:
    return set_field(slot.label, slot.offset, slot.width, value)


def op_elf_class(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.elf_wide is None:
        return None
    return [set_field("e_ident[EI_CLASS]", 4, 1, rng.choice((0, 1, 2, 3, 4, 0x7F, 0xFF)))]


def op_elf_header(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if not lay.header:
        return None
    slot = rng.choice(lay.header)
    extra: dict[str, Sequence[int]] = {
        "e_machine": (0, 3, 6, 40, 62, 183, 0x1234),
        "e_type": (0, 1, 2, 3, 4, 0xFE00),
        "e_phoff": (0, lay.size, lay.size - 8, lay.size - 16, slot.value + 1, 1 << 32),
        "e_phnum": (0, 1, 2, 0x40, 0xFFFF),
        "e_phentsize": (0, 1, 32, 56, 64, 0xFFFF),
        "e_entry": (0, 0x100000, 0x1000000, 0xFFFFFFFF81000000 & ((1 << (8 * slot.width)) - 1)),
    }.get(slot.label, ())
    return [_field(slot, _pick_value(rng, slot, extra))]


def op_phdr(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if not lay.phdrs:
        return None
    row = rng.choice(lay.phdrs)
    slot = rng.choice(list(row.values()))
    extra: Sequence[int] = {
        "p_type": (0, 1, 2, 4, 6, 0x6474E551, 0x6474E553),
        "p_align": (0, 1, 2, 3, 4, 8, 16, 0x1000, 0x200000),
        "p_offset": (0, lay.size, lay.size - 4, slot.value + 1, slot.value + 2, slot.value + 4),
        "p_paddr": LOW_ADDRESSES,
        "p_vaddr": LOW_ADDRESSES,
        "p_filesz": (0, lay.size, row["p_memsz"].value + 1, row["p_filesz"].value + 4),
        "p_memsz": (0, row["p_filesz"].value - 1, 1 << 30, 0xFFFFFFFF),
    }.get(slot.label.split(".")[-1], ())
    return [_field(slot, _pick_value(rng, slot, extra))]


def op_segment_shape(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    """p_filesz > p_memsz, a load at a low (BIOS / option ROM) address, or two overlapping."""
    loads = [row for row in lay.phdrs if row["p_type"].value == 1]
    if not loads:
        return None
    row = rng.choice(loads)
    pick = rng.randrange(3)
    if pick == 0:
        return [_field(row["p_memsz"], max(0, row["p_filesz"].value - rng.choice((1, 16, 0x100))))]
    if pick == 1:
        low = rng.choice(LOW_ADDRESSES)
        return [_field(row["p_paddr"], low), _field(row["p_vaddr"], low)]
    other = rng.choice(loads)
    return [_field(row["p_paddr"], other["p_paddr"].value + rng.choice((0, 0x10, 0x80)))]


def op_note(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if not lay.notes:
        return None
    note = rng.choice(lay.notes)
    tag = f"note[{note.index}]"
    pick = rng.randrange(5)
    if pick == 0:
        value = rng.choice((0, 1, 3, 4, 5, 8, 0x100, M32))
        return [set_field(f"{tag}.namesz", note.offset, 4, value)]
    if pick == 1:
        value = rng.choice((0, 1, 2, 3, 4, 6, 8, 16, note.descsz + 4, 0x1000, M32))
        return [set_field(f"{tag}.descsz", note.offset + 4, 4, value)]
    if pick == 2:
        value = rng.choice((*range(21), 0x100, 0x80000000, rng.getrandbits(32)))
        return [set_field(f"{tag}.type", note.offset + 8, 4, value)]
    if pick == 3 and note.namesz >= 3:
        owner = rng.choice((b"XEN", b"Xe\0", b"Xyz", b"GNU", b"Xen\x01"))[: note.namesz]
        return [splice(f"{tag}.name", note.offset + 12, owner)]
    phys32 = [n for n in lay.notes if n.type == 18 and n.name.startswith(b"Xen")]
    if not phys32:
        return None
    target = rng.choice(phys32)
    width = 8 if target.descsz >= 8 else 4
    value = rng.choice((0, 0x1000, 0x9F000, 0xA0000, 0x100000, 0x1000040, M32, 1 << 32,
                        rng.getrandbits(32)))  # fmt: skip
    return [set_field(f"note[{target.index}].PHYS32_ENTRY", target.desc_offset, width, value)]


def _checksum_fix(label: str, magic_at: int, data: bytes, flags: int, magic: int) -> Edit:
    return set_field(label, magic_at + 8, 4, -(magic + flags) & M32)


def op_mb1(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.mb1 is None:
        return None
    at = lay.mb1
    flags = _u(data, at + 4, 4)
    pick = rng.randrange(3)
    if pick == 0:
        new = rng.choice((0, 1, 2, 3, 4, 7, 8, 0x10000, 0x10003, 0x10007, 0x20000, flags ^ 4,
                          flags | 0x10000, flags & ~0x10000, rng.getrandbits(32)))  # fmt: skip
        return [
            set_field("mb1.flags", at + 4, 4, new),
            _checksum_fix("mb1.checksum(fixed)", at, data, new, MB1_MAGIC),
        ]
    if pick == 1:
        return [set_field("mb1.checksum", at + 8, 4, _u(data, at + 8, 4) + 1)]
    if not flags & 0x10000:
        return None
    names = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
    index = rng.randrange(len(names))
    slot = _slot(data, f"mb1.{names[index]}", at + 12 + 4 * index, 4)
    return [_field(slot, _pick_value(rng, slot, (0x100000, 0xFFFFF000)))]


def op_mb2(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.mb2 is None:
        return None
    at = lay.mb2
    pick = rng.randrange(4)
    if pick == 0 and lay.mb2_tags:
        tag = rng.choice(lay.mb2_tags)
        which = rng.choice((("type", 0, 2), ("flags", 2, 2), ("size", 4, 4)))
        slot = _slot(data, f"mb2.tag@{tag - at:#x}.{which[0]}", tag + which[1], which[2])
        return [_field(slot, _pick_value(rng, slot, (0, 1, 2, 3, 4, 8, 10, 12, 21, 24)))]
    if pick == 3:
        return [set_field("mb2.checksum", at + 12, 4, _u(data, at + 12, 4) + 1)]
    name, offset = (("architecture", 4), ("header_length", 8))[pick - 1] if pick else ("", 0)
    slot = _slot(data, f"mb2.{name}", at + offset, 4)
    new = _pick_value(rng, slot, (0, 4, 16, 24, slot.value + 8, slot.value - 8))
    arch = new if offset == 4 else _u(data, at + 4, 4)
    length = new if offset == 8 else _u(data, at + 8, 4)
    checksum = -(MB2_MAGIC + arch + length) & M32
    return [_field(slot, new), set_field("mb2.checksum(fixed)", at + 12, 4, checksum)]


def op_binloader(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.binloader is None:
        return None
    at = lay.binloader
    names = ("flags", "checksum", "header_addr", "load_addr", "load_end_addr", "bss_end_addr",
             "entry_addr")  # fmt: skip
    index = rng.randrange(len(names))
    slot = _slot(data, f"bin.{names[index]}", at + 4 + 4 * index, 4)
    if names[index] == "flags":
        new = rng.choice((0, 1, 2, 4, 0x10000, 0x10001, 0x10002, 0x10004, 0x14000, 0x18000,
                          0x1C000, 0x1C001, 0x30000, 0x90000, rng.getrandbits(32)))  # fmt: skip
        return [_field(slot, new), _checksum_fix("bin.checksum(fixed)", at, data, new,
                                                 BINLOADER_MAGIC)]  # fmt: skip
    header_addr, load_addr = _u(data, at + 12, 4), _u(data, at + 16, 4)
    extra = (
        0,
        load_addr,
        header_addr,
        header_addr - at - 4,
        load_addr + lay.size,
        load_addr + lay.size + 4,
        load_addr + lay.size - 4,
        header_addr + 0x1000,
    )
    return [_field(slot, _pick_value(rng, slot, extra))]


def op_binloader_splice(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    """The binary loader's table written into filler (zero or 0xcc) bytes of another image."""
    if lay.binloader is not None:
        return None
    limit = min(BINLOADER_SCAN, lay.size) - 32
    spots = [at for at in range(64, limit, 4) if set(data[at : at + 32]) <= {0, 0xCC}]
    if not spots:
        return None
    at = rng.choice(spots[:: max(1, len(spots) // 16)])
    flags = rng.choice((0x10000, 0x18000, 0x1C000, 0x10003))
    table = binloader_table(flags, 0x100000 + at, 0x100000, 0, 0, 0x100000)
    return [splice("bin.table", at, table)]


def op_setup(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if not lay.setup:
        return None
    name = rng.choice(list(lay.setup))
    slot = lay.setup[name]
    extra: Sequence[int] = {
        "setup_sects": (0, 1, 3, 4, 15, 64, 65, 0xFF),
        "version": (0x100, 0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, 0x208,
                    0x209, 0x20A, 0x20C, 0x20F, 0x210, 0x300, 0xFFFF),
        "loadflags": (0, 1, 0x80, 0x81, 0x41),
        "xloadflags": (0, 1, 2, 3, 0x1F),
        "payload_offset": (0, slot.value + 1, slot.value + 4, lay.size),
        "payload_length": (0, 4, slot.value - 4, slot.value + 4, lay.size),
        "syssize": (0, 1, slot.value - 1, slot.value + 0x1000),
        "init_size": (0, 0x1000, 1 << 30, M32),
        "header": (0, 0x53726448, 0x53726449),
        "boot_flag": (0, 0xAA55, 0x55AA),
    }.get(name, ())  # fmt: skip
    return [_field(slot, _pick_value(rng, slot, extra))]


def op_trailer(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    """The payload's last 4 bytes: the decompressed size as Xen's bzImage loader reads it."""
    if lay.payload is None:
        return None
    start, length = lay.payload
    slot = _slot(data, "payload.size_trailer", start + length - 4, 4)
    extra = (0, slot.value - 1, slot.value + 1, 1 << 28, (1 << 28) + 1, 0x7FFFFFFF, M32)
    return [_field(slot, _pick_value(rng, slot, extra))]


def op_codec(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.payload is None or lay.payload[1] > CODEC_SWAP_LIMIT:
        return None
    return [recompress(rng.choice(SWAP_CODECS))]


def op_truncate(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    cuts = sorted(lay.cuts)
    if not cuts:
        return None
    cut = rng.choice(cuts) if rng.random() < 0.85 else rng.randrange(1, lay.size)
    return [truncate("file.length", cut)]


def op_wrap(data: bytes, lay: Layout, rng: random.Random) -> list[Edit] | None:
    if lay.size > 4 << 20:
        return None
    return [wrap(rng.choice(tuple(WRAPPERS)))]


OPERATORS: tuple[tuple[Operator, float], ...] = (
    (op_elf_class, 1.0), (op_elf_header, 3.0), (op_phdr, 4.0), (op_segment_shape, 2.0),
    (op_note, 4.0), (op_mb1, 2.0), (op_mb2, 2.0), (op_binloader, 3.0),
    (op_binloader_splice, 0.5), (op_setup, 3.0), (op_trailer, 1.5), (op_codec, 1.0),
    (op_truncate, 1.5), (op_wrap, 0.7),
)  # fmt: skip
# An operator that changes the length of the file is applied at most once per mutant.
_RESHAPING = {op_codec, op_truncate, op_wrap}


@cache
def _layout_of(name: str) -> Layout:
    return layout(parent_bytes(name))


def mutant(parent: str, rng: random.Random) -> Recipe:
    """1 to 3 structured edits of `parent`, each from an operator that applies to it."""
    data, lay = parent_bytes(parent), _layout_of(parent)
    wanted = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
    edits: list[Edit] = []
    used_reshaping = False
    for _ in range(20):
        if len(edits) >= wanted:
            break
        ops, weights = zip(*OPERATORS, strict=True)
        op = rng.choices(ops, weights=weights)[0]
        if op in _RESHAPING and used_reshaping:
            continue
        found = op(data, lay, rng)
        taken = {(edit.kind, edit.offset) for edit in edits}
        if found and not any((edit.kind, edit.offset) in taken for edit in found):
            edits += found
            used_reshaping |= op in _RESHAPING
    return Recipe(parent, tuple(edits))


def generate(seed: int, count: int, parents: Sequence[str]) -> list[Recipe]:
    """`count` recipes from `seed`: the same list on every run and machine."""
    rng = random.Random(seed)
    recipes: list[Recipe] = []
    while len(recipes) < count:
        recipe = mutant(rng.choice(parents), rng)
        if recipe.edits:
            recipes.append(recipe)
    return recipes


# --- running both sides -------------------------------------------------------------------------


@dataclass
class Result:
    """Both sides for one mutant."""

    recipe: Recipe
    path: Path
    ours: dict[str, vt.Ours]
    error: str | None
    real: dict[str, vt.Real]
    release: Release = Release.DEBIAN12

    def mismatches(self) -> list[Mismatch]:
        found = []
        for target in vt.COMPARED:
            real = self.real.get(target)
            if real is None:
                continue
            mine = self.ours.get(target)
            outcome = vt.compare(self.path.name, target, mine, real, {}, self.release)
            if outcome.status == "mismatch":
                found.append(Mismatch(self.recipe, target, self._ours_text(target), real))
        return found

    def _ours_text(self, target: str) -> str:
        verdict = self.ours.get(target)
        if verdict is None:
            return f"error: {self.error}"
        word = ("accept" if verdict.accept else "reject") + (
            f" ({verdict.path})" if verdict.accept and target == "qemu" else ""
        )
        return word + (f" [{', '.join(verdict.rules)}]" if verdict.rules else "")


@dataclass(frozen=True)
class Mismatch:
    recipe: Recipe
    target: str
    ours: str  # pvhlint's verdict: "accept [rules]", "reject [rules]" or "error: message"
    real: vt.Real

    @property
    def real_word(self) -> str:
        return ("accept" if self.real.accept else "reject") + (
            f" ({self.real.path})" if self.real.accept and self.real.path else ""
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        return class_key(self.target, self.ours, self.real_word, self.real.detail)

    def line(self) -> str:
        return (
            f"{self.target}: pvhlint {self.ours}; real {self.real_word}: {self.real.detail}"
            f"\n    recipe: {self.recipe}"
        )


def normalise(message: str) -> str:
    """A loader message with what varies per mutant taken out: file names, numbers."""
    message = re.sub(r"/\S*/", "", message)
    message = re.sub(r"0x[0-9a-fA-F]+", "0x#", message)
    return re.sub(r"\b\d{2,}\b", "#", message).strip()


def class_key(target: str, ours: str, real_word: str, real_message: str) -> tuple[str, ...]:
    """What makes two mismatches the same: the target, pvhlint's word (accept / reject /
    error, without its rules, which change as the model does), the real word and message."""
    return (target, ours.split(" ", 1)[0].rstrip(":"), real_word, normalise(real_message))


@dataclass(frozen=True)
class Settings:
    """Whose loaders a run asks (and the pvhlint profile that models them), which targets it
    compares, and where real answers are kept between runs (None: this process only)."""

    release: Release = Release.DEBIAN12
    targets: tuple[str, ...] = vt.COMPARED
    store: Path | None = None

    @property
    def profile(self) -> Profile:
        return Profile(self.release.value)  # the profile named after the release models it

    def available(self) -> tuple[str, ...]:
        ready = _available(self.release)
        return tuple(target for target in self.targets if target in ready)


DEFAULT = Settings()


class RealStore:
    """Real loaders' answers by (release, content digest, target), appended to a JSON-lines
    file. A mutant's bytes decide the loader's answer, so a long run asked again (the same
    seed, a changed pvhlint) replays the real side from here and re-runs only pvhlint."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.answers: dict[tuple[str, str, str], vt.Real] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                item = json.loads(line)
                real = vt.Real(item["accept"], item["detail"], item["path"])
                self.answers[item["release"], item["sha256"], item["target"]] = real

    def get(self, key: tuple[str, str, str]) -> vt.Real | None:
        with self._lock:
            return self.answers.get(key)

    def put(self, key: tuple[str, str, str], real: vt.Real) -> None:
        with self._lock:
            self.answers[key] = real
            if self.path is None:
                return
            release, sha256, target = key
            item = {"release": release, "sha256": sha256, "target": target,
                    "accept": real.accept, "detail": real.detail, "path": real.path}  # fmt: skip
            with self.path.open("a") as out:
                out.write(json.dumps(item) + "\n")


_STORES: dict[Path | None, RealStore] = {}


def _store(settings: Settings) -> RealStore:
    if settings.store not in _STORES:
        _STORES[settings.store] = RealStore(settings.store)
    return _STORES[settings.store]


def _real_probe(target: str, path: Path, release: Release) -> vt.Real | None:
    """One real loader's answer; None when it cannot be asked here."""
    try:
        answer = _ask_twice(target, path, release)
    except subprocess.TimeoutExpired:
        return vt.Real(False, "hang: no loader error and no monitor answer in 10 s")
    except RuntimeError as exc:  # grub-file cannot read it, or libxenguest died: a reject
        return vt.Real(False, str(exc).splitlines()[0])
    if target in GRUB_COMMANDS and answer.accept and grub_boot_available(release):
        return _grub_loader(path, GRUB_COMMANDS[target], release)
    return answer


def _ask_twice(target: str, path: Path, release: Release) -> vt.Real:
    """QEMU 7.2 really hangs on some images (p_filesz > p_memsz); a loaded machine can also
    stall one call past the harness's timeout, and QEMU takes ~10 s to allocate and zero an
    a.out kernel that claims 4 GiB of bss. So a timeout counts only when it repeats, QEMU's
    with QEMU_PATIENCE seconds."""
    try:
        answer = vt._PROBES[target](path, release)
    except subprocess.TimeoutExpired:
        return vt._PROBES[target](path, release)
    if target == "qemu" and answer.detail.startswith("hang"):  # vt._qemu caught its timeout
        return vt._qemu(path, release, timeout=QEMU_PATIENCE)
    return answer


def _grub_loader(path: Path, command: str, release: Release) -> vt.Real | None:
    """grub-file said yes: GRUB's own command, booted in QEMU, decides. None when GRUB
    neither failed nor finished within GRUB_BOOT_SECONDS: a GRUB that loops and one that is
    slow (a non-relocatable kernel took 33 s on a loaded machine) cannot be told apart, so
    that pair is left undecided rather than called a reject."""
    verdict = grub_load_verdict(
        path, command, timeout=GRUB_BOOT_SECONDS, retries=0, release=release
    )
    if verdict.message == "hang":
        return None
    return vt.Real(verdict.accept, f"grub-file yes; GRUB {command}: {verdict.message or 'loaded'}")


@cache
def _available(release: Release = Release.DEBIAN12) -> frozenset[str]:
    return vt._available(release)


def real_verdicts(path: Path, settings: Settings = DEFAULT) -> dict[str, vt.Real]:
    """target -> the real loader's answer, for the settings' targets installed here (from
    the store when this content was asked before)."""
    store, digest = _store(settings), hashlib.sha256(path.read_bytes()).hexdigest()
    answers = {}
    for target in settings.available():
        key = (settings.release.value, digest, target)
        answer = store.get(key)
        if answer is None:
            answer = _real_probe(target, path, settings.release)
            if answer is None:
                continue
            store.put(key, answer)
        answers[target] = answer
    return answers


def ours(path: Path, settings: Settings = DEFAULT) -> tuple[dict[str, vt.Ours], str | None]:
    """pvhlint's verdicts, as `pvhlint check` computes them with the profile of the
    release asked; an ImageError, or any other exception from pvhlint, is "no verdict"
    with its text."""
    try:
        image = open_image(str(path), lenient=True)
        result = check_image(image, Options(loaders=settings.profile))
    except ImageError as exc:
        return {}, exc.message
    except Exception as exc:  # a crash is no verdict either; its type tells the lead where
        return {}, f"{type(exc).__name__}: {exc}"
    verdicts = result.verdicts.items()
    ours = {t: vt.Ours(v.accept, v.path, tuple(v.rules), v.undefined) for t, v in verdicts}
    return ours, None


def run_batch(
    recipes: Sequence[Recipe], directory: Path, settings: Settings = DEFAULT, workers: int = 3
) -> list[Result]:
    """Build every recipe, ask the real loaders (`workers` mutants at a time, each mutant's
    probes one after the other), then pvhlint (in process)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for recipe in recipes:
        data = recipe.build() or b"\0"
        path = directory / f"mutant-{hashlib.sha256(data).hexdigest()[:20]}.bin"
        path.write_bytes(data)
        paths.append(path)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reals = list(pool.map(lambda path: real_verdicts(path, settings), paths))
    results = []
    for recipe, path, real in zip(recipes, paths, reals, strict=True):
        mine, error = ours(path, settings)
        _patient_qemu(path, real, mine, settings)
        results.append(Result(recipe, path, mine, error, real, settings.release))
    return results


def _patient_qemu(
    path: Path, real: dict[str, vt.Real], mine: dict[str, vt.Ours], settings: Settings
) -> None:
    """A stored QEMU hang from a short wait, where pvhlint says QEMU loads the image: ask
    again with QEMU_PATIENCE (a huge ROM or bss takes QEMU ~10 s to allocate and zero)."""
    answer, verdict = real.get("qemu"), mine.get("qemu")
    if answer is None or verdict is None or not verdict.accept:
        return
    if not answer.detail.startswith("hang") or f"in {QEMU_PATIENCE:g} s" in answer.detail:
        return
    answer = vt._qemu(path, settings.release, timeout=QEMU_PATIENCE)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _store(settings).put((settings.release.value, digest, "qemu"), answer)
    real["qemu"] = answer


def evaluate(recipe: Recipe, directory: Path, settings: Settings = DEFAULT) -> Result:
    return run_batch([recipe], directory, settings, workers=1)[0]


def minimise(found: Mismatch, directory: Path, settings: Settings = DEFAULT) -> Mismatch:
    """Drop edits one at a time (reverting that field to the parent's value) while the same
    mismatch class persists on the same target."""
    current = found
    index = 0
    while index < len(current.recipe.edits):
        candidate = current.recipe.without(index)
        again = [m for m in evaluate(candidate, directory, settings).mismatches()
                 if m.target == found.target and m.key == found.key]  # fmt: skip
        if again:
            current = again[0]
        else:
            index += 1
    return current


# --- batches and the long run -------------------------------------------------------------------


@dataclass
class Report:
    seed: int
    settings: Settings = DEFAULT
    mutants: int = 0
    seconds: float = 0.0
    pairs: int = 0
    undecided: int = 0  # pairs whose loader gave no answer (GRUB still running at the limit)
    undefined: int = 0  # pairs pvhlint calls undefined (the loader reads memory not the image's)
    mismatching_mutants: int = 0
    by_target: dict[str, int] = field(default_factory=dict)
    classes: dict[tuple[str, ...], list[Mismatch]] = field(default_factory=dict)

    def add(self, results: Iterable[Result]) -> None:
        for result in results:
            self.mutants += 1
            self.pairs += len(result.real)
            self.undecided += len(self.settings.available()) - len(result.real)
            self.undefined += sum(
                1 for t, v in result.ours.items() if v.undefined and t in result.real
            )
            found = result.mismatches()
            self.mismatching_mutants += bool(found)
            for item in found:
                self.by_target[item.target] = self.by_target.get(item.target, 0) + 1
                self.classes.setdefault(item.key, []).append(item)

    def text(self) -> str:
        targets = self.settings.available()
        lines = [
            f"seed {self.seed}, {self.settings.release} loaders ({', '.join(targets)}): "
            f"{self.mutants} mutants, {self.pairs} (mutant, target) pairs "
            f"compared in {self.seconds:.0f} s ({self.undecided} undecided, "
            f"{self.undefined} called undefined by pvhlint); "
            f"{self.mismatching_mutants} mutants mismatch; "
            f"{len(self.classes)} mismatch classes",
            "mismatches per target: "
            + ", ".join(f"{t} {self.by_target.get(t, 0)}" for t in targets),
        ]
        return "\n".join(lines)


def default_parents(with_debian: bool) -> list[str]:
    names = sorted(synthetic_parents())
    if with_debian:
        names += sorted(debian_parents())
    return names


def ci_batch(seed: int, count: int, directory: Path, settings: Settings = DEFAULT) -> Report:
    start = time.monotonic()
    report = Report(seed, settings)
    report.add(run_batch(generate(seed, count, default_parents(False)), directory, settings))
    report.seconds = time.monotonic() - start
    return report


def long_run(
    minutes: float,
    seed: int,
    with_debian: bool,
    directory: Path,
    settings: Settings = DEFAULT,
    mutants: int | None = None,
    chunk: int = 60,
    part: tuple[int, int] = (0, 1),
) -> Report:
    """Chunks of `chunk` mutants, each generated from the next number of a generator seeded
    with `seed`, until `minutes` have passed or `mutants` have been compared: the same seed
    and count rebuild the same mutants."""
    deadline = time.monotonic() + 60 * minutes
    start = time.monotonic()
    report = Report(seed, settings)
    parents = default_parents(with_debian)
    rng = random.Random(seed)
    done = 0  # mutants generated, this part's or not
    while (time.monotonic() < deadline) if mutants is None else (done < mutants):
        size = chunk if mutants is None else min(chunk, mutants - done)
        chunk_seed, index = rng.getrandbits(32), done // chunk
        done += size
        if index % part[1] != part[0]:
            continue  # another process's chunk (--part)
        recipes = generate(chunk_seed, chunk, parents)[:size]
        report.add(run_batch(recipes, directory, settings))
        report.seconds = time.monotonic() - start
        for path in directory.glob("mutant-*.bin"):
            path.unlink()
        print(f"  ... {report.mutants} mutants, {len(report.classes)} classes, "
              f"{report.seconds:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
    return report


def case_code(item: Mismatch, release: Release = Release.DEBIAN12) -> str:
    """The registry entry (tests/difftest_cases.py) for a (minimised) mismatch."""
    other = "" if release is Release.DEBIAN12 else f"        release=Release.{release.name},\n"
    return (
        f"    Case(\n        {item.recipe.code()},\n        target={item.target!r},\n"
        f"        real={item.real_word!r},\n        message={item.real.detail!r},\n"
        f"        ours={item.ours!r},\n{other}    ),"
    )


def describe_classes(report: Report, directory: Path, examples: int = 1) -> str:
    """Every mismatch class: how often, and its first example(s) minimised, as registry
    entries. Classes already in the registry are listed by key only."""
    known = _registered_keys(report.settings.release)
    blocks = []
    ordered = sorted(report.classes.items(), key=lambda kv: (kv[0][0], -len(kv[1])))
    for key, items in ordered:
        status = "known" if key in known else "NEW"
        print(f"# [{status}] {len(items)}x {' | '.join(key)}\n#   e.g. {items[0].recipe}",
              flush=True)  # fmt: skip
        blocks.append(f"# [{status}] {len(items)}x {' | '.join(key)}")
        if status == "NEW":
            for item in items[:examples]:
                small = minimise(item, directory, report.settings)
                blocks.append(case_code(small, report.settings.release))
                print(blocks[-1], flush=True)
    return "\n".join(blocks)


def _registered_keys(release: Release) -> set[tuple[str, ...]]:
    from tests.difftest_cases import CASES

    return {case.key for case in CASES if case.release is release}


STORE = Path(os.environ.get("PVHLINT_CACHE", Path.home() / ".cache" / "pvhlint")) / "difftest"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.difftest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--mutants", type=int, default=None, help="stop after N (not minutes)")
    parser.add_argument("--part", default="0/1", help="I/N: this process runs chunks I, I+N, ...")
    parser.add_argument("--count", type=int, default=None, help="one batch of N (as CI runs)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-debian", action="store_true", help="synthetic parents only")
    parser.add_argument("--examples", type=int, default=1, help="minimised examples per class")
    parser.add_argument("--release", type=Release, default=Release.DEBIAN12, choices=list(Release))
    parser.add_argument("--targets", default=",".join(vt.COMPARED), help="comma-separated")
    kept = f"ask every real loader again (default: answers kept in {STORE})"
    parser.add_argument("--no-store", action="store_true", help=kept)
    args = parser.parse_args(argv)
    targets = tuple(t for t in args.targets.split(",") if t)
    unknown = set(targets) - set(vt.COMPARED)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    store = None
    if not args.no_store:
        STORE.mkdir(parents=True, exist_ok=True)
        store = STORE / "real-answers.jsonl"
    settings = Settings(args.release, targets, store)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="pvhlint-difftest-") as tmp:
        if args.count is not None:
            report = ci_batch(seed, args.count, Path(tmp), settings)
        else:
            index, count = (int(x) for x in args.part.split("/"))
            report = long_run(args.minutes, seed, not args.no_debian, Path(tmp), settings,
                              args.mutants, part=(index, count))  # fmt: skip
        print(report.text(), flush=True)
        describe_classes(report, Path(tmp) / "minimise", args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
