"""The one registry of images the rule tests run on: a name and a builder for each.

- every fixtures.catalogue fixture and fixtures.variants variant, by its own name;
- fixtures.variants_boot's boot-protocol images as ``boot/<name>`` (as tests/difftest.py
  names them);
- small PVH ELFs built here with fixtures.elfgen as ``elf/<name>``, and bzImages as
  ``bz/<name>``, for cases none of those covers.

Builders return bytes, or the BuiltElf that states where each piece went (`built`), so an
expectation's offset comes from the generator's inputs, never from pvhlint.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import cache

from fixtures.catalogue import catalogue
from fixtures.elfgen import BuiltElf, Load, Note, NoteArea, build_elf, linux_pvh_notes, xen_num
from fixtures.elfgen import xen_str as xen_text
from fixtures.variants import variants
from fixtures.variants_boot import BUILDERS as BOOT_BUILDERS
from fixtures.variants_boot import bz, variant
from pvhlint.image import open_image_bytes
from pvhlint.model import Image
from pvhlint.xennotes import XenNote

TEXT_VADDR, TEXT_PADDR = 0xFFFFFFFF81000000, 0x1000000
ENTRY = TEXT_PADDR + 0x40
TEXT_SIZE, BSS_SIZE = 0x100, 0x2000


def notes64(phys32: int | None = ENTRY, *, entry_note: bool = True) -> list[Note]:
    """Linux's PVH notes for an ELF64, PHYS32_ENTRY at `phys32` (none for None), with an
    ENTRY note (a PV entry) unless told otherwise."""
    notes = [n for n in linux_pvh_notes(64, phys32 or 0)
             if n.type != XenNote.PHYS32_ENTRY or phys32 is not None]  # fmt: skip
    if entry_note:
        notes.append(xen_num(XenNote.ENTRY, TEXT_VADDR + 0x40, 8))
    return notes


def pvh_elf(notes: list[Note] | None = None, *, elf_class: int = 64,
            areas: list[NoteArea] | None = None, **kwargs: object) -> BuiltElf:  # fmt: skip
    """One PT_LOAD at TEXT_PADDR (TEXT_SIZE file bytes, then BSS_SIZE zeroed) and the notes."""
    vaddr = TEXT_VADDR if elf_class == 64 else 0xC1000000
    load = Load(vaddr, TEXT_PADDR, b"\x90" * TEXT_SIZE, bss=BSS_SIZE)
    if areas is None:
        areas = [NoteArea(notes if notes is not None else notes64())]
    return build_elf(elf_class=elf_class, loads=[load], note_areas=areas, **kwargs)  # type: ignore[arg-type]


def _payload_at(data: bytes) -> int:
    return ((data[0x1F1] or 4) + 1) * 512 + struct.unpack_from("<I", data, 0x248)[0]


ELF_BUILDERS: dict[str, Callable[[], BuiltElf]] = {
    "elf/pvh64": pvh_elf,
    "elf/phys32-in-bss": lambda: pvh_elf(notes64(TEXT_PADDR + TEXT_SIZE + 0x10)),
    "elf/guest-os-twice": lambda: pvh_elf(
        [*notes64(), xen_text(XenNote.GUEST_OS, "linux"), xen_text(XenNote.GUEST_OS, "other")]
    ),
    "elf/type-20": lambda: pvh_elf([*notes64(), xen_num(20, 1, 4)]),
    "elf/no-notes": lambda: pvh_elf(areas=[]),
    "elf/notes-sections-only": lambda: pvh_elf(sections_only=True),
    "elf/notes-palign8": lambda: pvh_elf(areas=[NoteArea(notes64(), p_align=8)]),
    "elf/features-dom0": lambda: pvh_elf([*notes64(), xen_text(XenNote.FEATURES, "!dom0")]),
    "elf/features-bogus": lambda: pvh_elf(
        [*notes64(), xen_text(XenNote.FEATURES, "!bogus|writable_page_tables")]
    ),
    "elf/features-typo": lambda: pvh_elf(
        [*notes64(), xen_text(XenNote.FEATURES, "writable_page_tablez")]
    ),
    "elf/phys32-above-4g": lambda: pvh_elf(notes64((1 << 32) + ENTRY)),
    "elf/phys32-outside": lambda: pvh_elf(notes64(0x90000000)),
    "elf/phys32-descsz3": lambda: pvh_elf(
        [n for n in notes64() if n.type != XenNote.PHYS32_ENTRY]
        + [Note(b"Xen\0", XenNote.PHYS32_ENTRY, b"\x40\x00\x00")]
    ),
    "elf/phys32-owner-xyz": lambda: pvh_elf(
        [
            n if n.type != XenNote.PHYS32_ENTRY else xen_num(n.type, ENTRY, 8, owner=b"Xyz\0")
            for n in notes64()
        ]
    ),
    "elf/paddr-offset-no-virt-base": lambda: pvh_elf(
        [n for n in notes64() if n.type != XenNote.VIRT_BASE]
        + [xen_num(XenNote.PADDR_OFFSET, 0, 8)]
    ),
    "elf/guest-os-long": lambda: pvh_elf(
        [xen_text(XenNote.GUEST_OS, "linux-with-a-long-name"), *notes64()]
    ),
    "elf/phys32-missing": lambda: pvh_elf(notes64(None)),
    "elf/no-notes-elf32": lambda: pvh_elf(areas=[], elf_class=32),
    "elf/notes-palign0": lambda: pvh_elf(areas=[NoteArea(notes64(), p_align=0)]),
    # the modern-linker layout: an 8-aligned GNU property note, then 4-padded Xen notes
    "elf/gnu-property-first": lambda: pvh_elf(
        areas=[NoteArea([Note(b"GNU\0", 5, bytes(16)), *notes64()], p_align=8)]
    ),
    "elf/xen-version-twice": lambda: pvh_elf(
        [*notes64(), xen_text(XenNote.XEN_VERSION, "xen-3.0-x86_64")]
    ),
    # two notes of type 20 and one INFO (0): all unknown to libelf
    "elf/unknown-notes": lambda: pvh_elf(
        [*notes64(), xen_num(20, 1, 4), xen_num(20, 2, 4), xen_text(XenNote.INFO, "info")]
    ),
    "elf/notes-two-segments": lambda: pvh_elf(
        areas=[
            NoteArea([n for n in notes64() if n.type == XenNote.PHYS32_ENTRY], section=".note.a"),
            NoteArea([n for n in notes64() if n.type != XenNote.PHYS32_ENTRY], section=".note.b"),
        ]
    ),
    # PHYS32_ENTRY with a 4-byte descriptor in an ELF64 (QEMU reads 8: the next note's header),
    # then a GUEST_VERSION of four 0xff bytes
    "elf/phys32-desc4": lambda: pvh_elf(
        [n for n in notes64() if n.type != XenNote.PHYS32_ENTRY]
        + [xen_num(XenNote.PHYS32_ENTRY, ENTRY, 4)]
        + [Note(b"Xen\0", XenNote.GUEST_VERSION, b"\xff" * 4)]
    ),
    "elf/pvh32": lambda: pvh_elf(linux_pvh_notes(32, ENTRY), elf_class=32),
    "elf/no-xen-version": lambda: pvh_elf([n for n in notes64() if n.type != XenNote.XEN_VERSION]),
    # e_flags 0x10001, which QEMU's load_elfboot refuses (printed in full)
    "elf/e-flags-elf32": lambda: pvh_elf(linux_pvh_notes(32, ENTRY), elf_class=32, e_flags=0x10001),
    "elf/e-flags-elf64": lambda: pvh_elf(linux_pvh_notes(64, ENTRY), elf_class=64, e_flags=0x10001),
}
BZ_BUILDERS: dict[str, Callable[[], bytes]] = {
    # cut 0x40 bytes into its xz payload (the setup and the payload's start intact)
    "bz/cut-in-payload": lambda: bz()[: _payload_at(bz()) + 0x40],
}


def _builders() -> dict[str, Callable[[], bytes | BuiltElf]]:
    found: dict[str, Callable[[], bytes | BuiltElf]] = {}
    for name, fixture in catalogue().items():
        found[name] = lambda fixture=fixture: fixture.data
    for name, item in variants().items():
        assert name not in found, f"variant {name} shadows a catalogue fixture"
        found[name] = lambda item=item: item.data
    found |= {f"boot/{name}": (lambda name=name: variant(name)) for name in BOOT_BUILDERS}
    return found | ELF_BUILDERS | BZ_BUILDERS


IMAGES = _builders()


@cache
def built(name: str) -> bytes | BuiltElf:
    return IMAGES[name]()


def data(name: str) -> bytes:
    made = built(name)
    return made.data if isinstance(made, BuiltElf) else made


@cache
def image(name: str, full: bool = False) -> Image:
    """The model of a registered image (opened once per test session), read as `check`
    reads it (lenient: an ELF magic without a header is a finding, not bad input)."""
    return open_image_bytes(data(name), name, full=full, lenient=True)


def notes_placed(made: BuiltElf, note_type: int) -> list[int]:
    """Where each note of `note_type` starts, in file order, from the builder's record
    (its note_offsets), never from pvhlint's reading."""
    placed = [(note.type, at) for area, offsets in zip(made.areas, made.note_offsets, strict=True)
              for note, at in zip(area.notes, offsets, strict=True)]  # fmt: skip
    return sorted(at for kind, at in placed if kind == note_type)


def note_offset(name: str, note_type: int, nth: int = -1) -> int:
    """Where the nth note of `note_type` starts, from the builder's own record: a BuiltElf's
    note_offsets, or a catalogue fixture's expect["notes"]."""
    made = built(name)
    if isinstance(made, BuiltElf):
        return notes_placed(made, note_type)[nth]
    placed = [(note["type"], note["offset"]) for note in catalogue()[name].expect["notes"]]
    return [at for kind, at in placed if kind == note_type][nth]
