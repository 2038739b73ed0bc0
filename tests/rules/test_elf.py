"""The elf family (pvhlint/rules/elf/): the machine, segments past the end of the file, and
GRUB 2.12's section-count check."""

from __future__ import annotations

from .runner import E, Expect, boot_cases_test, named_cases_test

BOOT_CASES: dict[str, list[Expect]] = {
    # --- ELF machine
    # xen-pv: libelf's elf_xen_addr_calc_check refuses first, inside the ELF-generic probe
    # (measured: xl says "no loader found"), so xc_dom_guest_type never reads e_machine
    "boot/elf64-aarch64": [
        E(
            "elf-unsupported-machine",
            18,
            ("AArch64 (e_machine 183)", 'QEMU: "Error while loading elf kernel"'),
            ("qemu",),
        ),
    ],
    "boot/elf32-arm": [
        # xen-pv: libelf stops first at elf_xen_addr_calc_check (in the ELF-generic probe,
        # so xl says "no loader found"), before xc_dom_guest_type would read e_machine
        E("elf-unsupported-machine", 18, ("ARM (e_machine 40)",), ("qemu",))
    ],
    "boot/elf64-pvh": [],
    # libelf steps through the table by e_phentsize, QEMU by sizeof(Elf64_Phdr): both find
    # the PVH note (Xen in SHT_NOTE, QEMU in the PT_NOTE), so both boot it
    "boot/elf64-phentsize-112": [],
    "boot/elf64-phentsize-0": [],
}
ELF32_SHNUM, ELF64_PHOFF, PHDR64 = 48, 64, 56
NAMED_CASES: dict[str, list[Expect]] = {
    # cut inside its PT_NOTE, the second program header
    "elf64-note-truncated": [
        E(
            "elf-segment-past-eof",
            ELF64_PHOFF + PHDR64,
            ("Error while loading elf kernel",),
            ("qemu",),
            length=PHDR64,
        )
    ],
    "boot/elf-magic-only": [
        E("elf-header-unreadable", 0, ('"Error while loading elf kernel"',), ("qemu",), length=4)
    ],
    # no section headers at all: GRUB 2.12 refuses, 2.06 does not look
    "pvh32-mb1": [E("grub-elf-shnum", ELF32_SHNUM, (), ("multiboot1@2.12",), length=2)],
}

test_boot_case = boot_cases_test(BOOT_CASES)

test_named_case = named_cases_test(NAMED_CASES)
