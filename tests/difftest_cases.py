# ruff: noqa: E501  (recorded loader and pvhlint messages are kept whole, one per line)
"""Mismatches the differential test found (tests/difftest.py), each minimised and kept as a
recipe (a parent fixture plus field edits), with the real loader's verdict and message as
recorded by `python -m tests.difftest`. tests/test_difftest.py checks that the real loader
still says so, and marks pvhlint's side xfail until the model agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.difftest import Recipe, class_key, recompress, set_field, splice, truncate, wrap
from tests.loaders.releases import Release

__all__ = [
    "CASES",
    "UNDEFINED",
    "Case",
    "Release",
    "recompress",
    "set_field",
    "splice",
    "truncate",
    "wrap",
]


@dataclass(frozen=True)
class Case:
    recipe: Recipe
    target: str
    real: str  # the real loader's word: "accept", "accept (linux)", "reject"
    message: str  # the real loader's message when recorded
    ours: str  # pvhlint's verdict when recorded (for the reader; not compared)
    release: Release = Release.DEBIAN12  # whose loaders gave `real`

    @property
    def key(self) -> tuple[str, ...]:
        return class_key(self.target, self.ours, self.real, self.message)


# From `python -m tests.difftest --count 300 --seed 12 --no-debian` (the CI batch).
CASES: tuple[Case, ...] = (
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="linux",
        real="reject",
        message="grub-file --is-x86-linux32: no",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe("boot/bz-truncated", (wrap("gzip"),)),
        target="linux",
        real="reject",
        message="grub-file yes; GRUB linux: attempt to seek outside of the file",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("bzimage-gzip", (wrap("gzip"),)),
        target="linux",
        real="accept",
        message="grub-file yes; GRUB linux: loaded",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("bzimage-bzip2", (set_field("setup.init_size", 0x260, 4, 0x80000000),)),
        target="linux",
        real="reject",
        message="grub-file yes; GRUB linux: out of memory",
        ours="accept",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="multiboot1",
        real="reject",
        message="grub-file --is-x86-multiboot: no",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe("boot/mb1-aout-below-4g", (truncate("file.length", 0x10C),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-outside-window]",
    ),
    Case(
        Recipe("boot/mb1-elf64", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: invalid arch-dependent ELF magic",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "boot/mb1-video-mode2", (wrap("xz"), set_field("mb1.load_addr", 0x110, 4, 0x7FFFFFFF))
        ),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: address is out of range",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="multiboot2",
        real="reject",
        message="grub-file --is-x86-multiboot2: no",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe("elf32-mb2", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x7F),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: invalid arch-dependent ELF magic",
        ours="error: ELF class 127 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="qemu",
        real="reject",
        message="qemu: invalid kernel header",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe("boot/mb1-aout-ok", (set_field("mb1.checksum", 0x108, 4, 0xE4514FFC),)),
        target="qemu",
        real="accept (linux)",
        message="linux",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("elf32-machine-arm", (set_field("e_phentsize", 0x2A, 2, 0x1F),)),
        target="qemu",
        real="reject",
        message="Error while loading elf kernel",
        ours="error: e_phentsize 31 is smaller than 32",
    ),
    Case(
        Recipe("elf32-no-xen-notes", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x3),)),
        target="qemu",
        real="reject",
        message="Error loading uncompressed kernel without PVH ELF Note",
        ours="error: ELF class 3 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("boot/mb2-misaligned", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x2),)),
        target="qemu",
        real="reject",
        message="elfboot unsupported flags = 30004",
        ours="error: e_phentsize 0 is smaller than 56",
    ),
    Case(
        Recipe("pvh32-phys32-descsz3", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="qemu",
        real="accept (pvh)",
        message="pvh",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("pvh32-features-not-dom0", (set_field("phdr[0].p_memsz", 0x48, 4, 0x14),)),
        target="qemu",
        real="reject",
        message="hang: no loader error and no monitor answer in 10 s",
        ours="accept (pvh)",
    ),
    Case(
        Recipe("boot/mb1-elf32-rel", (set_field("e_phnum", 0x2C, 2, 0x0),)),
        target="qemu",
        real="reject",
        message="Error while loading elf kernel",
        ours="accept (multiboot)",
    ),
    Case(
        Recipe("boot/mb1-elf32", (set_field("phdr[0].p_memsz", 0x48, 4, 0x8),)),
        target="qemu",
        real="reject",
        message="Error while fetching elf kernel from rom",
        ours="accept (multiboot)",
    ),
    Case(
        Recipe("boot/mb1-elf64", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="qemu",
        real="reject",
        message="Cannot load x86-64 image, give a 32bit one.",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_find_loader: no loader found",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe(
            "bzimage-lzma",
            (
                splice(
                    "bin.table",
                    0x1190,
                    bytes.fromhex(
                        "78c56e330080010088ba8fcc9011100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pv",
        real="accept",
        message="xc_dom_parse_bin_kernel: multiboot header fields",
        ours="reject [xen-pv-parse]",
    ),
    Case(
        Recipe(
            "boot/mb1-aout-ok",
            (
                set_field("mb1.checksum", 0x108, 4, 0xE4514FFC),
                splice(
                    "bin.table",
                    0x930,
                    bytes.fromhex(
                        "78c56e330080010088ba8fcc3009100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pv",
        real="accept",
        message="xc_dom_parse_bin_kernel: multiboot header fields",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("pvh32-phys32-descsz3", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel, sorry",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("bin/flat-x86_64-bss", (set_field("bin.load_addr", 0x110, 4, 0x200000),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid header_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("boot/bz-truncated", (wrap("gzip"),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: payload offset overflow",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("bin/flat-pae2-align", (set_field("bin.load_end_addr", 0x114, 4, 0xFFFFFFFF),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid load_end_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "pvh64-gnu-property-decoy",
            (
                splice(
                    "bin.table",
                    0x940,
                    bytes.fromhex(
                        "78c56e3300c00100887a8fcc4009100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel, sorry",
        ours="accept",
    ),
    Case(
        Recipe("bin/flat-pae2-align", (set_field("bin.bss_end_addr", 0x118, 4, 0xFFFFC),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid bss_end_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "bin/flat",
            (
                set_field("bin.flags", 0x104, 4, 0x9139C936),
                set_field("bin.checksum(fixed)", 0x108, 4, 0x3B577152),
            ),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_bin_kernel: xen_bin_image_table flags required 0x00010000 found 0x91390936",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("bzip2"),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_find_loader: no loader found",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 42 5a 68 39 31 41 59 26)",
    ),
    Case(
        Recipe("elf32-no-xen-notes", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x3),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_hvm_kernel: ELF image is not 32bit",
        ours="error: ELF class 3 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "elf64-machine-aarch64",
            (
                splice(
                    "bin.table",
                    0x184,
                    bytes.fromhex(
                        "78c56e3300c00100887a8fcc8401100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel, sorry",
        ours="accept",
    ),
    Case(
        Recipe("boot/bz-loaded-low", (wrap("gzip"),)),
        target="xen-pvh",
        real="accept",
        message="Found PVH image",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe(
            "boot/mb1-aout-ok",
            (
                set_field("mb1.checksum", 0x108, 4, 0xE4514FFC),
                splice(
                    "bin.table",
                    0x930,
                    bytes.fromhex(
                        "78c56e330080010088ba8fcc3009100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="not PVH: taken by the multiboot-binary loader as xen-3.0-x86_64",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "boot/bz-loaded-low",
            (
                splice(
                    "bin.table",
                    0xD10,
                    bytes.fromhex(
                        "78c56e3303000100853a90cc100d100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_bin_kernel: xen_bin_image_table flags required 0x00010000 found 0x00010002",
        ours="accept",
    ),
    Case(
        Recipe("bin/flat-x86_64-bss", (set_field("bin.load_addr", 0x110, 4, 0x200000),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid header_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("boot/bz-truncated", (wrap("gzip"),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: payload offset overflow",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("bin/flat-small", ()),
        target="xen-pvh",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel, sorry",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 78 c5 6e 33 00 00 01 00)",
    ),
    Case(
        Recipe("elf32-machine-arm", (set_field("e_phentsize", 0x2A, 2, 0x1F),)),
        target="xen-pvh",
        real="accept",
        message="xc_dom_parse_elf_kernel: hvm-3.0-x86_32: 0x1000000 -> 0x1002100 (no 'Found PVH image': libelf skipped its checks)",
        ours="error: e_phentsize 31 is smaller than 32",
    ),
    Case(
        Recipe("boot/bz-gzip-corrupt-tail", ()),
        target="xen-pvh",
        real="reject",
        message="xc_dom_do_gunzip: inflate failed (rc=-3)",
        ours="accept",
    ),
    Case(
        Recipe("bin/flat-pae2-align", (set_field("bin.load_end_addr", 0x114, 4, 0xFFFFFFFF),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid load_end_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe("bin/flat-pae2-align", (set_field("bin.bss_end_addr", 0x118, 4, 0xFFFFC),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_bin_kernel: Invalid bss_end_addr.",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "bin/flat",
            (
                set_field("bin.flags", 0x104, 4, 0x9139C936),
                set_field("bin.checksum(fixed)", 0x108, 4, 0x3B577152),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_bin_kernel: xen_bin_image_table flags required 0x00010000 found 0x91390936",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "bzimage-xz-signed",
            (
                splice(
                    "bin.table",
                    0x9BC,
                    bytes.fromhex(
                        "78c56e330080010088ba8fccbc09100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="not PVH: taken by the multiboot-binary loader as xen-3.0-x86_64",
        ours="accept",
    ),
    # From the long run seed 20261127 (1740 mutants in 30 min)
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x10),)),
        target="linux",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="error: gzip data cannot be decoded: gzip stream ends early",
    ),
    Case(
        Recipe("flat-mb1-inside", (wrap("xz"),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("elf64-mb1", (wrap("xz"), set_field("phdr[0].p_vaddr", 0x50, 8, 0x80000000))),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: entry point isn't in a segment",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb1-elf32-rel", (set_field("e_phnum", 0x2C, 2, 0xFFFF),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: this ELF file is not of the right type",
        ours="error: program header 15 at 0x214 runs past the end of the data",
    ),
    Case(
        Recipe("boot/mb1-elf64-big-endian", (wrap("xz"),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: invalid arch-independent ELF magic",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("debian-gnumach-gunzipped", (set_field("phdr[2].p_paddr", 0xC8, 8, 0x1000010),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: overlap detected",
        ours="accept",
    ),
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x10),)),
        target="multiboot1",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="error: gzip data cannot be decoded: gzip stream ends early",
    ),
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x9A),)),
        target="multiboot1",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="accept",
    ),
    Case(
        Recipe("boot/mb1-elf32-truncated", (set_field("e_phnum", 0x2C, 2, 0xFFFF),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: program header at a too high offset",
        ours="error: program header 18 at 0x274 runs past the end of the data",
    ),
    Case(
        Recipe("boot/mb1-elf32-truncated", (set_field("e_phnum", 0x2C, 2, 0x1),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: attempt to seek outside of the file",
        ours="accept",
    ),
    Case(
        Recipe("boot/mb1-straddle-8176", (wrap("xz"),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: out of memory",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb2-info22", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0xFF),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: unsupported information tag: 0x16",
        ours="error: ELF class 255 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("boot/mb2-tag-size4", (wrap("xz"),)),
        target="multiboot2",
        real="accept",
        message="grub-file yes; GRUB multiboot2: loaded",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb2-address-no-entry", (set_field("e_phnum", 0x2C, 2, 0xFFFF),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: load address tag without entry address tag",
        ours="error: program header 16 at 0x234 runs past the end of the data",
    ),
    Case(
        Recipe("boot/mb2-arch4", (wrap("xz"),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: no multiboot header found",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb2-tag11", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x0),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: unsupported tag: 0xb",
        ours="error: ELF class 0 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "boot/mb2-tag8-optional",
            (set_field("e_phnum", 0x2C, 2, 0xFFFF), set_field("e_type", 0x10, 2, 0x4)),
        ),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: this ELF file is not of the right type",
        ours="error: program header 16 at 0x234 runs past the end of the data",
    ),
    Case(
        Recipe(
            "boot/mb2-elf64",
            (
                wrap("xz"),
                set_field("phdr[0].p_memsz", 0x68, 8, 0x8),
                set_field("phdr[0].p_filesz", 0x60, 8, 0x3),
            ),
        ),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: entry point isn't in a segment",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x10),)),
        target="multiboot2",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="error: gzip data cannot be decoded: gzip stream ends early",
    ),
    Case(
        Recipe("boot/mb2-tag8-optional", (truncate("file.length", 0x188),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: attempt to seek outside of the file",
        ours="accept",
    ),
    Case(
        Recipe("elf32-mb2", (set_field("mb2.tag@0x70.size", 0xD4, 4, 0x2),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: unsupported tag: 0x40",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb2-no-end-tag",
            (
                set_field("phdr[0].p_filesz", 0x44, 4, 0x298),
                set_field("e_phentsize", 0x2A, 2, 0x1F),
            ),
        ),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: premature end of file (hd0)/k",
        ours="error: e_phentsize 31 is smaller than 32",
    ),
    Case(
        Recipe(
            "boot/mb2-entry-size8",
            (
                set_field("phdr[0].p_memsz", 0x48, 4, 0x110),
                set_field("phdr[0].p_offset", 0x38, 4, 0x61),
            ),
        ),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: crash",
        ours="accept",
    ),
    Case(
        Recipe("boot/mb2-no-end-tag", (truncate("file.length", 0x297),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: premature end of file (hd0)/k",
        ours="accept",
    ),
    Case(
        Recipe("pvh32-paddr-offset-no-virt-base", (set_field("phdr[0].p_memsz", 0x48, 4, 0x8),)),
        target="qemu",
        real="reject",
        message="hang: no loader error and no monitor answer in 10 s",
        ours="accept (pvh)",
    ),
    Case(
        Recipe("boot/mb1-elf32-rel", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x0),)),
        target="qemu",
        real="accept (multiboot)",
        message="multiboot",
        ours="error: ELF class 0 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("pvh64-notes-pad8", (set_field("e_phentsize", 0x36, 2, 0x70),)),
        target="qemu",
        real="accept (pvh)",
        message="pvh",
        ours="reject [qemu-pvh-note]",
    ),
    Case(
        Recipe("boot/mb1-elf32-phdrs-8192", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x2),)),
        target="qemu",
        real="reject",
        message="Error while fetching elf kernel from rom",
        ours="error: e_phentsize 0 is smaller than 56",
    ),
    Case(
        Recipe("debian-grub-i386-xen", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="qemu",
        real="reject",
        message="crash (SIGSEGV)",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "pvh32-features-not-dom0",
            (
                set_field("phdr[0].p_paddr", 0x40, 4, 0xFFFC0000),
                set_field("phdr[0].p_vaddr", 0x3C, 4, 0xFFFC0000),
                set_field("note[1].type", 0x94, 4, 0x8),
            ),
        ),
        target="qemu",
        real="reject",
        message="Some ROM regions are overlapping\nThese ROM regions might have been loaded by direct user request or by default.\nThey could be BIOS/firmware images, a guest kernel, initrd or some other file loaded into guest memory.\nCheck whether you intended to load all this guest code, and whether it has been built to load to the correct addresses.\nThe following two regions overlap (in the memory address space):\n  bios-256k.bin (addresses 0x00000000fffc0000 - 0x0000000100000000)\n  /tmp/pvhlint-difftest-1v_dz1m5/mutant-4c096635565e257d1555.bin ELF program header segment 0 (addresses 0x00000000fffc0000 - 0x00000000fffc0024)",
        ours="accept (pvh)",
    ),
    Case(
        Recipe(
            "elf32-pvh",
            (
                set_field("phdr[0].p_memsz", 0x48, 4, 0xF0),
                set_field("e_ident[EI_CLASS]", 0x4, 1, 0x0),
            ),
        ),
        target="qemu",
        real="reject",
        message="hang: no loader error and no monitor answer in 10 s",
        ours="error: ELF class 0 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "elf64-notes-sections-only",
            (set_field("e_phentsize", 0x36, 2, 0x1), set_field("e_flags", 0x30, 4, 0x4)),
        ),
        target="qemu",
        real="reject",
        message="elfboot unsupported flags = 4",
        ours="error: e_phentsize 1 is smaller than 56",
    ),
    Case(
        Recipe("elf64-notes-two-segments", (truncate("file.length", 0x22C),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_find_loader: no loader found",
        ours="accept",
    ),
    Case(
        Recipe("debian-grub-i386-xen", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32p not supported by xen kernel, sorry",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("bzimage-unknown-codec", (wrap("gzip"),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: unknown compression format",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/mb1-elf32-arm", (set_field("e_phentsize", 0x2A, 2, 0x8),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_guest_type: unknown image type 40",
        ours="error: e_phentsize 8 is smaller than 32",
    ),
    Case(
        Recipe("debian-amd64", (set_field("payload.size_trailer", 0x7C4338, 4, 0x3EDA7B5),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel unable to XZ decompress kernel",
        ours="accept",
    ),
    Case(
        Recipe(
            "pvh64-mb1",
            (
                splice(
                    "bin.table",
                    0xC2C,
                    bytes.fromhex(
                        "78c56e3303000100853a90cc2c0c100000001000000000000000000000001000"
                    ),
                ),
            ),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_bin_kernel: xen_bin_image_table flags required 0x00010000 found 0x00010002",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb1-elf64-em-386",
            (set_field("e_phentsize", 0x36, 2, 0x0), set_field("e_machine", 0x12, 2, 0x4)),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_guest_type: unknown image type 4",
        ours="error: e_phentsize 0 is smaller than 56",
    ),
    Case(
        Recipe("pvh64-gnu-property-palign8", (set_field("e_phentsize", 0x36, 2, 0x0),)),
        target="xen-pv",
        real="accept",
        message="xc_dom_parse_elf_kernel: xen-3.0-x86_64: 0x100000 -> 0x100024",
        ours="error: e_phentsize 0 is smaller than 56",
    ),
    Case(
        Recipe(
            "boot/mb1-elf32",
            (set_field("e_machine", 0x12, 2, 0x0), set_field("e_ident[EI_CLASS]", 0x4, 1, 0x7F)),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_guest_type: unknown image type 0",
        ours="error: ELF class 127 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "bzimage-gzip-elf32-no-pe",
            (wrap("gzip"), set_field("payload.size_trailer", 0x14FD, 4, 0x660)),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_do_gunzip: inflate failed (rc=-3)",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/bz-v0207", (wrap("gzip"),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: boot protocol too old (0207)",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/mb1-elf32-arm", (set_field("e_phentsize", 0x2A, 2, 0x8),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_guest_type: image not capable of booting inside a HVM container",
        ours="error: e_phentsize 8 is smaller than 32",
    ),
    Case(
        Recipe("pvh32-phys32-descsz3", (set_field("e_phentsize", 0x2A, 2, 0x1F),)),
        target="xen-pvh",
        real="reject",
        message="not PVH: taken by the hvm-generic loader as hvm-3.0-x86_32",
        ours="error: e_phentsize 31 is smaller than 32",
    ),
    Case(
        Recipe("elf64-note-bad-alignment", (truncate("file.length", 0x42F),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_find_loader: no loader found",
        ours="accept",
    ),
    Case(
        Recipe("boot/bz-trailer-big", (recompress("raw"),)),
        target="xen-pvh",
        real="accept",
        message="Found PVH image",
        ours="reject [bzimage-unknown-codec]",
    ),
    Case(
        Recipe("bzimage-unknown-codec", (wrap("gzip"),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: unknown compression format",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("debian-amd64", (set_field("payload.size_trailer", 0x7C4338, 4, 0x3EDA7B5),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel unable to XZ decompress kernel",
        ours="accept",
    ),
    Case(
        Recipe(
            "bin/flat-pae2-align",
            (
                set_field("bin.flags", 0x104, 4, 0x14000),
                set_field("bin.checksum(fixed)", 0x108, 4, 0xCC8FFA88),
            ),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_compat_check: guest type xen-3.0-x86_32p not supported by xen kernel, sorry",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with 00 00 00 00 00 00 00 00)",
    ),
    Case(
        Recipe(
            "bzimage-gzip-elf32-no-pe",
            (wrap("gzip"), set_field("payload.size_trailer", 0x14FD, 4, 0x660)),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_do_gunzip: inflate failed (rc=-3)",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/bz-v0207", (wrap("gzip"),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: boot protocol too old (0207)",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/bz-gzip-corrupt-tail", (set_field("payload.size_trailer", 0x4159E, 4, 0x4),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_do_gunzip: inflate failed (rc=-5)",
        ours="accept",
    ),
    # From the long run seed 4242 (1980 mutants in 30 min)
    Case(
        Recipe("debian-cloud", (set_field("setup.init_size", 0x260, 4, 0x1),)),
        target="linux",
        real="reject",
        message="grub-file yes; GRUB linux: crash",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb1-elf64",
            (
                set_field("e_phoff", 0x20, 8, 0x298),
                set_field("mb1.flags", 0x84, 4, 0xB3A4FE3A),
                set_field("mb1.checksum(fixed)", 0x88, 4, 0x30AD51C4),
            ),
        ),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: unsupported flag: 0xb3a4fe3a",
        ours="error: program header 0 at 0x298 runs past the end of the data",
    ),
    Case(
        Recipe("pvh32-mb1", (set_field("phdr[0].p_memsz", 0x48, 4, 0x14),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: crash",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb1-elf64",
            (truncate("file.length", 0x2A7), set_field("phdr[0].p_paddr", 0x58, 8, 0x80000)),
        ),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: premature end of file (hd0)/k",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb1-elf32-entry-outside",
            (
                set_field("e_ident[EI_CLASS]", 0x4, 1, 0xFF),
                set_field("mb1.flags", 0x64, 4, 0x10000),
                set_field("mb1.checksum(fixed)", 0x68, 4, 0xE4514FFE),
            ),
        ),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: attempt to seek outside of the file",
        ours="error: ELF class 255 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("debian-xen", (truncate("file.length", 0x15462),)),
        target="multiboot2",
        real="accept",
        message="grub-file yes; GRUB multiboot2: loaded",
        ours="reject [mb2-elf-loader]",
    ),
    Case(
        Recipe(
            "boot/mb2-rela-section", (set_field("phdr[1].p_paddr", 0x60, 4, 0xFFFFFFFF), wrap("xz"))
        ),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: address is out of range",
        ours="error: unknown format: not ELF, gzip, a Linux bzImage, PE/EFI or a flat binary with a multiboot header (starts with fd 37 7a 58 5a 00 00 01)",
    ),
    Case(
        Recipe("boot/mb2-elf64", (set_field("e_phnum", 0x38, 2, 0xFFFF),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: program header at a too high offset",
        ours="error: program header 11 at 0x2a8 runs past the end of the data",
    ),
    Case(
        Recipe("pvh32-notes-palign0", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x4),)),
        target="qemu",
        real="reject",
        message="crash (SIGFPE)",
        ours="error: ELF class 4 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "boot/mb1-elf32-entry-outside",
            (
                set_field("e_ident[EI_CLASS]", 0x4, 1, 0xFF),
                set_field("mb1.flags", 0x64, 4, 0x10000),
                set_field("mb1.checksum(fixed)", 0x68, 4, 0xE4514FFE),
            ),
        ),
        target="qemu",
        real="reject",
        message="invalid header_addr address",
        ours="error: ELF class 255 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe(
            "elf64-note-bad-alignment",
            (
                set_field("phdr[0].p_paddr", 0x58, 8, 0xFFFC0000),
                set_field("phdr[0].p_vaddr", 0x50, 8, 0xFFFC0000),
            ),
        ),
        target="qemu",
        real="reject",
        message="Some ROM regions are overlapping\nThese ROM regions might have been loaded by direct user request or by default.\nThey could be BIOS/firmware images, a guest kernel, initrd or some other file loaded into guest memory.\nCheck whether you intended to load all this guest code, and whether it has been built to load to the correct addresses.\nThe following two regions overlap (in the memory address space):\n  bios-256k.bin (addresses 0x00000000fffc0000 - 0x0000000100000000)\n  /tmp/pvhlint-difftest-63uvnf4a/mutant-973641a9b9faff2035c7.bin ELF program header segment 0 (addresses 0x00000000fffc0000 - 0x00000000fffc2100)",
        ours="accept (pvh)",
    ),
    Case(
        Recipe(
            "elf32-pvh",
            (
                set_field("phdr[0].p_paddr", 0x40, 4, 0xFFFC0000),
                set_field("phdr[0].p_vaddr", 0x3C, 4, 0xFFFC0000),
            ),
        ),
        target="qemu",
        real="reject",
        message="Some ROM regions are overlapping\nThese ROM regions might have been loaded by direct user request or by default.\nThey could be BIOS/firmware images, a guest kernel, initrd or some other file loaded into guest memory.\nCheck whether you intended to load all this guest code, and whether it has been built to load to the correct addresses.\nThe following two regions overlap (in the memory address space):\n  bios-256k.bin (addresses 0x00000000fffc0000 - 0x0000000100000000)\n  /tmp/pvhlint-difftest-63uvnf4a/mutant-6de550d6fce57ee56ed8.bin ELF program header segment 0 (addresses 0x00000000fffc0000 - 0x00000000fffc2100)",
        ours="accept (pvh)",
    ),
    Case(
        Recipe("flat-mb1-inside", (truncate("file.length", 0x100C),)),
        target="qemu",
        real="reject",
        message="invalid load_addr address",
        ours="accept (multiboot)",
    ),
    Case(
        Recipe(
            "boot/bz-elf64-no-xlf64",
            (set_field("payload.size_trailer", 0x1520, 4, 0x10000001), wrap("gzip")),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel unable to XZ decompress kernel",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("pvh32-features-not-dom0", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x7F),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_parse_elf_kernel: Kernel does not support unprivileged (DomU) operation",
        ours="error: ELF class 127 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("boot/bz-payload-past-eof", (wrap("gzip"),)),
        target="xen-pv",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: payload length overflow",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe(
            "bzimage-bad-crc",
            (wrap("gzip"), set_field("payload.size_trailer", 0x1528, 4, 0x80000000)),
        ),
        target="xen-pv",
        real="reject",
        message="kernel image too large",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe(
            "pvh32-eflags-10000",
            (set_field("e_machine", 0x12, 2, 0x1), set_field("e_ident[EI_CLASS]", 0x4, 1, 0x7F)),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_guest_type: unknown image type 1",
        ours="error: ELF class 127 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("pvh32-phys32-descsz3", (set_field("e_machine", 0x12, 2, 0x3E),)),
        target="xen-pv",
        real="accept",
        message="xc_dom_parse_elf_kernel: xen-3.0-x86_64: 0x100000 -> 0x100024",
        ours="reject [xen-pv-parse]",
    ),
    Case(
        Recipe("debian-cloud", (set_field("payload.size_trailer", 0xD6E994, 4, 0x7FFFFFFF),)),
        target="xen-pv",
        real="reject",
        message="kernel image too large",
        ours="accept",
    ),
    Case(
        Recipe(
            "boot/mb1-elf32-arm",
            (set_field("e_machine", 0x12, 2, 0x6), set_field("e_ident[EI_CLASS]", 0x4, 1, 0xFF)),
        ),
        target="xen-pv",
        real="reject",
        message="xc_dom_guest_type: unknown image type 6",
        ours="error: ELF class 255 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("bzimage-bzip2", (wrap("gzip"),)),
        target="xen-pv",
        real="reject",
        message="xc_try_bzip2_decode: BZIP2 decompress support unavailable",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe(
            "boot/bz-elf64-no-xlf64",
            (set_field("payload.size_trailer", 0x1520, 4, 0x10000001), wrap("gzip")),
        ),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel unable to XZ decompress kernel",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("boot/bz-payload-past-eof", (wrap("gzip"),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_probe_bzimage_kernel: payload length overflow",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe(
            "bzimage-bad-crc",
            (wrap("gzip"), set_field("payload.size_trailer", 0x1528, 4, 0x80000000)),
        ),
        target="xen-pvh",
        real="reject",
        message="kernel image too large",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    Case(
        Recipe("pvh32-features-not-dom0", (set_field("e_ident[EI_CLASS]", 0x4, 1, 0x7F),)),
        target="xen-pvh",
        real="reject",
        message="xc_dom_parse_elf_kernel: Kernel does not support unprivileged (DomU) operation",
        ours="error: ELF class 127 is neither ELF32 nor ELF64",
    ),
    Case(
        Recipe("debian-cloud", (set_field("payload.size_trailer", 0xD6E994, 4, 0x7FFFFFFF),)),
        target="xen-pvh",
        real="reject",
        message="kernel image too large",
        ours="accept",
    ),
    Case(
        Recipe("bzimage-bzip2", (wrap("gzip"),)),
        target="xen-pvh",
        real="reject",
        message="xc_try_bzip2_decode: BZIP2 decompress support unavailable",
        ours="error: AttributeError: 'DecodedStream' object has no attribute 'data'",
    ),
    # From `python -m tests.difftest --count 300 --seed 12 --no-debian --release debian13`.
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x9A),)),
        target="multiboot1",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="accept",
        release=Release.DEBIAN13,
    ),
    # From the replay of seed 27112026 (20,000 mutants) on the loader package: QEMU's note
    # search pads in the ELF's word and reads on past the PT_NOTE; a damaged xz payload keeps
    # what decodes before the damage.
    Case(
        Recipe(
            "pvh32-features-not-bogus",
            (
                set_field("phdr[1].p_align", 0x70, 4, 0xFFFFFFFF),
                set_field("phdr[0].p_paddr", 0x40, 4, 0x100080),
            ),
        ),
        target="qemu",
        real="accept (pvh)",
        message="pvh",
        ours="reject",
    ),
    Case(
        Recipe("pvh64", (set_field("phdr[1].p_filesz", 0x98, 8, 0x24),)),
        target="qemu",
        real="accept (pvh)",
        message="pvh",
        ours="reject",
    ),
    Case(
        Recipe(
            "boot/bz-xz-corrupt-tail", (set_field("payload.size_trailer", 0x41834, 4, 0x201F8),)
        ),
        target="xen-pvh",
        real="accept",
        message="Found PVH image",
        ours="reject",
    ),
    Case(
        Recipe(
            "boot/bz-xz-corrupt-tail", (set_field("payload.size_trailer", 0x41834, 4, 0x403EF),)
        ),
        target="xen-pvh",
        real="accept",
        message="Found PVH image",
        ours="reject",
    ),
    # QEMU reads the PVH entry past the file's page mapping (p_align 0x1000 pads it there):
    # 7.2 boots this one, 10.0 refuses it; other p_align values crash one or the other.
    Case(
        Recipe("pvh64-notes-two-segments", (set_field("phdr[1].p_align", 0xA8, 8, 0x1000),)),
        target="qemu",
        real="accept (pvh)",
        message="pvh",
        ours="reject",
    ),
    # From the fresh long run, seed 20261127: an empty PT_NOTE is not searched (load_elf's
    # `data` stays NULL); a PT_NOTE range that wraps past 2**64 is searched outside the file.
    Case(
        Recipe("elf64-note-bad-alignment", (set_field("phdr[2].p_filesz", 0xD0, 8, 0x0),)),
        target="qemu",
        real="reject",
        message="Error loading uncompressed kernel without PVH ELF Note",
        ours="accept (pvh)",
    ),
    Case(
        Recipe(
            "elf64-note-bad-alignment",
            (set_field("phdr[1].p_offset", 0x80, 8, 0xFFFFFFFFFFFFFFFF),),
        ),
        target="qemu",
        real="reject",
        message="crash (SIGSEGV)",
        ours="accept (pvh)",
    ),
    Case(
        Recipe("pvh32-phys32-owner-xyz", (set_field("phdr[0].p_offset", 0x38, 4, 0xFFFFFFFF),)),
        target="qemu",
        real="reject",
        message="crash (SIGSEGV)",
        ours="accept (pvh)",
    ),
    # A gunzipped kernel's PHYS32_ENTRY whose descsz runs 4 bytes into the 16 zero bytes
    # xc_dom_check_gzip adds after the data: Xen reads them as zeros and boots it.
    Case(
        Recipe(
            "debian-grub-i386-xen_pvh",
            (
                wrap("gzip"),
                set_field("phdr[3].p_vaddr", 0x9C, 4, 0x1000),
                set_field("note[0].descsz", 0x17E978, 4, 0x8),
            ),
        ),
        target="xen-pvh",
        real="accept",
        message="Found PVH image",
        ours="reject",
    ),
    # GRUB 2.12 cannot reserve init_size bytes in the harness's 1 GiB VM; how much memory
    # a real machine has below 4 GiB decides, so no verdict models it.
    Case(
        Recipe("boot/bz-trailer-small", (set_field("setup.init_size", 0x260, 4, 0x7FFFFFFF),)),
        target="linux",
        real="reject",
        message="grub-file yes; GRUB linux: out of memory",
        ours="accept",
        release=Release.DEBIAN13,
    ),
    # From `python -m tests.difftest --seed 1127003 --mutants 600` (all seven targets): a
    # PT_LOAD one byte longer in the file than in memory loads; GRUB's heap cells are 16
    # bytes, so the overrun stays in the chunk's last cell.
    Case(
        Recipe(
            "pvh64-mb1",
            (set_field("phdr[0].p_memsz", 0x68, 8, 0x23), set_field("e_shoff", 0x28, 8, 0x3)),
        ),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-elf-loader]",
    ),
    # The same boundary measured on the ELF32 parent: p_memsz 0x20 crashes, 0x21 loads.
    Case(
        Recipe("pvh32-mb1", (set_field("phdr[0].p_memsz", 0x48, 4, 0x21),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-elf-loader]",
    ),
    Case(
        Recipe("pvh32-mb1", (set_field("phdr[0].p_memsz", 0x48, 4, 0x20),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: crash",
        ours="reject [mb1-elf-loader]",
    ),
    # Seed 1127007 (Debian 13, all seven targets, 300 mutants): GRUB 2.12's gzio on a gzip
    # file cut short, the open family above (its size from the cut file's last 4 bytes, its
    # inflate reading on through a stale 8 KiB buffer): here the garbage decodes and loads.
    Case(
        Recipe("debian-gnumach", (truncate("file.length", 0x13D4A),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-elf-loader]",
        release=Release.DEBIAN13,
    ),
    # GRUB's gzio (grub-core/io/gzio.c), measured this session with GRUB 2.06: the file's size
    # is its last 4 bytes, a read past the deflate stream's last block fails, and past a cut
    # the inflate reads on through its stale 8 KiB buffer (codecs.gzip.grub_gzio_end).
    Case(
        Recipe("gzip-elf32-mb1", (truncate("file.length", 0x93),)),
        target="multiboot1",
        real="reject",
        message="grub-file failed (26): error: premature end of compressed.",
        ours="accept",
    ),
    Case(
        Recipe("debian-gnumach", (truncate("file.length", 0x63E2),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-elf-loader]",
    ),
    Case(
        Recipe("debian-xen", (truncate("file.length", 0x57923),)),
        target="multiboot1",
        real="accept",
        message="grub-file yes; GRUB multiboot: loaded",
        ours="reject [mb1-elf-loader]",
    ),
    # Agreed before only by accident (pvhlint read the cut file as ending at the cut).
    Case(
        Recipe("debian-xen", (truncate("file.length", 0x11B6DA),)),
        target="multiboot2",
        real="reject",
        message="grub-file yes; GRUB multiboot2: the length of a stored block does not match",
        ours="reject [mb2-elf-loader]",
    ),
    # Cut 0x2fe bytes in, the ELF's program headers GRUB reads are inflated stale bytes, and
    # a segment they describe does not fit in memory; pvhlint reads the headers of the
    # stream as cut. Agreed before by accident.
    Case(
        Recipe("debian-tboot", (truncate("file.length", 0x2FE),)),
        target="multiboot1",
        real="reject",
        message="grub-file yes; GRUB multiboot: out of memory",
        ours="accept",
    ),
    # Early cuts, inside gzio's first 32 KiB window. The first: its stale input fails there,
    # which pvhlint took for no failure (a window-0 end read as none). The second: a
    # distance before the start copies gzio's zeroed window, which zlib refused until primed
    # with zeros (its `ours` is that intermediate model's; the one before agreed by accident).
    Case(
        Recipe("debian-xen", (truncate("file.length", 0x1340),)),
        target="multiboot1",
        real="reject",
        message="grub-file failed (26): error: the length of a stored block does not match.",
        ours="accept",
    ),
    Case(
        Recipe("debian-xen", (truncate("file.length", 0x1400),)),
        target="multiboot2",
        real="accept",
        message="grub-file yes; GRUB multiboot2: loaded",
        ours="reject [mb2-no-header]",
    ),
)

# Cases pvhlint now agrees on (the model was fixed after they were recorded): for these the
# agreement test is a regression test, not an expected failure.
FIXED = frozenset(
    {
        "multiboot1-debian-xen-b1949190",
        "multiboot2-debian-xen-bcb46e50",
        "multiboot1-gzip-elf32-mb1-4162f006",
        "debian13-multiboot1-gzip-elf32-mb1-4162f006",
        "multiboot2-debian-xen-39385311",
        "debian13-multiboot1-debian-gnumach-1a436bba",
        "multiboot1-gzip-elf32-mb1-e8562b53",
        "multiboot1-debian-gnumach-b355f8a6",
        "multiboot1-debian-xen-4cfe29e1",
        "multiboot2-debian-xen-df2bfc67",
        "qemu-pvh32-features-not-bogus-3ce698f0",
        "xen-pvh-debian-grub-i386-xen_pvh-9dd3df86",
        "qemu-elf64-note-bad-alignment-1ad80af5",
        "xen-pvh-boot/bz-xz-corrupt-tail-86d42b86",
        "qemu-pvh64-89c19c5f",
        "xen-pvh-boot/bz-xz-corrupt-tail-6cf96875",
        "multiboot1-boot/mb1-aout-below-4g-47f045d8",
        "multiboot2-elf32-mb2-f6eaac83",
        "linux-debian-cloud-9ea94cbd",
        "multiboot1-pvh32-mb1-fad08f15",
        "multiboot1-boot/mb1-elf64-3584aa20",
        "multiboot2-boot/mb2-no-end-tag-962a277e",
        "multiboot1-boot/mb1-elf32-truncated-56d112c5",
        "multiboot2-boot/mb2-tag8-optional-514c4c44",
        "multiboot2-boot/mb2-no-end-tag-3ded3a83",
        "linux-bzimage-gzip-fa44a838",
        "qemu-elf32-machine-arm-c0e71f5c",
        "qemu-boot/mb2-misaligned-2046102f",
        "qemu-boot/mb1-elf32-rel-cc25e79f",
        "xen-pvh-elf32-machine-arm-c0e71f5c",
        "xen-pvh-boot/bz-gzip-corrupt-tail-aa6ec744",
        "linux-gzip-elf32-mb1-50905f82",
        "multiboot1-gzip-elf32-mb1-50905f82",
        "multiboot2-boot/mb2-address-no-entry-4fbac40c",
        "multiboot2-gzip-elf32-mb1-50905f82",
        "qemu-pvh64-notes-pad8-9235f381",
        "qemu-boot/mb1-elf32-phdrs-8192-d6666d3a",
        "qemu-elf64-notes-sections-only-677e8645",
        "xen-pv-boot/mb1-elf32-arm-77460dad",
        "xen-pv-debian-amd64-b0d63fd2",
        "xen-pv-boot/mb1-elf64-em-386-893ff1db",
        "xen-pv-pvh64-gnu-property-palign8-c8940245",
        "xen-pvh-boot/mb1-elf32-arm-77460dad",
        "xen-pvh-pvh32-phys32-descsz3-43d3b2f1",
        "xen-pvh-debian-amd64-b0d63fd2",
        "multiboot2-boot/mb2-rela-section-4550611e",
        "xen-pv-pvh32-phys32-descsz3-10d40709",
        "linux-boot/mb1-straddle-8176-f269eb8d",
        "multiboot1-boot/mb1-elf32-entry-outside-9640fb03",
        "multiboot1-boot/mb1-elf32-rel-a453c469",
        "multiboot1-boot/mb1-elf32-truncated-63875c24",
        "multiboot1-boot/mb1-elf64-1e432aba",
        "multiboot1-boot/mb1-elf64-big-endian-86ce5543",
        "multiboot1-boot/mb1-elf64-fa9e7f63",
        "multiboot1-boot/mb1-straddle-8176-f269eb8d",
        "multiboot1-boot/mb1-straddle-8176-fd967807",
        "multiboot1-boot/mb1-video-mode2-1bcf5307",
        "multiboot1-elf64-mb1-3d71abee",
        "multiboot1-flat-mb1-inside-547cbb62",
        "multiboot2-boot/mb1-straddle-8176-f269eb8d",
        "multiboot2-boot/mb2-arch4-f76ce5a8",
        "multiboot2-boot/mb2-elf64-4ac0fc8b",
        "multiboot2-boot/mb2-info22-527648c3",
        "multiboot2-boot/mb2-tag-size4-9bf6fa3e",
        "multiboot2-boot/mb2-tag11-e0664091",
        "multiboot2-boot/mb2-tag8-optional-73f90a49",
        "qemu-boot/mb1-aout-ok-fc3b7a0d",
        "qemu-boot/mb1-elf32-46503400",
        "qemu-boot/mb1-elf32-entry-outside-9640fb03",
        "qemu-boot/mb1-elf32-rel-dc661a6c",
        "qemu-boot/mb1-elf64-fa9e7f63",
        "qemu-boot/mb1-straddle-8176-f269eb8d",
        "qemu-debian-grub-i386-xen-937c74c7",
        "qemu-elf32-no-xen-notes-83d50a89",
        "qemu-elf32-pvh-936f3bd4",
        "qemu-elf32-pvh-adeb1e09",
        "qemu-elf64-note-bad-alignment-e3a0d67d",
        "qemu-pvh32-features-not-dom0-d85097a4",
        "qemu-pvh32-features-not-dom0-fcfd5988",
        "qemu-pvh32-notes-palign0-3a14fd65",
        "qemu-pvh32-paddr-offset-no-virt-base-53c62c26",
        "qemu-pvh32-phys32-descsz3-4f0b8bb8",
        "xen-pv-bin/flat-5463274a",
        "xen-pv-bin/flat-pae2-align-686b31bb",
        "xen-pv-bin/flat-pae2-align-d8551aa0",
        "xen-pv-bin/flat-x86_64-bss-fef1b9d5",
        "xen-pv-boot/bz-elf64-no-xlf64-2d632220",
        "xen-pv-boot/bz-payload-past-eof-51a70dea",
        "xen-pv-boot/bz-truncated-938291c7",
        "xen-pv-boot/bz-v0207-eed7c7e2",
        "xen-pv-boot/mb1-aout-ok-c15ecae6",
        "xen-pv-boot/mb1-elf32-736a7124",
        "xen-pv-boot/mb1-elf32-arm-2ba8e407",
        "xen-pv-boot/mb1-straddle-8176-f269eb8d",
        "xen-pv-bzimage-bad-crc-833ad187",
        "xen-pv-bzimage-bzip2-9a7a2ab2",
        "xen-pv-bzimage-gzip-elf32-no-pe-0466d4e3",
        "xen-pv-bzimage-lzma-1c2bb28f",
        "xen-pv-bzimage-unknown-codec-ee18f415",
        "xen-pv-debian-cloud-9e284f40",
        "xen-pv-debian-grub-i386-xen-937c74c7",
        "xen-pv-elf64-notes-two-segments-660a7c8b",
        "xen-pv-pvh32-eflags-10000-98cceed2",
        "xen-pv-pvh32-features-not-dom0-49ed8833",
        "xen-pv-pvh32-phys32-descsz3-4f0b8bb8",
        "xen-pv-pvh64-gnu-property-decoy-bc598f07",
        "xen-pv-pvh64-mb1-a3feb7c6",
        "xen-pvh-bin/flat-5463274a",
        "xen-pvh-bin/flat-pae2-align-0b02ba89",
        "xen-pvh-bin/flat-pae2-align-686b31bb",
        "xen-pvh-bin/flat-pae2-align-d8551aa0",
        "xen-pvh-bin/flat-small-3f38605a",
        "xen-pvh-bin/flat-x86_64-bss-fef1b9d5",
        "xen-pvh-boot/bz-elf64-no-xlf64-2d632220",
        "xen-pvh-boot/bz-gzip-corrupt-tail-0dee249d",
        "xen-pvh-boot/bz-loaded-low-4317df3f",
        "xen-pvh-boot/bz-loaded-low-c8dc7947",
        "xen-pvh-boot/bz-payload-past-eof-51a70dea",
        "xen-pvh-boot/bz-trailer-big-eab3d19b",
        "xen-pvh-boot/bz-truncated-938291c7",
        "xen-pvh-boot/bz-v0207-eed7c7e2",
        "xen-pvh-boot/mb1-aout-ok-c15ecae6",
        "xen-pvh-boot/mb1-straddle-8176-f269eb8d",
        "xen-pvh-bzimage-bad-crc-833ad187",
        "xen-pvh-bzimage-bzip2-9a7a2ab2",
        "xen-pvh-bzimage-gzip-elf32-no-pe-0466d4e3",
        "xen-pvh-bzimage-unknown-codec-ee18f415",
        "xen-pvh-bzimage-xz-signed-e2569cee",
        "xen-pvh-debian-cloud-9e284f40",
        "xen-pvh-elf32-no-xen-notes-83d50a89",
        "xen-pvh-elf64-machine-aarch64-b9208a64",
        "xen-pvh-elf64-note-bad-alignment-2e834c98",
        "xen-pvh-pvh32-features-not-dom0-49ed8833",
        # GRUB's cases that agree since the GRUB loader module (relocator overlap, a
        # gzip-wrapped bzImage cut short, Multiboot 2 tag checks): they passed unexpectedly
        "linux-boot/bz-truncated-938291c7",
        "multiboot1-debian-gnumach-gunzipped-46ef76b3",
        "multiboot2-elf32-mb2-2f651ae4",
        "multiboot2-boot/mb2-entry-size8-076fa179",
        # GRUB's 16-byte heap cells (loaders/grub.py GRUB_MM_ALIGN)
        "multiboot1-pvh64-mb1-9b5523c9",
        "multiboot1-pvh32-mb1-45d1d31f",
        "multiboot1-pvh32-mb1-c6b6c582",
    }
)

# Cases whose real answer depends on memory that is not the image's (pvhlint says
# "undefined"): the real loader's answer is still checked, and pvhlint must call it undefined.
UNDEFINED = frozenset(
    {
        "qemu-flat-mb1-inside-c3537e39",  # QEMU reads the cut a.out fields from its stack
        "qemu-elf64-note-bad-alignment-406c5edd",  # a wrapped PT_NOTE range: outside the file
        "qemu-pvh32-phys32-owner-xyz-ef8f2da1",  # a wrapped PT_LOAD range: copied from outside the file
        "qemu-pvh64-notes-two-segments-f4d9c955",
    }
)
