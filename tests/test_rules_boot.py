"""The boot-protocol rules (mb1-*, mb2-*, linux-*, bzimage-*, pe-signed, elf-unsupported-machine):
what each reports on fixtures/variants_boot.py's images, what the real loaders say about the
same images, and the verdicts `check` derives.

* test_rule_findings: every one of these rules on every variant; the findings must be exactly
  the expected ones (rule, layer, offset, rejects, message fragments). The background rules
  (mb1-no-header, mb2-no-header, linux-not-bzimage), which fire on most images, are compared
  only where a variant lists them.
* test_real_loader: the claims behind the findings, asked of the real programs: QEMU 7.2
  -kernel (exact stderr), GRUB 2.06's own `multiboot`/`multiboot2`/`linux` commands booted in
  QEMU (tests/loaders/grub_boot.py, needs grub-pc-bin), grub-file, libxenguest 4.17.
* test_verdicts: check_image's verdict for each target agrees with those real answers.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from fixtures.multiboot import MB1_MAGIC, MB2_MAGIC, mb1_checksum
from fixtures.variants_boot import BUILDERS, variant
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from pvhlint.rule import discover_rules
from tests.loaders import (
    grub_available,
    grub_verdict,
    qemu_available,
    qemu_verdict,
    xen_verdict,
    xenguest_available,
)
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict

MINE = (
    "mb1-no-header", "mb1-misaligned", "mb1-bad-checksum", "mb1-outside-window",
    "mb1-qemu-window", "mb1-unsupported-flags", "mb1-video-mode", "mb1-address-fields",
    "mb1-elf64-qemu", "mb1-elf-loader", "mb2-no-header", "mb2-misaligned", "mb2-bad-checksum",
    "mb2-architecture", "mb2-header-length", "mb2-malformed-tag", "mb2-missing-end-tag",
    "mb2-unsupported-tag", "mb2-unsupported-info-request", "mb2-address-without-entry",
    "mb2-elf-loader", "linux-not-bzimage", "bzimage-boot-flag", "bzimage-protocol",
    "bzimage-setup-sects", "bzimage-loaded-high", "bzimage-payload-bounds",
    "bzimage-unknown-codec", "bzimage-truncated", "bzimage-xloadflags", "bzimage-size-trailer",
    "pe-signed", "elf-unsupported-machine", "qemu-load-elf", "elf-header-unreadable",
)  # fmt: skip
BACKGROUND = {"mb1-no-header", "mb2-no-header", "linux-not-bzimage"}
RULES = {rule.id: rule for rule in discover_rules() if rule.id in MINE}
FULL = {"bz-xz-corrupt-tail", "bz-gzip-corrupt-tail"}  # corruption shows only fully decoded
MB1, MB2, LINUX, XEN = ("multiboot1",), ("multiboot2",), ("linux",), ("xen-pvh", "xen-pv")


def mb1_at(data: bytes) -> int:
    return data.find(struct.pack("<I", MB1_MAGIC))


def mb2_at(data: bytes) -> int:
    return data.find(struct.pack("<I", MB2_MAGIC))


def payload_at(data: bytes) -> int:
    return ((data[0x1F1] or 4) + 1) * 512 + struct.unpack_from("<I", data, 0x248)[0]


def payload_end(data: bytes) -> int:
    return payload_at(data) + struct.unpack_from("<I", data, 0x24C)[0]


@dataclass(frozen=True)
class Expect:
    """One finding: `offset` is a number or computed from the variant's bytes."""

    rule: str
    offset: int | Callable[[bytes], int | None] | None
    fragments: tuple[str, ...] = ()
    rejects: tuple[str, ...] = ()
    layer: int = 0

    def at(self, data: bytes) -> int | None:
        return self.offset(data) if callable(self.offset) else self.offset


def at_mb1(delta: int) -> Callable[[bytes], int]:
    return lambda data: mb1_at(data) + delta


def at_mb2(delta: int) -> Callable[[bytes], int]:
    return lambda data: mb2_at(data) + delta


