"""The qemu family (pvhlint/rules/qemu/): QEMU -kernel's boot path, PVH note search, ELF
program headers and ROM layout."""

from __future__ import annotations

from .runner import E, Expect, named_cases_test

QEMU = ("qemu",)
ELF64_PHOFF, PHDR64 = 64, 56  # tests.loaders.pvh_kernel: program headers after the header
NAMED_CASES: dict[str, list[Expect]] = {
    "elf/notes-sections-only": [
        E("qemu-pvh-note", 0, ("Error loading uncompressed kernel without PVH ELF Note",), QEMU)
    ],
    "rom-segments-overlap": [E("qemu-rom-overlap", 0, ("Some ROM regions are overlapping",), QEMU)],
    "pvh64-filesz-above-memsz": [
        E("qemu-elf-filesz", ELF64_PHOFF, ("Error while loading elf kernel",), QEMU, length=PHDR64)
    ],
    # header at 8192: past QEMU's scan, so no header it knows (and it does not refuse)
    "flat-mb1-outside": [E("qemu-boot-path", 0, ("old zImage",))],
}

test_named_case = named_cases_test(NAMED_CASES)
