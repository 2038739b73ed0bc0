"""The qemu family (pvhlint/rules/qemu/): QEMU -kernel's boot path, PVH note search, ELF
program headers and ROM layout."""

from __future__ import annotations

from .runner import E, Expect, at_mb1, named_cases_test

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
    "boot/mb1-elf32-phnum0": [
        E("qemu-load-elf", 0x2C, ("e_phnum is 0", "Error while loading elf kernel"), QEMU)
    ],
    "boot/mb1-elf32-no-load": [
        E("qemu-load-elf", at_mb1(0), ("Error while fetching elf kernel from rom",), QEMU)
    ],
}

test_named_case = named_cases_test(NAMED_CASES)