NOT_FOUND_1 = "no multiboot header found"
AOUT = 0x100  # fixtures.variants_boot.FLAT_HEADER
E = Expect
CASES: dict[str, list[Expect]] = {
    # --- Multiboot 1: finding the header
    "mb1-elf32": [],
    "mb1-none-elf32": [E("mb1-no-header", 0, (NOT_FOUND_1, "no Multiboot 1 header in"), MB1)],
    "mb1-misaligned": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-misaligned", 0x102, ("0x102", "not 4-byte aligned", NOT_FOUND_1), MB1),
    ],
    "mb1-bad-checksum": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-bad-checksum", at_mb1(8), (f"{mb1_checksum(3):#010x}", "0x12345678"), MB1),
    ],
    "mb1-outside-8192": [
        E("mb1-no-header", 0, (NOT_FOUND_1,), MB1),
        E("mb1-outside-window", 8192, ("0x2000", "0x1ff4", NOT_FOUND_1), MB1),
    ],
    "mb1-straddle-8176": [
        E("mb1-outside-window", 8176, ("ends at 0x2010", "address fields", "garbage"), MB1),
        E("mb1-qemu-window", 8176, ("0x1fd0", "zImage")),
    ],
    "mb1-window-end-8160": [E("mb1-qemu-window", 8160, ("0x1fe0", "below 0x1fd0 (8144)"))],
    "mb1-gzip-elf32": [
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
    "mb1-aout-ok": [],
    "mb1-flags-bit3": [
        E("mb1-unsupported-flags", AOUT + 4, ('"error: unsupported flag: 0x1000b."', "bit 3"), MB1),
    ],
    "mb1-flags-bit17": [],
    "mb1-video-mode0": [E("mb1-video-mode", AOUT + 4, ("multiboot knows VBE. we don't",))],
    "mb1-video-mode2": [
        E("mb1-video-mode", AOUT + 4, ("multiboot knows VBE. we don't",)),
        E("mb1-video-mode", AOUT + 32, ('"error: unsupported graphical mode type 2."',), MB1),
    ],
    # --- Multiboot 1: a.out-kludge address fields (QEMU's order, GRUB's outcome)
    "mb1-aout-load-above-header": [
        E("mb1-address-fields", AOUT + 16, ('QEMU: "invalid load_addr address"',), ("qemu",)),
    ],
    "mb1-aout-header-before-file": [
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
    "mb1-aout-load-end-below": [
        E(
            "mb1-address-fields",
            AOUT + 20,
            ('QEMU: "invalid load_end_addr address"', '"error: address is out of range."'),
            ("qemu", "multiboot1"),
        ),
    ],
    "mb1-aout-past-4g": [
        E(
            "mb1-address-fields",
            AOUT + 16,
            ('QEMU: "kernel does not fit in address space"', '"error: address is out of range."'),
            ("qemu", "multiboot1"),
        ),
    ],
    "mb1-aout-below-4g": [],
    "mb1-aout-bss-below-end": [
        E(
            "mb1-address-fields",
            AOUT + 24,
            ('QEMU: "invalid bss_end_addr address"', "GRUB zeroes"),
            ("qemu", "multiboot1"),
        ),
    ],
    "mb1-aout-past-file": [
        E(
            "mb1-address-fields",
            AOUT + 20,
            ('QEMU: "fread() failed"', "file ends at 0x1000"),
            ("qemu",),
        ),
    ],
    "mb1-aout-entry-outside": [E("mb1-address-fields", AOUT + 28, ("entry_addr 0x105000",))],
    # --- Multiboot 1: the ELF path
    "mb1-elf64": [
        E(
            "mb1-elf64-qemu",
            18,
            ('QEMU: "Cannot load x86-64 image, give a 32bit one."',),
            ("qemu",),
        ),
    ],
    "mb1-elf32-em-x86-64": [
        E("mb1-elf64-qemu", 18, ("ELF32", "Cannot load x86-64 image"), ("qemu",)),
        E("mb1-elf-loader", 18, ('"error: invalid arch-dependent ELF magic."',), MB1),
    ],
    "mb1-elf64-em-386": [
        E(
            "mb1-elf-loader",
            18,
            ("ELF64 with e_machine 3", "invalid arch-dependent ELF magic"),
            MB1,
        ),
    ],
    "mb1-elf32-rel": [E("mb1-elf-loader", 16, ("this ELF file is not of the right type",), MB1)],
    "mb1-elf32-entry-outside": [
        E("mb1-elf-loader", 24, ("0x5000000", "entry point isn't in a segment"), MB1),
    ],
    "mb1-elf32-phdrs-8192": [],
    "mb1-elf32-phdrs-past-8192": [
        E("mb1-elf-loader", 28, ("0x2001", "program header at a too high offset"), MB1),
    ],
    "mb1-elf64-crosses-4g": [
        E("mb1-elf64-qemu", 18, ("Cannot load x86-64 image",), ("qemu",)),
        E("mb1-elf-loader", 64 + 56, ("PT_LOAD 1", "segment crosses 4 GiB border"), MB1),
    ],
    "mb1-elf32-phnum0": [
        E("mb1-elf-loader", 24, ("entry point isn't in a segment",), MB1),
        E("qemu-load-elf", 0x2C, ("e_phnum is 0", "Error while loading elf kernel"), ("qemu",)),
    ],
    "mb1-elf32-no-load": [  # GRUB's entry search looks at every program header, PT_NULL too
        E("qemu-load-elf", at_mb1(0), ("Error while fetching elf kernel from rom",), ("qemu",)),
    ],
    "mb1-aout-fields-cut": [
        E("mb1-outside-window", at_mb1(0), ("past the end of the file", "uninitialised"), ()),
        E("mb1-address-fields", at_mb1(12), ("uninitialised stack memory",), ()),
    ],
    "mb1-elf32-truncated": [
        E("mb1-elf-loader", 52 + 32, ("PT_LOAD 1", "premature end of file"), MB1),
        E(
            "mb1-elf-loader",
            52 + 32,
            ("PT_LOAD 1", 'QEMU: "Error while loading elf kernel"'),
            ("qemu",),
        ),
    ],
    "mb1-flat-without-aout": [
        E("mb1-elf-loader", 0, ("not an ELF", "invalid arch-dependent ELF magic"), MB1),
        E("mb1-elf-loader", 0, ('QEMU: "Error while loading elf kernel"',), ("qemu",)),
    ],
    "mb1-elf32-arm": [
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
    "mb1-elf64-big-endian": [
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
    "mb2-elf32": [],
    "mb2-elf64": [],
    "mb2-none-elf32": [E("mb2-no-header", 0, (NOT_FOUND_1, "no Multiboot 2 header"), MB2)],
    "mb2-misaligned": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-misaligned", at_mb2(0), ("not 8-byte aligned", NOT_FOUND_1), MB2),
    ],
    "mb2-bad-checksum": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-bad-checksum", at_mb2(12), ("0x17adaf12", "0x00000001"), MB2),
    ],
    "mb2-arch4": [
        E("mb2-no-header", 0, (NOT_FOUND_1,), MB2),
        E("mb2-architecture", at_mb2(4), ("architecture 4 (MIPS32)", "grub-file says yes"), MB2),
    ],
    "mb2-length-mismatch": [E("mb2-header-length", at_mb2(8), ("header_length 40",))],
    "mb2-no-end-tag": [
        E("mb2-header-length", at_mb2(8), ("without an end tag",)),
        E("mb2-missing-end-tag", at_mb2(0), ("no end tag", "depends on those bytes")),
    ],
    "mb2-tag-size0": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 0", "hangs"), MB2)],
    "mb2-tag-size4": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 4", "steps 8 bytes"))],
    "mb2-info-size4": [
        E("mb2-malformed-tag", at_mb2(16 + 4), ("size 4", "unsupported information tag"), MB2),
    ],
    "mb2-entry-size8": [E("mb2-malformed-tag", at_mb2(16 + 4), ("size 8, not 12",))],
    "mb2-end-size0": [E("mb2-malformed-tag", at_mb2(16 + 4), ("tag 0 (end)", "size 0"))],
    "mb2-tag8": [
        E("mb2-unsupported-tag", at_mb2(16), ('"error: unsupported tag: 0x8."', "EFI i386"), MB2),
    ],
    "mb2-tag8-optional": [],
    "mb2-tag11": [E("mb2-unsupported-tag", at_mb2(16), ('"error: unsupported tag: 0xb."',), MB2)],
    "mb2-info13": [
        E(
            "mb2-unsupported-info-request",
            at_mb2(16),
            ("13 (SMBIOS)", '"error: unsupported information tag: 0xd."'),
            MB2,
        ),
    ],
    "mb2-info13-optional": [],
    "mb2-info22": [
        E(
            "mb2-unsupported-info-request",
            at_mb2(16),
            ('"error: unsupported information tag: 0x16."',),
            MB2,
        ),
    ],
    "mb2-address-no-entry": [
        E(
            "mb2-address-without-entry",
            at_mb2(16),
            ('"error: load address tag without entry address tag."',),
            MB2,
        ),
    ],
    "mb2-address-entry": [],
    "mb2-reloc-too-small": [
        E(
            "mb2-elf-loader",
            at_mb2(16),
            ("[0x200000, 0x200100]", '"error: invalid min/max address and/or load size."'),
            MB2,
        ),
    ],
    "mb2-elf32-rel": [E("mb2-elf-loader", 16, ("this ELF file is not of the right type",), MB2)],
    "mb2-rela-section": [
        E(
            "mb2-elf-loader",
            lambda data: struct.unpack_from("<I", data, 32)[0] + 3 * 40,  # .data's header
            (".data is SHT_RELA", '"error: ELF files with relocs are not supported yet."'),
            MB2,
        ),
    ],
    # --- Linux boot protocol
    "bz-xz": [],
    "bz-gzip-elf32": [],
    "bz-elf-vmlinux": [E("linux-not-bzimage", 0x1FE, ("an ELF64", "invalid magic number"), LINUX)],
    "bz-no-hdrs": [
        E("linux-not-bzimage", 0x202, ('no "HdrS"', "version too old for 32-bit boot"), LINUX),
    ],
    "bz-bad-boot-flag": [
        E(
            "bzimage-boot-flag",
            0x1FE,
            ("boot_flag 0x0000", '"error: invalid magic number."'),
            LINUX,
        ),
    ],
    "bz-v0202": [
        E(
            "bzimage-protocol",
            0x206,
            ("2.02", '"error: version too old for 32-bit boot"', "boot protocol too old (0202)"),
            ("linux", *XEN),
        ),
        E("bzimage-protocol", 0x22C, ("initrd_addr_max (2.03+)", "xloadflags (2.12+)")),
    ],
    "bz-v0207": [
        E("bzimage-protocol", 0x206, ("2.07", "boot protocol too old (0207)"), XEN),
        E(
            "bzimage-protocol",
            0x235,
            (
                "min_alignment (2.10+)",
                "xloadflags (2.12+)",
                "kernel_info_offset (2.15+)",
                "was the version lowered",
            ),
        ),
    ],
    "bz-setup-sects-65": [
        E(
            "bzimage-setup-sects",
            0x1F1,
            ("setup_sects 65", '"error: too many setup sectors."'),
            LINUX,
        ),
    ],
    "bz-setup-sects-0": [
        E(
            "bzimage-setup-sects",
            0x1F1,
            ("setup_sects 0", "0x600", "unknown compression format"),
            XEN,
        ),
    ],
    "bz-loaded-low": [
        E(
            "bzimage-loaded-high",
            0x211,
            ("LOADED_HIGH", "zImage doesn't support 32-bit boot"),
            LINUX,
        ),
    ],
    "bz-payload-past-eof": [
        E(
            "bzimage-payload-bounds",
            0x24C,
            ('"xc_dom_probe_bzimage_kernel: payload length overflow"',),
            XEN,
        ),
    ],
    "bz-payload-offset-past-eof": [
        E(
            "bzimage-payload-bounds",
            0x248,
            ('"xc_dom_probe_bzimage_kernel: payload offset overflow"',),
            XEN,
        ),
    ],
    "bz-payload-short": [E("bzimage-payload-bounds", 0x24C, ("payload_length 4",), XEN)],
    "bz-unknown-codec": [
        E("bzimage-unknown-codec", payload_at, ("de ad be ef", "unknown compression format"), XEN),
    ],
    "bz-truncated": [
        E("bzimage-payload-bounds", 0x248, ("payload offset overflow",), XEN),
        E(
            "bzimage-truncated",
            0x1F1,
            ("0xf9c", "0x1000", 'QEMU: "qemu: invalid kernel header"', "premature end of file"),
            ("qemu", "linux"),
        ),
    ],
    "bz-xlf64-elf32": [E("bzimage-xloadflags", 0x236, ("set XLF_KERNEL_64", "ELF32"))],
    "bz-elf64-no-xlf64": [E("bzimage-xloadflags", 0x236, ("lack XLF_KERNEL_64", "ELF64"))],
    "bz-trailer-big": [
        E(
            "bzimage-size-trailer",
            lambda data: payload_end(data) - 4,
            ("differs from the size trailer", "unable to XZ decompress kernel"),
            XEN,
        ),
    ],
    "bz-trailer-small": [
        # xz decodes into a trailer-sized buffer: Xen takes a cut kernel, and libelf refuses
        # it (xen-elf-init, in the payload layer)
        E(
            "bzimage-size-trailer",
            lambda data: payload_end(data) - 4,
            ("differs from the size trailer", "takes the first 0x3e0 bytes"),
        ),
    ],
    "bz-xz-corrupt-tail": [
        E(
            "bzimage-size-trailer",
            payload_at,
            ("does not decompress", "Corrupt input data", "unable to XZ decompress kernel"),
            XEN,
        ),
    ],
    "bz-gzip-corrupt-tail": [
        E(
            "bzimage-size-trailer",
            payload_at,
            ("incorrect data check", '"xc_dom_do_gunzip: inflate failed (rc=-3)"'),
            XEN,
        ),
    ],
    "bz-signed": [E("pe-signed", 0x40 + 24 + 144, ("Authenticode", "1 certificate", "re-sign"))],
    # --- ELF machine
    "elf64-aarch64": [
        E(
            "elf-unsupported-machine",
            18,
            (
                "AArch64 (e_machine 183)",
                "unknown image type 183",
                'QEMU: "Error while loading elf kernel"',
            ),
            ("xen-pv", "qemu"),
        ),
    ],
    "elf32-arm": [E("elf-unsupported-machine", 18, ("ARM (e_machine 40)",), ("xen-pv", "qemu"))],
    "elf64-pvh": [],
    "elf-magic-only": [
        E("elf-header-unreadable", 0, ('"Error while loading elf kernel"',), ("qemu",)),
    ],
    # libelf steps through the table by e_phentsize, QEMU by sizeof(Elf64_Phdr): both find
    # the PVH note (Xen in SHT_NOTE, QEMU in the PT_NOTE), so both boot it
    "elf64-phentsize-112": [],
    "elf64-phentsize-0": [],
}
EXTRA = {"mb1-gzip-elf32": lambda: gzip_catalogue("gzip-elf32-mb1")}


def gzip_catalogue(name: str) -> bytes:
    from fixtures.catalogue import catalogue

    return catalogue()[name].data


@pytest.fixture(scope="module")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    folder = tmp_path_factory.mktemp("boot-variants")

    @cache
    def path(name: str) -> Path:
        target = folder / name
        target.write_bytes(EXTRA[name]() if name in EXTRA else variant(name))
        return target

    return path


def test_every_rule_and_variant_is_covered() -> None:
    assert set(RULES) == set(MINE), "a rule of this module is missing from discovery"
    fired = {e.rule for expects in CASES.values() for e in expects}
    assert fired == set(MINE), f"rules never fired: {set(MINE) - fired}"
    assert set(BUILDERS) <= set(CASES), (
        f"variants without expectations: {set(BUILDERS) - set(CASES)}"
    )


def _findings(path: Path, name: str) -> list:  # type: ignore[type-arg]
    image = open_image(path, full=name in FULL, lenient=True)
    return [finding for rule in RULES.values() for finding in rule.run(image)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_findings(name: str, image_path: Callable[[str], Path]) -> None:
    path = image_path(name)
    data = path.read_bytes()
    expected = CASES[name]
    listed = {e.rule for e in expected}
    got = [f for f in _findings(path, name) if f.rule not in BACKGROUND or f.rule in listed]
    key = lambda rule, layer, offset, rejects: (rule, layer, offset, tuple(sorted(rejects)))  # noqa: E731
    want_keys = sorted(key(e.rule, e.layer, e.at(data), e.rejects) for e in expected)
    got_keys = sorted(key(f.rule, f.layer, f.offset, f.rejects) for f in got)
    assert got_keys == want_keys, "\n".join(f"{f.rule}: {f.message}" for f in got)
    for want in expected:
        matches = [f for f in got if key(f.rule, f.layer, f.offset, f.rejects)
                   == key(want.rule, want.layer, want.at(data), want.rejects)]  # fmt: skip
        assert any(all(fragment in f.message for fragment in want.fragments) for f in matches), (
            f"{want.rule}: none of {[f.message for f in matches]} holds all of {want.fragments}"
        )


def test_background_rules_stay_quiet_where_a_header_exists(
    image_path: Callable[[str], Path],
) -> None:
    quiet = {"mb1-no-header": ("mb1-elf32", "mb1-aout-ok", "mb1-window-end-8160"),
             "mb2-no-header": ("mb2-elf32", "mb2-elf64", "mb2-tag8"),
             "linux-not-bzimage": ("bz-xz", "bz-v0202", "bz-bad-boot-flag")}  # fmt: skip
    for rule_id, names in quiet.items():
        for name in names:
            assert RULES[rule_id].run(open_image(image_path(name))) == [], (rule_id, name)


# --- the real loaders --------------------------------------------------------------------------

# (variant, loader) -> (accept, fragment of the loader's message, or of QEMU's path as "path=X")
# loaders: qemu | grub:<command> (GRUB 2.06 itself) | grub-file:<kind> | xen-pvh | xen-pv
REAL: dict[tuple[str, str], tuple[bool, str | None]] = {
    ("mb1-elf32", "grub:multiboot"): (True, None),
    ("mb1-elf32", "qemu"): (True, "path=multiboot"),
    ("mb1-none-elf32", "grub:multiboot"): (False, NOT_FOUND_1),
    ("mb1-none-elf32", "grub-file:x86-multiboot"): (False, None),
    ("mb1-misaligned", "grub:multiboot"): (False, NOT_FOUND_1),
    ("mb1-misaligned", "grub-file:x86-multiboot"): (False, None),
    ("mb1-misaligned", "qemu"): (True, "path=linux"),
    ("mb1-bad-checksum", "grub:multiboot"): (False, NOT_FOUND_1),
    ("mb1-bad-checksum", "grub-file:x86-multiboot"): (False, None),
    ("mb1-outside-8192", "grub:multiboot"): (False, NOT_FOUND_1),
    ("mb1-outside-8192", "grub-file:x86-multiboot"): (False, None),
    ("mb1-straddle-8176", "grub:multiboot"): (False, None),  # garbage fields: any error
    ("mb1-straddle-8176", "grub-file:x86-multiboot"): (True, None),
    ("mb1-straddle-8176", "qemu"): (True, "path=linux"),
    ("mb1-window-end-8160", "grub:multiboot"): (True, None),
    ("mb1-window-end-8160", "qemu"): (True, "path=linux"),
    ("mb1-gzip-elf32", "grub:multiboot"): (True, None),
    ("mb1-gzip-elf32", "qemu"): (False, "qemu: invalid kernel header"),  # zImage fallback
    ("mb1-aout-ok", "grub:multiboot"): (True, None),
    ("mb1-aout-ok", "qemu"): (True, "path=multiboot"),
    ("mb1-flags-bit3", "grub:multiboot"): (False, "unsupported flag: 0x1000b"),
    ("mb1-flags-bit3", "grub-file:x86-multiboot"): (True, None),
    ("mb1-flags-bit3", "qemu"): (True, "path=multiboot"),
    ("mb1-flags-bit17", "grub:multiboot"): (True, None),
    ("mb1-video-mode0", "grub:multiboot"): (True, None),
    ("mb1-video-mode0", "qemu"): (True, "multiboot knows VBE. we don't"),
    ("mb1-video-mode2", "grub:multiboot"): (False, "unsupported graphical mode type 2"),
    ("mb1-video-mode2", "qemu"): (True, "multiboot knows VBE. we don't"),
    ("mb1-aout-load-above-header", "qemu"): (False, "invalid load_addr address"),
    ("mb1-aout-load-above-header", "grub:multiboot"): (True, None),
    ("mb1-aout-header-before-file", "qemu"): (False, "invalid header_addr address"),
    ("mb1-aout-header-before-file", "grub:multiboot"): (
        False,
        "attempt to seek outside of the file",
    ),
    ("mb1-aout-load-end-below", "qemu"): (False, "invalid load_end_addr address"),
    ("mb1-aout-load-end-below", "grub:multiboot"): (False, "address is out of range"),
    ("mb1-aout-past-4g", "qemu"): (False, "kernel does not fit in address space"),
    ("mb1-aout-past-4g", "grub:multiboot"): (False, "address is out of range"),
    ("mb1-aout-below-4g", "qemu"): (True, "path=multiboot"),
    ("mb1-aout-below-4g", "grub:multiboot"): (True, None),
    ("mb1-aout-bss-below-end", "qemu"): (False, "invalid bss_end_addr address"),
    ("mb1-aout-bss-below-end", "grub:multiboot"): (False, None),  # crashes (or hangs)
    ("mb1-aout-past-file", "qemu"): (False, "fread() failed"),
    ("mb1-aout-past-file", "grub:multiboot"): (True, None),
    ("mb1-aout-entry-outside", "qemu"): (True, "path=multiboot"),
    ("mb1-aout-entry-outside", "grub:multiboot"): (True, None),
    ("mb1-elf64", "qemu"): (False, "Cannot load x86-64 image, give a 32bit one."),
    ("mb1-elf64", "grub:multiboot"): (True, None),
    ("mb1-elf32-em-x86-64", "qemu"): (False, "Cannot load x86-64 image, give a 32bit one."),
    ("mb1-elf32-em-x86-64", "grub:multiboot"): (False, "invalid arch-dependent ELF magic"),
    ("mb1-elf64-em-386", "qemu"): (True, "path=multiboot"),
    ("mb1-elf64-em-386", "grub:multiboot"): (False, "invalid arch-dependent ELF magic"),
    ("mb1-elf32-rel", "qemu"): (True, "path=multiboot"),
    ("mb1-elf32-rel", "grub:multiboot"): (False, "this ELF file is not of the right type"),
    ("mb1-elf32-entry-outside", "qemu"): (True, "path=multiboot"),
    ("mb1-elf32-entry-outside", "grub:multiboot"): (False, "entry point isn't in a segment"),
    ("mb1-elf32-phdrs-8192", "grub:multiboot"): (True, None),
    ("mb1-elf32-phdrs-past-8192", "grub:multiboot"): (
        False,
        "program header at a too high offset",
    ),
    ("mb1-elf32-phdrs-past-8192", "qemu"): (True, "path=multiboot"),
    ("mb1-elf64-crosses-4g", "grub:multiboot"): (False, "segment crosses 4 GiB border"),
    ("mb1-elf32-phnum0", "qemu"): (False, "Error while loading elf kernel"),
    ("mb1-elf32-phnum0", "grub:multiboot"): (False, "entry point isn't in a segment"),
    ("mb1-elf32-no-load", "qemu"): (False, "Error while fetching elf kernel from rom"),
    ("mb1-elf32-no-load", "grub:multiboot"): (True, None),
    # undefined (uninitialised memory), as measured with Debian 12's QEMU and GRUB
    ("mb1-aout-fields-cut", "qemu"): (True, "path=multiboot"),
    ("mb1-aout-fields-cut", "grub:multiboot"): (True, None),
    ("mb1-elf32-truncated", "grub:multiboot"): (False, "premature end of file"),
    ("mb1-elf32-truncated", "qemu"): (False, "Error while loading elf kernel"),
    ("mb1-flat-without-aout", "grub:multiboot"): (False, "invalid arch-dependent ELF magic"),
    ("mb1-flat-without-aout", "qemu"): (False, "Error while loading elf kernel"),
    ("mb1-elf32-arm", "grub:multiboot"): (False, "invalid arch-dependent ELF magic"),
    ("mb1-elf32-arm", "qemu"): (False, "Error while loading elf kernel"),
    ("mb1-elf64-big-endian", "grub:multiboot"): (False, "invalid arch-independent ELF magic"),
    ("mb1-elf64-big-endian", "qemu"): (False, "Error while loading elf kernel"),
    ("mb1-elf64-big-endian", "xen-pvh"): (False, "ELF image is not 32bit"),
    ("mb1-elf64-big-endian", "xen-pv"): (False, "xc_dom_find_loader: no loader found"),
    ("mb2-elf32", "grub:multiboot2"): (True, None),
    ("mb2-elf64", "grub:multiboot2"): (True, None),
    ("mb2-none-elf32", "grub:multiboot2"): (False, NOT_FOUND_1),
    ("mb2-none-elf32", "grub-file:x86-multiboot2"): (False, None),
    ("mb2-misaligned", "grub:multiboot2"): (False, NOT_FOUND_1),
    ("mb2-misaligned", "grub-file:x86-multiboot2"): (False, None),
    ("mb2-bad-checksum", "grub:multiboot2"): (False, NOT_FOUND_1),
    ("mb2-bad-checksum", "grub-file:x86-multiboot2"): (False, None),
    ("mb2-arch4", "grub:multiboot2"): (False, NOT_FOUND_1),
    ("mb2-arch4", "grub-file:x86-multiboot2"): (True, None),
    ("mb2-length-mismatch", "grub:multiboot2"): (True, None),
    ("mb2-no-end-tag", "grub:multiboot2"): (True, None),  # its code reads as an optional tag
    ("mb2-tag-size0", "grub:multiboot2"): (False, "hang"),
    ("mb2-tag-size4", "grub:multiboot2"): (True, None),
    ("mb2-info-size4", "grub:multiboot2"): (False, "unsupported information tag: 0x"),
    ("mb2-entry-size8", "grub:multiboot2"): (True, None),
    ("mb2-end-size0", "grub:multiboot2"): (True, None),
    ("mb2-tag8", "grub:multiboot2"): (False, "unsupported tag: 0x8"),
    ("mb2-tag8", "grub-file:x86-multiboot2"): (True, None),
    ("mb2-tag8-optional", "grub:multiboot2"): (True, None),
    ("mb2-tag11", "grub:multiboot2"): (False, "unsupported tag: 0xb"),
    ("mb2-info13", "grub:multiboot2"): (False, "unsupported information tag: 0xd"),
    ("mb2-info13-optional", "grub:multiboot2"): (True, None),
    ("mb2-info22", "grub:multiboot2"): (False, "unsupported information tag: 0x16"),
    ("mb2-address-no-entry", "grub:multiboot2"): (
        False,
        "load address tag without entry address tag",
    ),
    ("mb2-address-entry", "grub:multiboot2"): (True, None),
    ("mb2-reloc-too-small", "grub:multiboot2"): (
        False,
        "invalid min/max address and/or load size",
    ),
    ("mb2-elf32-rel", "grub:multiboot2"): (False, "this ELF file is not of the right type"),
    ("mb2-rela-section", "grub:multiboot2"): (
        False,
        "ELF files with relocs are not supported yet",
    ),
    ("bz-xz", "grub:linux"): (True, None),
    ("bz-xz", "qemu"): (True, "path=linux"),
    ("bz-xz", "xen-pvh"): (True, None),
    ("bz-elf-vmlinux", "grub:linux"): (False, "invalid magic number"),
    ("bz-elf-vmlinux", "grub-file:x86-linux32"): (False, None),
    ("bz-no-hdrs", "grub:linux"): (False, "version too old for 32-bit boot"),
    ("bz-no-hdrs", "grub-file:x86-linux32"): (False, None),
    ("bz-bad-boot-flag", "grub:linux"): (False, "invalid magic number"),
    ("bz-bad-boot-flag", "qemu"): (True, "path=linux"),
    ("bz-v0202", "grub:linux"): (False, "version too old for 32-bit boot"),
    ("bz-v0202", "grub-file:x86-linux32"): (False, None),
    ("bz-v0202", "xen-pvh"): (False, "boot protocol too old (0202)"),
    ("bz-v0207", "grub:linux"): (True, None),
    ("bz-v0207", "xen-pvh"): (False, "xc_dom_probe_bzimage_kernel: boot protocol too old (0207)"),
    ("bz-setup-sects-65", "grub:linux"): (False, "too many setup sectors"),
    ("bz-setup-sects-65", "grub-file:x86-linux32"): (False, None),
    ("bz-setup-sects-65", "qemu"): (True, "path=linux"),
    ("bz-setup-sects-65", "xen-pvh"): (True, None),
    ("bz-setup-sects-0", "grub:linux"): (True, None),
    ("bz-setup-sects-0", "qemu"): (True, "path=linux"),
    ("bz-setup-sects-0", "xen-pvh"): (False, "unknown compression format"),
    ("bz-loaded-low", "grub:linux"): (False, "zImage doesn't support 32-bit boot"),
    ("bz-loaded-low", "grub-file:x86-linux32"): (False, None),
    ("bz-loaded-low", "qemu"): (True, "path=linux"),
    ("bz-payload-past-eof", "xen-pvh"): (False, "payload length overflow"),
    ("bz-payload-past-eof", "grub:linux"): (True, None),
    ("bz-payload-offset-past-eof", "xen-pvh"): (False, "payload offset overflow"),
    ("bz-payload-short", "xen-pvh"): (False, None),
    ("bz-unknown-codec", "xen-pvh"): (False, "unknown compression format"),
    ("bz-unknown-codec", "grub:linux"): (True, None),
    ("bz-truncated", "qemu"): (False, "qemu: invalid kernel header"),
    ("bz-truncated", "grub:linux"): (False, "premature end of file"),
    ("bz-xlf64-elf32", "grub:linux"): (True, None),
    ("bz-trailer-big", "xen-pvh"): (False, "unable to XZ decompress kernel"),
    ("bz-trailer-small", "xen-pvh"): (False, None),
    ("bz-xz-corrupt-tail", "xen-pvh"): (False, "unable to XZ decompress kernel"),
    ("bz-gzip-corrupt-tail", "xen-pvh"): (False, "xc_dom_do_gunzip: inflate failed (rc=-3)"),
    ("elf64-aarch64", "qemu"): (False, "Error while loading elf kernel"),
    ("elf64-aarch64", "xen-pv"): (False, None),
    ("elf32-arm", "qemu"): (False, "Error while loading elf kernel"),
    ("elf-magic-only", "qemu"): (False, "Error while loading elf kernel"),
    ("elf-magic-only", "xen-pvh"): (False, "no loader found"),
    ("elf64-phentsize-112", "qemu"): (True, "path=pvh"),
    ("elf64-phentsize-112", "xen-pvh"): (True, "Found PVH image"),
    ("elf64-phentsize-0", "qemu"): (True, "path=pvh"),
    ("elf64-phentsize-0", "xen-pvh"): (True, "Found PVH image"),
}
TARGET_OF = {"qemu": "qemu", "grub:multiboot": "multiboot1", "grub:multiboot2": "multiboot2",
             "grub:linux": "linux", "xen-pvh": "xen-pvh", "xen-pv": "xen-pv"}  # fmt: skip


def _available(loader: str) -> bool:
    if loader == "qemu":
        return qemu_available()
    if loader.startswith("grub:"):
        return grub_boot_available()
    if loader.startswith("grub-file:"):
        return grub_available()
    return xenguest_available()


@cache
def _ask(path: Path, loader: str) -> tuple[bool, str]:
    if loader == "qemu":
        verdict = qemu_verdict(path)
        return verdict.accept, f"path={verdict.path} {verdict.message}"
    if loader.startswith("grub:"):
        timeout = 6.0 if "tag-size0" in path.name else 30.0  # a hang costs the whole timeout
        verdict = grub_load_verdict(path, loader.removeprefix("grub:"), timeout=timeout)
        return verdict.accept, verdict.message
    if loader.startswith("grub-file:"):
        return grub_verdict(path, loader.removeprefix("grub-file:")).accept, ""
    verdict = xen_verdict(path, loader.removeprefix("xen-"))
    accept = verdict.accept and (loader != "xen-pvh" or verdict.path in ("elf", "bzimage"))
    return accept, verdict.message


@pytest.mark.parametrize(("name", "loader"), sorted(REAL), ids=lambda v: str(v))
def test_real_loader(name: str, loader: str, image_path: Callable[[str], Path]) -> None:
    if not _available(loader):
        pytest.skip(f"{loader} is not installed")
    accept, fragment = REAL[name, loader]
    got, message = _ask(image_path(name), loader)
    assert got == accept, message
    if fragment is not None:
        assert fragment in message


@pytest.mark.parametrize("name", sorted({name for name, _ in REAL}))
def test_verdicts(name: str, image_path: Callable[[str], Path]) -> None:
    """check_image's verdicts agree with the real loaders' answers above (the table is checked
    against the real programs by test_real_loader)."""
    image = open_image(image_path(name), full=name in FULL, lenient=True)
    result = check_image(image, Options())
    for (variant_name, loader), (accept, fragment) in REAL.items():
        target = TARGET_OF.get(loader)
        if variant_name != name or target is None:
            continue
        verdict = result.verdicts[target]
        assert verdict.accept == accept, (target, verdict.rules)
        if loader == "qemu" and accept and fragment and fragment.startswith("path="):
            assert verdict.path == fragment.removeprefix("path=")


# --- real-world images ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def gunzipped(debian_image, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    folder = tmp_path_factory.mktemp("gunzipped")

    def get(name: str) -> Path:
        target = folder / name
        if not target.exists():
            target.write_bytes(gzip.decompress(Path(debian_image(name)).read_bytes()))
        return target

    return get


@pytest.mark.realworld
def test_gnumach_qemu_refuses_grub_accepts(gunzipped, debian_image) -> None:
    """Debian's gnumach-1.8-486 is an ELF64 Multiboot 1 kernel: GRUB boots it, QEMU refuses
    it, but only once gunzipped (QEMU does not gunzip; it then runs the .gz as a zImage)."""
    raw = gunzipped("gnumach")
    result = check_image(open_image(raw), Options())
    assert result.verdicts["qemu"].rules == ["mb1-elf64-qemu"]
    assert result.verdicts["multiboot1"].accept
    assert "multiboot1" in result.required
    packed = check_image(open_image(debian_image("gnumach")), Options(require=("qemu",)))
    assert packed.verdicts["qemu"].accept and packed.verdicts["qemu"].path == "linux"
    assert packed.verdicts["multiboot1"].accept
    assert [f.rule for f in packed.findings if f.rule.startswith("mb1-")] == ["mb1-qemu-window"]
    if qemu_available():
        verdict = qemu_verdict(raw)
        assert not verdict.accept
        assert verdict.message == "Cannot load x86-64 image, give a 32bit one."
        assert qemu_verdict(debian_image("gnumach")).path == "linux"
    if grub_boot_available():
        assert grub_load_verdict(raw, "multiboot").accept
        assert grub_load_verdict(debian_image("gnumach"), "multiboot").accept


@pytest.mark.realworld
def test_xen_hypervisor_multiboot(debian_image) -> None:
    """xen-4.17-amd64.gz boots through GRUB's multiboot and multiboot2; xen-4.17-amd64.efi
    carries the same headers (grub-file says yes to both) but is a PE file, which GRUB's ELF
    path and QEMU's refuse."""
    xen = check_image(open_image(debian_image("xen")), Options())
    assert xen.verdicts["multiboot1"].accept and xen.verdicts["multiboot2"].accept
    efi = check_image(open_image(debian_image("xen-efi")), Options())
    assert efi.verdicts["multiboot1"].rules == ["mb1-elf-loader"]
    assert efi.verdicts["multiboot2"].rules == ["mb2-elf-loader"]
    assert "mb1-elf-loader" in efi.verdicts["qemu"].rules
    if grub_available():
        assert grub_verdict(debian_image("xen-efi"), "x86-multiboot2").accept
    if grub_boot_available():
        assert grub_load_verdict(debian_image("xen"), "multiboot2").accept
        refused = grub_load_verdict(debian_image("xen-efi"), "multiboot2")
        assert (refused.accept, refused.message) == (False, "invalid arch-dependent ELF magic")
    if qemu_available():
        assert qemu_verdict(debian_image("xen-efi")).message == "Error while loading elf kernel"


@pytest.mark.realworld
def test_debian_kernels_pass_the_linux_rules(debian_image) -> None:
    linux_rules = {r for r in MINE if r.startswith(("bzimage-", "linux-", "elf-", "pe-"))}
    for name in ("amd64", "cloud", "amd64-signed"):
        image = open_image(debian_image(name))
        fired = {f.rule for rule_id in linux_rules for f in RULES[rule_id].run(image)}
        assert fired == ({"pe-signed"} if name == "amd64-signed" else set()), name
        assert check_image(image, Options()).verdicts["linux"].accept
    if grub_boot_available():
        assert grub_load_verdict(debian_image("amd64"), "linux").accept
