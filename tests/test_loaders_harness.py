"""Tests for the real-loader harnesses in tests/loaders (QEMU, libxenguest, grub-file).

Tests needing a tool skip when it is missing. The Debian-image tests run only when
The real Debian images come from fixtures.debian (apt-get download), as in the real-world tier.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.loaders import (
    LoaderVerdict,
    build_pvh_kernel,
    found_pvh,
    grub_available,
    grub_file,
    qemu_available,
    qemu_boot,
    qemu_exit_status,
    qemu_verdict,
    xen_verdict,
    xenguest_available,
)
from tests.loaders.pvh_kernel import ElfNote, encode_note
from tests.loaders.qemu import boot_path_from_roms, strip_prefix
from tests.loaders.xenguest import error_message, loader_path
from tests.realimages import real_image

MSG = b"pvhlint ok\n"
NO_PVH_NOTE = "Error loading uncompressed kernel without PVH ELF Note"
X86_64_MB1 = "Cannot load x86-64 image, give a 32bit one."

needs_qemu = pytest.mark.skipif(not qemu_available(), reason="qemu-system-x86_64 not installed")
needs_grub = pytest.mark.skipif(not grub_available(), reason="grub-file not installed")


@pytest.fixture(scope="session")
def xen() -> Callable[..., LoaderVerdict]:
    """``xen_verdict``, or a skip when gcc / libxen-dev are missing."""
    if not xenguest_available():
        pytest.skip("gcc or libxen-dev (libxenguest headers/libraries) not available")
    return xen_verdict


@pytest.fixture
def kernel(tmp_path: Path) -> Callable[..., Path]:
    """Write ``build_pvh_kernel(**kw)`` to a file and return its path."""

    def make(**kw: object) -> Path:
        path = tmp_path / f"kernel-{len(list(tmp_path.iterdir()))}.elf"
        path.write_bytes(build_pvh_kernel(**kw))  # type: ignore[arg-type]
        return path

    return make


# --- pure helpers (no tools needed) --------------------------------------------------------


def test_note_encoding_pads_to_4() -> None:
    blob = encode_note(ElfNote(18, b"\0\0\x10\0"))
    assert blob == struct.pack("<III", 4, 4, 18) + b"Xen\0" + b"\0\0\x10\0"
    assert len(encode_note(ElfNote(5, b"xen-3.0\0", b"Xenon"))) == 12 + 8 + 8


def test_kernel_layout() -> None:
    image = build_pvh_kernel()
    assert image[:4] == b"\x7fELF" and image[4] == 1
    assert struct.unpack_from("<HH", image, 16) == (2, 3)
    assert b"Xen\0" in image and MSG in image
    image64 = build_pvh_kernel(elf_class=64, owner=b"Xyz", multiboot1=True)
    assert image64[4] == 2 and struct.unpack_from("<H", image64, 18) == (62,)
    assert b"Xen\0" not in image64 and struct.pack("<I", 0x1BADB002) in image64[:8192]


def test_boot_path_from_roms() -> None:
    roms = 'fw=genroms/kvmvapic.bin size=0x002400 name="kvmvapic.bin"\r\n'
    assert boot_path_from_roms(roms + 'fw=genroms/pvh.bin size=0x600 name="pvh.bin"') == "pvh"
    assert boot_path_from_roms(roms + "fw=genroms/multiboot_dma.bin x") == "multiboot"
    assert boot_path_from_roms(roms + "fw=genroms/linuxboot.bin x") == "linux"
    assert boot_path_from_roms(roms) is None
    assert (
        strip_prefix(f"qemu-system-x86_64: {NO_PVH_NOTE}", "/usr/bin/qemu-system-x86_64")
        == NO_PVH_NOTE
    )


def test_xen_log_classification() -> None:
    log = [
        "domainbuilder: detail: xc_dom_find_loader: trying HVM-generic loader ... ",
        "domainbuilder: detail: loader probe failed",
        "domainbuilder: detail: xc_dom_find_loader: trying Linux bzImage loader ... ",
        "domainbuilder: detail: loader probe OK",
        "xc: error: panic: xg_dom_core.c:689: xc_dom_find_loader: no loader found: Invalid kernel",
    ]
    assert loader_path(log) == "bzimage"
    assert error_message(log) == "xc_dom_find_loader: no loader found"


# --- the PVH test kernel under QEMU --------------------------------------------------------


@needs_qemu
@pytest.mark.parametrize("elf_class", [32, 64])
def test_pvh_kernel_boots(kernel: Callable[..., Path], elf_class: int) -> None:
    path = kernel(elf_class=elf_class)
    result = qemu_boot(path, timeout=10)
    assert result.debugcon == MSG
    assert result.exit_status == qemu_exit_status() == 33
    assert not result.timed_out
    verdict = qemu_verdict(path)
    assert (verdict.accept, verdict.path, verdict.message) == (True, "pvh", "")


@needs_qemu
def test_custom_message_and_exit_code(kernel: Callable[..., Path]) -> None:
    result = qemu_boot(kernel(message=b"hello\n", exit_code=0x2A), timeout=10)
    assert (result.debugcon, result.exit_status) == (b"hello\n", 0x55)


@needs_qemu
def test_expect_and_timeout(kernel: Callable[..., Path]) -> None:
    halting = kernel(exit_code=None)
    result = qemu_boot(halting, timeout=10, expect=b"ok")
    assert result.expect_seen and not result.timed_out
    assert result.debugcon == MSG and result.exit_status == -9
    stuck = qemu_boot(halting, timeout=0.5)
    assert stuck.timed_out and not stuck.expect_seen and stuck.debugcon == MSG


@needs_qemu
def test_owner_ignored_by_qemu(kernel: Callable[..., Path]) -> None:
    result = qemu_boot(kernel(owner=b"Xyz"), timeout=10)
    assert (result.debugcon, result.exit_status) == (MSG, 33)


@needs_qemu
def test_note_align_8_misses_note(kernel: Callable[..., Path]) -> None:
    verdict = qemu_verdict(kernel(note_align=8))
    assert (verdict.accept, verdict.message, verdict.exit_status) == (False, NO_PVH_NOTE, 1)
    assert verdict.key_lines == (f"qemu-system-x86_64: {NO_PVH_NOTE}",)


@needs_qemu
def test_note_align_0_crashes(kernel: Callable[..., Path]) -> None:
    verdict = qemu_verdict(kernel(note_align=0))
    assert (verdict.accept, verdict.message, verdict.exit_status) == (False, "crash", -8)


@needs_qemu
def test_multiboot_wins_over_pvh(kernel: Callable[..., Path]) -> None:
    path = kernel(multiboot1=True)
    assert qemu_verdict(path).path == "multiboot"
    assert qemu_boot(path, timeout=10).debugcon == MSG
    assert qemu_verdict(kernel(multiboot1=True, elf_class=64)).message == X86_64_MB1


@needs_qemu
def test_qemu_other_rejections(kernel: Callable[..., Path]) -> None:
    assert qemu_verdict(kernel(e_flags=0x10000)).message == "elfboot unsupported flags = 10000"
    assert qemu_verdict(kernel(base_notes=False)).message == NO_PVH_NOTE
    # Machine types up to 3.1 have no PVH: the ELF falls through to the zImage path silently.
    old = qemu_verdict(kernel(), machine="pc-i440fx-3.1")
    assert (old.accept, old.path) == (True, "linux")


# --- the PVH test kernel under libxenguest -------------------------------------------------


def test_xen_pvh_accepts(kernel: Callable[..., Path], xen: Callable[..., LoaderVerdict]) -> None:
    verdict = xen(kernel(), "pvh")
    assert verdict.accept and found_pvh(verdict)
    assert (verdict.path, verdict.guest_type, verdict.message) == (
        "elf",
        "hvm-3.0-x86_32",
        "Found PVH image",
    )
    assert xen(kernel(elf_class=64, note_align=8), "pvh").message == "Found PVH image"


def test_xen_needs_owner_xen(
    kernel: Callable[..., Path], xen: Callable[..., LoaderVerdict]
) -> None:
    as32 = xen(kernel(owner=b"Xyz"), "pvh")  # ELF32: taken as HVM firmware, not PVH
    assert (as32.accept, as32.path, found_pvh(as32)) == (True, "hvm-generic", False)
    as64 = xen(kernel(owner=b"Xyz", elf_class=64), "pvh")
    assert (as64.accept, as64.message) == (False, "xc_dom_parse_hvm_kernel: ELF image is not 32bit")
    pv = xen(kernel(owner=b"Xyz", elf_class=64), "pv")
    assert (pv.accept, pv.message) == (False, "xc_dom_find_loader: no loader found")


def test_xen_pv_and_features(
    kernel: Callable[..., Path], xen: Callable[..., LoaderVerdict]
) -> None:
    pv64 = xen(kernel(elf_class=64), "pv")
    assert (pv64.accept, pv64.guest_type) == (True, "xen-3.0-x86_64")
    pv32 = xen(kernel(), "pv")  # no PAE_MODE note: 32-bit non-PAE PV, unsupported
    assert pv32.message == (
        "xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel, sorry"
    )
    dom0 = xen(kernel(extra_notes=[(10, b"!dom0\0")]), "pvh")
    assert dom0.message == (
        "xc_dom_parse_elf_kernel: Kernel does not support unprivileged (DomU) operation"
    )
    assert not found_pvh(dom0)


@needs_grub
def test_grub_file_on_test_kernel(kernel: Callable[..., Path]) -> None:
    assert not grub_file(kernel(), "x86-multiboot")
    assert grub_file(kernel(multiboot1=True), "--is-x86-multiboot")
    assert not grub_file(kernel(), "x86-linux")
    with pytest.raises(ValueError):
        grub_file(kernel(), "x86-bogus")


# --- real Debian images --------------------------------------------------------------------

PATTERN_NAMES = {
    "boot/gnumach-*[0-9]-486.gz": "gnumach",
    "boot/gnumach-*-xen-486.gz": "gnumach-xen",
    "boot/vmlinuz-*[0-9]-amd64": "amd64",
    "boot/vmlinuz-*-cloud-amd64": "cloud",
    "boot/xen-*-amd64.gz": "xen",
    "usr/lib/grub-xen/grub-i386-xen_pvh.bin": "grub-i386-xen_pvh",
    "usr/lib/grub-xen/grub-i386-xen.bin": "grub-i386-xen",
    "usr/lib/grub-xen/grub-x86_64-xen.bin": "grub-x86_64-xen",
}


def debian_file(pattern: str, tmp_path: Path | None = None) -> Path:
    """The real Debian image for ``pattern`` (gunzipped into tmp_path when given)."""
    path = real_image(PATTERN_NAMES[pattern])
    if tmp_path is None:
        return path
    out = tmp_path / path.name.removesuffix(".gz")
    out.write_bytes(gzip.decompress(path.read_bytes()))
    return out


realworld = pytest.mark.realworld


@realworld
@needs_qemu
@needs_grub
def test_gnumach_multiboot_elf64(tmp_path: Path) -> None:
    gz = debian_file("boot/gnumach-*[0-9]-486.gz")
    path = debian_file("boot/gnumach-*[0-9]-486.gz", tmp_path)
    verdict = qemu_verdict(path)
    assert (verdict.accept, verdict.message, verdict.exit_status) == (False, X86_64_MB1, 1)
    assert grub_file(path, "x86-multiboot") and grub_file(gz, "x86-multiboot")
    assert not grub_file(path, "x86-multiboot2")


@realworld
@needs_qemu
@needs_grub
def test_debian_vmlinuz(xen: Callable[..., LoaderVerdict]) -> None:
    path = debian_file("boot/vmlinuz-*[0-9]-amd64")
    verdict = xen(path, "pvh")
    assert verdict.accept and found_pvh(verdict) and verdict.path == "bzimage"
    assert verdict.guest_type == "hvm-3.0-x86_32"
    assert any("XZ decompress OK" in line for line in verdict.key_lines)
    assert xen(path, "pv").guest_type == "xen-3.0-x86_64"
    assert qemu_verdict(path).path == "linux"
    assert grub_file(path, "x86-linux32") and grub_file(path, "x86-xen-dom0")


@realworld
@needs_qemu
@needs_grub
def test_debian_cloud_vmlinuz_lz4(xen: Callable[..., LoaderVerdict]) -> None:
    path = debian_file("boot/vmlinuz-*-cloud-amd64")
    assert found_pvh(xen(path, "pvh"))
    assert not grub_file(path, "x86-xen-dom0")  # GRUB's Xen loader has no lz4
    result = qemu_boot(path, timeout=10, expect=b"Linux version", append="console=ttyS0")
    assert result.expect_seen and b"Linux version" in result.serial


@realworld
@needs_qemu
@needs_grub
def test_debian_xen_hypervisor(tmp_path: Path, xen: Callable[..., LoaderVerdict]) -> None:
    gz = debian_file("boot/xen-*-amd64.gz")
    path = debian_file("boot/xen-*-amd64.gz", tmp_path)
    assert qemu_verdict(path).path == "multiboot"
    assert grub_file(gz, "x86-multiboot2")
    pvh = xen(gz, "pvh")  # gzip inflated by libxenguest; ELF32 without Xen notes
    assert (pvh.accept, pvh.path, found_pvh(pvh)) == (True, "hvm-generic", False)
    assert any("xc_dom_do_gunzip: unzip ok" in line for line in pvh.key_lines)
    assert xen(gz, "pv").message == "xc_dom_find_loader: no loader found"


@realworld
@needs_qemu
def test_grub_xen_images(xen: Callable[..., LoaderVerdict]) -> None:
    pvh_bin = debian_file("usr/lib/grub-xen/grub-i386-xen_pvh.bin")
    assert qemu_verdict(pvh_bin).path == "pvh"
    assert xen(pvh_bin, "pvh").message == "Found PVH image"
    assert xen(pvh_bin, "pv").message == "xc_dom_find_loader: no loader found"
    i386 = debian_file("usr/lib/grub-xen/grub-i386-xen.bin")
    # No type-18 note: QEMU 7.2 walks past its note buffer; SIGSEGV or the error, at random.
    qemu = qemu_verdict(i386)
    assert not qemu.accept and qemu.message in ("crash", NO_PVH_NOTE)
    assert xen(i386, "pvh").message == (
        "xc_dom_guest_type: image not capable of booting inside a HVM container"
    )
    assert xen(i386, "pv").message == (
        "xc_dom_compat_check: guest type xen-3.0-x86_32p not supported by xen kernel, sorry"
    )
    assert xen(i386, "pv", caps="xen-3.0-x86_64 xen-3.0-x86_32p").accept
    x86_64 = debian_file("usr/lib/grub-xen/grub-x86_64-xen.bin")
    assert xen(x86_64, "pv").guest_type == "xen-3.0-x86_64"


@realworld
def test_gnumach_xen_legacy_string(xen: Callable[..., LoaderVerdict]) -> None:
    gz = debian_file("boot/gnumach-*-xen-486.gz")
    pv = xen(gz, "pv")  # "name"-owned notes ignored, __xen_guest string used
    assert (pv.accept, pv.path, pv.guest_type) == (True, "elf", "xen-3.0-x86_64")
    assert "__xen_guest" in pv.detail
    assert xen(gz, "pvh").message == "xc_dom_parse_hvm_kernel: ELF image is not 32bit"
    assert xen(gz, "pv", load="file").accept
