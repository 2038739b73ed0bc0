"""The bzimage family (pvhlint/rules/bzimage/): the Linux boot protocol rules on the
boot-protocol images, and the CRC and a file cut inside its payload."""

from __future__ import annotations

import pytest

from fixtures.catalogue import catalogue

from .runner import (
    LINUX,
    RULES,
    XEN,
    E,
    Expect,
    boot_cases_test,
    findings,
    named_cases_test,
    payload_at,
    payload_end,
)

BOOT_CASES: dict[str, list[Expect]] = {
    # --- Linux boot protocol
    "boot/bz-xz": [],
    "boot/bz-gzip-elf32": [],
    "boot/bz-elf-vmlinux": [
        E("linux-not-bzimage", 0x1FE, ("an ELF64", "invalid magic number"), LINUX)
    ],
    "boot/bz-no-hdrs": [
        E("linux-not-bzimage", 0x202, ('no "HdrS"', "version too old for 32-bit boot"), LINUX),
    ],
    "boot/bz-bad-boot-flag": [
        E(
            "bzimage-boot-flag",
            0x1FE,
            ("boot_flag 0x0000", '"error: invalid magic number."'),
            LINUX,
        ),
    ],
    "boot/bz-v0202": [
        E(
            "bzimage-protocol",
            0x206,
            ("2.02", '"error: version too old for 32-bit boot"', "boot protocol too old (0202)"),
            ("linux", *XEN),
        ),
        E("bzimage-protocol", 0x22C, ("initrd_addr_max (2.03+)", "xloadflags (2.12+)")),
    ],
    "boot/bz-v0207": [
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
    "boot/bz-setup-sects-65": [
        E(
            "bzimage-setup-sects",
            0x1F1,
            ("setup_sects 65", '"error: too many setup sectors."'),
            LINUX,
        ),
    ],
    "boot/bz-setup-sects-0": [
        E(
            "bzimage-setup-sects",
            0x1F1,
            ("setup_sects 0", "0x600", "unknown compression format"),
            XEN,
        ),
    ],
    "boot/bz-loaded-low": [
        E(
            "bzimage-loaded-high",
            0x211,
            ("LOADED_HIGH", "zImage doesn't support 32-bit boot"),
            LINUX,
        ),
    ],
    "boot/bz-payload-past-eof": [
        E(
            "bzimage-payload-bounds",
            0x24C,
            ('"xc_dom_probe_bzimage_kernel: payload length overflow"',),
            XEN,
        ),
    ],
    "boot/bz-payload-offset-past-eof": [
        E(
            "bzimage-payload-bounds",
            0x248,
            ('"xc_dom_probe_bzimage_kernel: payload offset overflow"',),
            XEN,
        ),
    ],
    "boot/bz-payload-short": [E("bzimage-payload-bounds", 0x24C, ("payload_length 4",), XEN)],
    "boot/bz-unknown-codec": [
        E("bzimage-unknown-codec", payload_at, ("de ad be ef", "unknown compression format"), XEN),
    ],
    "boot/bz-truncated": [
        E("bzimage-payload-bounds", 0x248, ("payload offset overflow",), XEN),
        E(
            "bzimage-truncated",
            0x1F1,
            ("0xf9c", "0x1000", 'QEMU: "qemu: invalid kernel header"', "premature end of file"),
            ("qemu", "linux"),
        ),
    ],
    "boot/bz-xlf64-elf32": [E("bzimage-xloadflags", 0x236, ("set XLF_KERNEL_64", "ELF32"))],
    "boot/bz-elf64-no-xlf64": [E("bzimage-xloadflags", 0x236, ("lack XLF_KERNEL_64", "ELF64"))],
    "boot/bz-trailer-big": [
        E(
            "bzimage-size-trailer",
            lambda data: payload_end(data) - 4,
            ("differs from the size trailer", "unable to XZ decompress kernel"),
            XEN,
        ),
    ],
    "boot/bz-trailer-small": [
        # xz decodes into a trailer-sized buffer: Xen takes a cut kernel, which libelf then
        # refuses (xen-elf-init, in the payload layer)
        E(
            "bzimage-size-trailer",
            lambda data: payload_end(data) - 4,
            ("differs from the size trailer", "takes the first 0x3e0 bytes"),
        ),
    ],
    "boot/bz-xz-corrupt-tail": [
        E(
            "bzimage-size-trailer",
            payload_at,
            ("does not decompress", "Corrupt input data", "unable to XZ decompress kernel"),
            XEN,
        ),
    ],
    "boot/bz-gzip-corrupt-tail": [
        E(
            "bzimage-size-trailer",
            payload_at,
            ("incorrect data check", '"xc_dom_do_gunzip: inflate failed (rc=-3)"'),
            XEN,
        ),
    ],
}
SYSSIZE = 0x1F4  # the setup header field (boot.rst)
NAMED_CASES: dict[str, list[Expect]] = {
    # build.c's CRC32 sits in the last 4 bytes of the syssize area, [N - 4, N)
    "bzimage-bad-crc": [
        E("bzimage-crc", catalogue()["bzimage-bad-crc"].expect["bzimage"]["n"] - 4, length=4)
    ],
    "bzimage-xz": [],
    "bzimage-lz4": [],
    "bzimage-xz-signed": [],
    # GRUB and QEMU load what there is (no reject); the decompressor cannot
    "bz/cut-in-payload": [E("bzimage-payload-cut", SYSSIZE, ("inside the compressed kernel",))],
    "boot/bz-init-size-1": [
        E(
            "bzimage-init-size",
            0x260,
            ("init_size 0x1 (0x1000 bytes reserved)", "GRUB crashes"),
            ("linux",),
            length=4,
        )
    ],
}

test_boot_case = boot_cases_test(BOOT_CASES)

test_named_case = named_cases_test(NAMED_CASES)


@pytest.mark.parametrize("name", ["bz-xz", "bz-v0202", "bz-bad-boot-flag"])
def test_linux_not_bzimage_stays_quiet_where_a_setup_header_exists(name: str) -> None:
    assert findings(f"boot/{name}", [RULES["linux-not-bzimage"]]) == []
