"""The xen family (pvhlint/rules/xen/): what libelf and libxenguest make of the notes, on
small ELFs built for each case (offsets from the builder's record) and catalogue fixtures.
tests/rules/test_xen_verdicts.py checks the verdicts these findings lead to,
tests/test_verdicts_real.py the real loaders."""

from __future__ import annotations

from fixtures.catalogue import catalogue
from pvhlint.xennotes import XenNote

from .registry import ENTRY, built, note_offset
from .runner import XEN, E, Expect, named_cases_test


def _note(name: str, note_type: int, nth: int = -1) -> int:
    return note_offset(name, note_type, nth)


def _area(name: str) -> tuple[int, int]:
    made = built(name)
    return made.area_offsets[0], made.area_filesz[0]


BZIP2 = catalogue()["bzimage-bzip2"].expect["bzimage"]
GNUMACH = catalogue()["elf32-gnumach-like"].expect["elf"]
TWO_SEGMENTS = catalogue()["elf64-notes-two-segments"].expect["elf"]["note_areas"]
PVH_ONLY_OBSOLETE = (XenNote.HYPERCALL_PAGE, XenNote.VIRT_BASE, XenNote.PAE_MODE,
                     XenNote.HV_START_LOW, XenNote.L1_MFN_VALID)  # fmt: skip
BIN_TABLE = 0x40  # fixtures.variants_edges.bin_image's table: 32 bytes at 0x40
NAMED_CASES: dict[str, list[Expect]] = {
    "elf/features-dom0": [
        E(
            "xen-features",
            _note("elf/features-dom0", XenNote.FEATURES),
            ("Kernel does not support unprivileged (DomU) operation",),
            XEN,
        )
    ],
    "elf/features-bogus": [
        E(
            "xen-features",
            _note("elf/features-bogus", XenNote.FEATURES),
            ("requires unknown feature 'bogus'",),
            XEN,
        )
    ],
    "elf/features-typo": [
        E(
            "xen-features",
            _note("elf/features-typo", XenNote.FEATURES),
            ("unknown feature 'writable_page_tablez': Xen ignores it",),
        )
    ],
    "elf/phys32-above-4g": [
        E(
            "xen-phys32-bounds",
            _note("elf/phys32-above-4g", XenNote.PHYS32_ENTRY),
            (f"Xen keeps only the low 32 bits ({ENTRY:#x})",),
        )
    ],
    "elf32-gnumach-like": [
        E(
            "xen-note-owner",
            GNUMACH["note_areas"][0]["offset"],
            ("owner 'name'", "falls back to the __xen_guest string"),
            length=GNUMACH["note_areas"][0]["filesz"],
        ),
        E("xen-notes-source", GNUMACH["xen_guest_offset"], ("legacy __xen_guest string",)),
    ],
    "elf64-notes-two-segments": [
        E(
            "xen-note-align",
            TWO_SEGMENTS[1]["offset"],
            ("split over PT_NOTE 1, PT_NOTE 2",),
            length=TWO_SEGMENTS[1]["filesz"],
        )
    ],
    "elf/phys32-outside": [
        E(
            "xen-phys32-bounds",
            _note("elf/phys32-outside", XenNote.PHYS32_ENTRY),
            ("ELF start or entries are out of bounds",),
            ("xen-pvh",),
        )
    ],
    "elf/phys32-descsz3": [
        E("xen-note-size", _note("elf/phys32-descsz3", XenNote.PHYS32_ENTRY), ("descsz 3",))
    ],
    "elf/paddr-offset-no-virt-base": [
        E(
            "xen-paddr-offset",
            _note("elf/paddr-offset-no-virt-base", XenNote.PADDR_OFFSET),
            ("ELF_PADDR_OFFSET set, VIRT_BASE unset",),
            ("xen-pvh@4.17",),
        )
    ],
    "elf/phys32-owner-xyz": [
        E("xen-note-owner", _note("elf/phys32-owner-xyz", XenNote.PHYS32_ENTRY), ("'Xyz'",)),
        E(
            "xen-phys32-missing",
            0,
            ("image not capable of booting inside a HVM container",),
            ("xen-pvh",),
        ),
    ],
    "elf/notes-sections-only": [
        E("xen-notes-source", built("elf/notes-sections-only").shoff, ("no PT_NOTE",))
    ],
    "elf/notes-palign8": [
        E(
            "xen-note-align",
            _area("elf/notes-palign8")[0],
            ("padded by 8 (QEMU) it holds",),
            length=_area("elf/notes-palign8")[1],
        )
    ],
    "elf/no-notes": [E("xen-pv-parse", 0, ("Not a Xen-ELF image",), ("xen-pv",))],
    "elf/guest-os-twice": [
        E(
            "xen-note-duplicate",
            _note("elf/guest-os-twice", XenNote.GUEST_OS),
            ("Xen uses the last one, 'other'",),
        )
    ],
    "elf/guest-os-long": [
        E(
            "xen-note-string",
            _note("elf/guest-os-long", XenNote.GUEST_OS, 0),
            ("it sees 'linux-with-a-lo'",),
        )
    ],
    "elf/type-20": [E("xen-note-unknown", _note("elf/type-20", 20), ("type 20",))],
    "elf/phys32-in-bss": [
        E(
            "xen-phys32-unloaded",
            _note("elf/phys32-in-bss", XenNote.PHYS32_ENTRY),
            ("the zero-filled tail of PT_LOAD 0",),
        )
    ],
    "elf/pvh64": [
        E("xen-obsolete-pv-note", _note("elf/pvh64", note_type)) for note_type in PVH_ONLY_OBSOLETE
    ],
    "elf64-note-desc-past-segment": [
        E(
            "xen-note-bounds",
            _note("elf64-note-desc-past-segment", XenNote.PHYS32_ENTRY),
            ("past the end of PT_NOTE 1",),
        )
    ],
    "elf64-phnum-past-eof": [E("xen-elf-init", 0, ("ELF: phdr overflow",), XEN)],
    "flat-mb1-inside": [E("xen-no-elf", 0, ("xc_dom_find_loader: no loader found",), XEN)],
    "bzimage-bzip2": [
        E(
            "xen-codec-unsupported",
            BZIP2["payload_file_offset"],
            ("BZIP2 decompress support unavailable",),
            XEN,
            length=BZIP2["payload_stream_length"],
        )
    ],
    "bin-x86_32": [E("xen-binary-loader", BIN_TABLE, ("xc_dom_compat_check",), XEN, length=32)],
}

test_named_case = named_cases_test(NAMED_CASES)
