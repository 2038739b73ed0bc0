"""The multiboot family (pvhlint/rules/multiboot/): what each mb1-/mb2- rule reports on the
boot-protocol images (fixtures/variants_boot.py); tests/rules/test_boot_real.py asks the real
loaders the same questions."""

from __future__ import annotations

import gzip
import struct

import pytest

from fixtures.multiboot import mb1_checksum

from .runner import (
    AOUT,
    MB1,
    MB2,
    NOT_FOUND_1,
    RULES,
    E,
    Expect,
    at_mb1,
    at_mb2,
    boot_cases_test,
    findings,
    mb1_at,
)

BOOT_CASES: dict[str, list[Expect]] = {
    # --- Multiboot 1: finding the header
    "boot/mb1-elf32": [],
    "boot/mb1-none-elf32": [E("mb1-no-header", 0, (NOT_FOUND_1, "no Multiboot 1 header in"), MB1)],
    "boot/mb1-misaligned": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-misaligned", 0x102, ("0x102", "not 4-byte aligned", NOT_FOUND_1), MB1),
    ],
    "boot/mb1-bad-checksum": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-bad-checksum", at_mb1(8), (f"{mb1_checksum(3):#010x}", "0x12345678"), MB1),
    ],
    "boot/mb1-outside-8192": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-outside-window", 8192, ("0x2000", "0x1ff4", NOT_FOUND_1), MB1),
    ],
    "boot/mb1-straddle-8176": [
        E("mb1-outside-window", 8176, ("ends at 0x2010", "address fields", "garbage"), MB1),
        E("mb1-qemu-window", 8176, ("0x1fd0", "zImage")),
    ],
    "boot/mb1-window-end-8160": [E("mb1-qemu-window", 8160, ("0x1fe0", "below 0x1fd0 (8144)"))],
    "gzip-elf32-mb1": [
        E(
            "mb1-qemu-window",
            lambda data: mb1_at(gzip.decompress(data)),
            ("gzip", "no gunzip"),
            layer=1,
        ),
        E(
            "bzimage-truncated",
            0x1F1,
            ("gzip file as an old zImage", "invalid kernel header"),
            ("qemu",),
        ),
    ],
    # --- Multiboot 1: flags
    "boot/mb1-aout-ok": [],
    "boot/mb1-flags-bit3": [
        E("mb1-unsupported-flags", AOUT + 4, ('"error: unsupported flag: 0x1000b."', "bit 3"), MB1),
    ],
    "boot/mb1-flags-bit17": [],
    "boot/mb1-video-mode0": [E("mb1-video-mode", AOUT + 4, ("multiboot knows VBE. we don't",))],
    "boot/mb1-video-mode2": [
        E("mb1-video-mode", AOUT + 4, ("multiboot knows VBE. we don't",)),
        E("mb1-video-mode", AOUT + 32, ('"error: unsupported graphical mode type 2."',), MB1),
    ],
    # --- Multiboot 1: a.out-kludge address fields (QEMU's order, GRUB's outcome)
    "boot/mb1-aout-load-above-header": [
        E("mb1-address-fields", AOUT + 16, ('QEMU: "invalid load_addr address"',), ("qemu",)),
    ],
    "boot/mb1-aout-header-before-file": [
        E(
            "mb1-address-fields",
            AOUT + 12,
            (
                'QEMU: "invalid header_addr address"',
                '"error: attempt to seek outside of the file."',
            ),
            ("qemu", "multiboot1"),
        ),
    ],
    "boot/mb1-aout-load-end-below": [
        E(
            "mb1-address-fields",
            AOUT + 20,
            ('QEMU: "invalid load_end_addr address"', '"error: address is out of range."'),
            ("qemu", "multiboot1"),
        ),
    ],
    "boot/mb1-aout-past-4g": [
        E(
            "mb1-address-fields",
            AOUT + 16,
            ('QEMU: "kernel does not fit in address space"', '"error: address is out of range."'),
            ("qemu", "multiboot1"),
        ),
    ],
    "boot/mb1-aout-below-4g": [],
    "boot/mb1-aout-bss-below-end": [
        E(
            "mb1-address-fields",
            AOUT + 24,
            ('QEMU: "invalid bss_end_addr address"', "GRUB zeroes"),
            ("qemu", "multiboot1"),
        ),
    ],
    "boot/mb1-aout-past-file": [
        E(
            "mb1-address-fields",
            AOUT + 20,
            ('QEMU: "fread() failed"', "file ends at 0x1000"),
            ("qemu",),
        ),
    ],
    "boot/mb1-aout-entry-outside": [E("mb1-address-fields", AOUT + 28, ("entry_addr 0x105000",))],
    # --- Multiboot 1: the ELF path
    "boot/mb1-elf64": [
        E(
            "mb1-elf64-qemu",
            18,
            ('QEMU: "Cannot load x86-64 image, give a 32bit one."',),
            ("qemu",),
        ),
    ],
    "boot/mb1-elf32-em-x86-64": [
        E("mb1-elf64-qemu", 18, ("ELF32", "Cannot load x86-64 image"), ("qemu",)),
        E("mb1-elf-loader", 18, ('"error: invalid arch-dependent ELF magic."',), MB1),
    ],
    "boot/mb1-elf64-em-386": [
        E(
            "mb1-elf-loader",
            18,
            ("ELF64 with e_machine 3", "invalid arch-dependent ELF magic"),
            MB1,
        ),
    ],
    "boot/mb1-elf32-rel": [
        E("mb1-elf-loader", 16, ("this ELF file is not of the right type",), MB1)
    ],
    "boot/mb1-elf32-entry-outside": [
        E("mb1-elf-loader", 24, ("0x5000000", "entry point isn't in a segment"), MB1),
    ],
    "boot/mb1-elf32-phdrs-8192": [],
    "boot/mb1-elf32-phdrs-past-8192": [
        E("mb1-elf-loader", 28, ("0x2001", "program header at a too high offset"), MB1),
    ],
    "boot/mb1-elf64-crosses-4g": [
        E("mb1-elf64-qemu", 18, ("Cannot load x86-64 image",), ("qemu",)),
        E("mb1-elf-loader", 64 + 56, ("PT_LOAD 1", "segment crosses 4 GiB border"), MB1),
    ],
    "boot/mb1-elf32-truncated": [
        E("mb1-elf-loader", 52 + 32, ("PT_LOAD 1", "premature end of file"), MB1),
        E(
            "mb1-elf-loader",
            52 + 32,
            ("PT_LOAD 1", 'QEMU: "Error while loading elf kernel"'),
            ("qemu",),
        ),
    ],
    "boot/mb1-flat-without-aout": [
        E("mb1-elf-loader", 0, ("not an ELF", "invalid arch-dependent ELF magic"), MB1),
        E("mb1-elf-loader", 0, ('QEMU: "Error while loading elf kernel"',), ("qemu",)),
    ],
    "boot/mb1-elf32-arm": [
        E(
            "elf-unsupported-machine",
            18,
            (
                "ARM (e_machine 40)",
                "invalid arch-dependent ELF",
                "Error while loading elf kernel",
                "unknown image type 40",
            ),
            ("xen-pv", "qemu", "multiboot1"),
        ),
    ],
    "boot/mb1-elf64-big-endian": [
        E(
            "elf-unsupported-machine",
            5,
            (
                "big-endian ELF64",
                "invalid arch-independent ELF magic",
                "no loader found",
                "Trying to load big-endian binary",
            ),
            ("xen-pvh", "xen-pv", "qemu", "multiboot1", "rust-vmm"),
        ),
    ],
    # --- Multiboot 2
    "boot/mb2-elf32": [],
    "boot/mb2-elf64": [],
    "boot/mb2-none-elf32": [E("mb2-no-header", 0, (NOT_FOUND_1, "no Multiboot 2 header"), MB2)],
    "boot/mb2-misaligned": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-misaligned", at_mb2(0), ("not 8-byte aligned", NOT_FOUND_1), MB2),
    ],
    "boot/mb2-bad-checksum": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-bad-checksum", at_mb2(12), ("0x17adaf12", "0x00000001"), MB2),
    ],
    "boot/mb2-arch4": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-architecture", at_mb2(4), ("architecture 4 (MIPS32)", "grub-file says yes"), MB2),
    ],
    "boot/mb2-length-mismatch": [E("mb2-header-length", at_mb2(8), ("header_length 40",))],
    "boot/mb2-no-end-tag": [
        E("mb2-header-length", at_mb2(8), ("without an end tag",)),
        E("mb2-missing-end-tag", at_mb2(0), ("no end tag", "depends on those bytes")),
    ],
    "boot/mb2-tag-size0": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 0", "hangs"), MB2)],
    "boot/mb2-tag-size4": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 4", "steps 8 bytes"))],
    "boot/mb2-info-size4": [
        E("mb2-malformed-tag", at_mb2(16 + 4), ("size 4", "unsupported information tag"), MB2),
    ],
    "boot/mb2-entry-size8": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 8, not 12",))],
    "boot/mb2-end-size0": [E("mb2-malformed-tag", at_mb2(16 + 4), ("tag 0 (end)", "size 0"))],
    "boot/mb2-tag8": [
        E("mb2-unsupported-tag", at_mb2(16), ('"error: unsupported tag: 0x8."', "EFI i386"), MB2),
    ],
    "boot/mb2-tag8-optional": [],
    "boot/mb2-tag11": [
        E("mb2-unsupported-tag", at_mb2(16), ('"error: unsupported tag: 0xb."',), MB2)
    ],
    "boot/mb2-info13": [
        E(
            "mb2-unsupported-info-request",
            at_mb2(16),
            ("13 (SMBIOS)", '"error: unsupported information tag: 0xd."'),
            MB2,
        ),
    ],
    "boot/mb2-info13-optional": [],
    "boot/mb2-info22": [
        E(
            "mb2-unsupported-info-request",
            at_mb2(16),
            ('"error: unsupported information tag: 0x16."',),
            MB2,
        ),
    ],
    "boot/mb2-address-no-entry": [
        E(
            "mb2-address-without-entry",
            at_mb2(16),
            ('"error: load address tag without entry address tag."',),
            MB2,
        ),
    ],
    "boot/mb2-address-entry": [],
    "boot/mb2-reloc-too-small": [
        E(
            "mb2-elf-loader",
            at_mb2(16),
            ("[0x200000, 0x200100]", '"error: invalid min/max address and/or load size."'),
            MB2,
        ),
    ],
    "boot/mb1-elf32-phnum0": [
        E("mb1-elf-loader", 24, ("entry point isn't in a segment",), MB1),
    ],
    # GRUB's entry search looks at every program header, PT_NULL too (qemu-load-elf refuses)
    "boot/mb1-elf32-no-load": [],
    "boot/mb1-aout-fields-cut": [
        E("mb1-outside-window", at_mb1(0), ("past the end of the file", "uninitialised")),
        # QEMU's verdict is undefined: it refuses, with the loader error marked undefined
        E("mb1-address-fields", at_mb1(12), ("uninitialised stack memory",), ("qemu",)),
    ],
    "boot/mb2-elf32-rel": [
        E("mb2-elf-loader", 16, ("this ELF file is not of the right type",), MB2)
    ],
    "boot/mb2-rela-section": [
        E(
            "mb2-elf-loader",
            lambda data: struct.unpack_from("<I", data, 32)[0] + 3 * 40,  # .data's header
            (".data is SHT_RELA", '"error: ELF files with relocs are not supported yet."'),
            MB2,
        ),
    ],
}

test_boot_case = boot_cases_test(BOOT_CASES)


@pytest.mark.parametrize(
    ("rule_id", "name"),
    [("mb1-no-header", name) for name in ("mb1-elf32", "mb1-aout-ok", "mb1-window-end-8160")]
    + [("mb2-no-header", name) for name in ("mb2-elf32", "mb2-elf64", "mb2-tag8")],
)
def test_background_rules_stay_quiet_where_a_header_exists(rule_id: str, name: str) -> None:
    assert findings(f"boot/{name}", [RULES[rule_id]]) == []
