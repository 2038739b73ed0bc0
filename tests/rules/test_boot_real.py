"""The boot-protocol rules (mb1-*, mb2-*, linux-*, bzimage-*, pe-signed, elf-unsupported-machine)
against the real loaders. What each rule reports on fixtures/variants_boot.py's images is in
tests/rules/test_<family>.py; here are the claims behind those findings, asked of the real
programs, and the verdicts `check` derives.

* test_real_loader: QEMU 7.2 -kernel (exact stderr), GRUB 2.06's own `multiboot`/`multiboot2`/
  `linux` commands booted in QEMU (tests/loaders/grub_boot.py, needs grub-pc-bin), grub-file,
  libxenguest 4.17.
* test_verdicts: check_image's verdict for each target agrees with those real answers.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from tests.loaders import (
    grub_available,
    grub_verdict,
    qemu_available,
    qemu_verdict,
    xen_verdict,
    xenguest_available,
)
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict

from . import registry
from .runner import BOOT_RULES, FULL, NOT_FOUND_1, RULES

# The variants' names in tests.rules.registry (the one gzip image is a catalogue fixture).
REGISTERED = {"mb1-gzip-elf32": "gzip-elf32-mb1"}


def registered(name: str) -> str:
    return REGISTERED.get(name, f"boot/{name}")


@pytest.fixture(scope="module")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    folder = tmp_path_factory.mktemp("boot-variants")

    @cache
    def path(name: str) -> Path:
        target = folder / name
        target.write_bytes(registry.data(registered(name)))
        return target

    return path


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
    # undefined (uninitialised memory: UNDEFINED), as measured with Debian 12's QEMU and GRUB
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
    ("bz-init-size-1", "grub:linux"): (False, "crash"),
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


# Where the loader's answer depends on memory that is not the image's (measured: QEMU 7.2 and
# 10.0 disagree on such images): pvhlint says "undefined", whatever this machine's QEMU did.
UNDEFINED = {("mb1-aout-fields-cut", "qemu")}


@pytest.mark.parametrize("name", sorted({name for name, _ in REAL}))
def test_verdicts(name: str, image_path: Callable[[str], Path]) -> None:
    """check_image's verdicts agree with the real loaders' answers above (the table is checked
    against the real programs by test_real_loader)."""
    image = open_image(image_path(name), full=registered(name) in FULL, lenient=True)
    result = check_image(image, Options())
    for (variant_name, loader), (accept, fragment) in REAL.items():
        target = TARGET_OF.get(loader)
        if variant_name != name or target is None:
            continue
        verdict = result.verdicts[target]
        if (name, loader) in UNDEFINED:  # the loader reads memory that is not the image's
            assert verdict.undefined and not verdict.accept, (target, verdict.rules)
            continue
        assert verdict.accept == accept and not verdict.undefined, (target, verdict.rules)
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
    linux_rules = {r for r in BOOT_RULES if r.startswith(("bzimage-", "linux-", "elf-", "pe-"))}
    for name in ("amd64", "cloud", "amd64-signed"):
        image = open_image(debian_image(name))
        fired = {f.rule for rule_id in linux_rules for f in RULES[rule_id].run(image)}
        assert fired == ({"pe-signed"} if name == "amd64-signed" else set()), name
        assert check_image(image, Options()).verdicts["linux"].accept
    if grub_boot_available():
        assert grub_load_verdict(debian_image("amd64"), "linux").accept
