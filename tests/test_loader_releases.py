"""Tests for the Debian 13 loaders (QEMU 10.0, libxenguest 4.20, GRUB 2.12 in the chroot of
tests/loaders/trixie_root.py) and for the two known differences from Debian 12's.

The chroot is built when missing (about a minute with a fast mirror); without it (no network,
no root) these tests skip, or fail under CI (tests/realimages.py). Debian 12's side needs its
programs on this machine, as in tests/test_loaders_harness.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue
from fixtures.elfgen import XEN_ELFNOTE_PADDR_OFFSET, xen_num
from tests.loader_versions import VERSION_PROBES, compare_image, pvh_elf, without_section_headers
from tests.loaders import (
    LOADER_VERSIONS,
    Release,
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
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict
from tests.loaders.releases import HOST, runner
from tests.loaders.xenguest import loader_path, probe_binary
from tests.realimages import debian13_root, real_image

D12, D13 = Release.DEBIAN12, Release.DEBIAN13
MSG = b"pvhlint ok\n"
NOT_32BIT = "xc_dom_parse_hvm_kernel: ELF image is not 32bit"
QEMU_ELF_ERROR = "Error while loading elf kernel"

needs_debian12 = pytest.mark.skipif(
    not (qemu_available() and xenguest_available() and grub_available()),
    reason="Debian 12's qemu-system-x86, libxen-dev + gcc or grub-common not installed",
)


@pytest.fixture(scope="session")
def trixie() -> Path:
    """The Debian 13 chroot, built when missing (skip, or fail under CI, without it)."""
    return debian13_root()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes], Path]:
    def put(data: bytes) -> Path:
        path = tmp_path / f"image-{len(list(tmp_path.iterdir()))}.elf"
        path.write_bytes(data)
        return path

    return put


# --- the release runner ------------------------------------------------------------------------


def test_host_runner_changes_nothing(tmp_path: Path) -> None:
    image = tmp_path / "k"
    image.write_bytes(b"x")
    assert runner() is HOST and runner("debian12") is HOST
    assert HOST.command(["qemu-system-x86_64", "-kernel", "k"]) == [
        "qemu-system-x86_64",
        "-kernel",
        "k",
    ]
    with HOST.visible(image) as seen:
        assert seen == str(image)


def test_chroot_runner_links_the_image_in_and_out(trixie: Path, tmp_path: Path) -> None:
    run = runner(D13)
    image = tmp_path / "kernel.bin"
    image.write_bytes(b"pvhlint chroot test")
    assert run.command(["true"]) == ["chroot", str(trixie), "true"]
    with run.visible(image) as seen:
        assert seen.startswith("/tmp/pvhlint-image-") and seen.endswith("/kernel.bin")
        inside = subprocess.run(run.command(["cat", seen]), capture_output=True, check=True)
        assert inside.stdout == b"pvhlint chroot test"
        here = run.host_path(seen)
    assert not here.exists() and not here.parent.exists()


def test_chroot_runs_the_debian13_versions(trixie: Path) -> None:
    run = runner(D13)
    qemu = subprocess.run(
        run.command(["qemu-system-x86_64", "--version"]), capture_output=True, text=True
    )
    assert qemu.stdout.startswith(f"QEMU emulator version {LOADER_VERSIONS[D13]['qemu']}.")
    grub = subprocess.run(run.command(["grub-file", "--version"]), capture_output=True, text=True)
    assert f" {LOADER_VERSIONS[D13]['grub']}" in grub.stdout
    pkgconf = run.command(["pkg-config", "--modversion", "xenguest", "xencontrol"])
    versions = subprocess.run(pkgconf, capture_output=True, text=True, check=True).stdout
    assert all(v.startswith(LOADER_VERSIONS[D13]["xen"] + ".") for v in versions.split())


# --- Debian 13's loaders on the known-good test kernels ------------------------------------------


def test_probe_builds_and_parses_pvh_under_420(
    trixie: Path, write: Callable[[bytes], Path]
) -> None:
    assert xenguest_available(D13)
    for elf_class in (32, 64):
        verdict = xen_verdict(write(pvh_elf(elf_class)), "pvh", release=D13)
        assert verdict.accept and found_pvh(verdict), verdict.detail
        assert (verdict.path, verdict.guest_type) == ("elf", "hvm-3.0-x86_32")
    assert probe_binary(D13).is_relative_to(trixie / "var/cache/pvhlint/harness")


def test_qemu10_boots_the_pvh_test_kernel(trixie: Path, write: Callable[[bytes], Path]) -> None:
    path = write(build_pvh_kernel())
    result = qemu_boot(path, timeout=30, release=D13)
    assert (result.debugcon, result.exit_status) == (MSG, qemu_exit_status())
    verdict = qemu_verdict(path, release=D13)
    assert (verdict.accept, verdict.path, verdict.message) == (True, "pvh", "")


def test_grub_file_212_detects_multiboot(trixie: Path, write: Callable[[bytes], Path]) -> None:
    assert grub_file(write(build_pvh_kernel(multiboot1=True)), "x86-multiboot", D13)
    assert not grub_file(write(build_pvh_kernel()), "x86-multiboot", D13)


def test_grub_212_loader_runs_in_the_chroot(trixie: Path, write: Callable[[bytes], Path]) -> None:
    assert grub_boot_available(D13)
    verdict = grub_load_verdict(write(build_pvh_kernel()), "linux", release=D13)
    assert (verdict.accept, verdict.message) == (False, "invalid magic number")
    assert verdict.detail.startswith(f"$ chroot {trixie} qemu-system-x86_64 ")


# --- the two known version differences -----------------------------------------------------------


@needs_debian12
def test_paddr_offset_without_virt_base_417_vs_420(
    trixie: Path, write: Callable[[bytes], Path]
) -> None:
    """Xen b77ed96fce "libelf: relax ELF_PADDR_OFFSET && !VIRT_BASE check for PVH"."""
    path = write(pvh_elf(64, (xen_num(XEN_ELFNOTE_PADDR_OFFSET, 0, 8),)))
    old = xen_verdict(path, "pvh", release=D12)
    assert (old.accept, old.message) == (False, NOT_32BIT)
    # 4.17's libelf refuses the notes quietly inside the HVM-generic probe, which then takes
    # the image as hvmloader firmware and wants an ELF32.
    assert loader_path(old.detail.splitlines()) == "hvm-generic"
    new = xen_verdict(path, "pvh", release=D13)
    assert new.accept and found_pvh(new), new.detail


@needs_debian12
def test_filesz_above_memsz_qemu72_vs_100(trixie: Path, write: Callable[[bytes], Path]) -> None:
    path = write(pvh_elf(64, memsz=0x10))
    new = qemu_verdict(path, release=D13)
    assert (new.accept, new.message, new.exit_status) == (False, QEMU_ELF_ERROR, 1)
    # 7.2 reports no loader error: it takes the segment and then never gets to its main loop
    # (nor runs the guest), so neither an error nor the monitor's answer ever comes.
    with pytest.raises(subprocess.TimeoutExpired):
        qemu_verdict(path, timeout=10)
    stuck = qemu_boot(path, timeout=10)
    assert stuck.timed_out and stuck.debugcon == b"" and stuck.stderr == ""
    fine = write(pvh_elf(64))
    assert qemu_verdict(fine).path == qemu_verdict(fine, release=D13).path == "pvh"


@pytest.mark.skipif(not grub_boot_available(), reason="Debian 12's grub-pc-bin or QEMU missing")
def test_no_section_headers_grub206_vs_212(trixie: Path, write: Callable[[bytes], Path]) -> None:
    """GRUB 2.12's multiboot loaders read the section header count through
    grub_elfXX_get_shnum (kern/elfxx.c), which refuses e_shnum 0 with e_shoff 0; 2.06 loads."""
    path = write(without_section_headers(catalogue()["elf32-mb2"].data))
    old = grub_load_verdict(path, "multiboot2", release=D12)
    assert (old.accept, old.message) == (True, ""), old.detail
    new = grub_load_verdict(path, "multiboot2", release=D13)
    assert (new.accept, new.message) == (False, "invalid section header table offset in e_shoff")
    mb1 = grub_load_verdict(write(build_pvh_kernel(multiboot1=True)), "multiboot", release=D13)
    assert mb1.message == "invalid section header table offset in e_shoff"
    with_headers = write(catalogue()["elf32-mb2"].data)
    assert grub_load_verdict(with_headers, "multiboot2", release=D13).accept


# --- tests.loader_versions ------------------------------------------------------------------------


@needs_debian12
def test_loader_versions_lists_the_known_differences(
    trixie: Path, write: Callable[[bytes], Path]
) -> None:
    found = {}
    for name, (_, data) in VERSION_PROBES.items():
        for diff in compare_image(name, write(data), repeats=1):
            assert not diff.unstable, diff
            found[diff.image, diff.target] = (diff.old.accept, diff.new.accept, diff.new.detail)
    assert found == {
        ("version-pvh64-paddr-offset-no-virt-base", "xen-pvh"): (False, True, "Found PVH image"),
        ("version-pvh64-filesz-above-memsz", "qemu"): (False, False, QEMU_ELF_ERROR),
        ("version-elf32-mb2-no-section-headers", "grub-multiboot2"): (
            True,
            False,
            "invalid section header table offset in e_shoff",
        ),
    }


# --- Debian 13's real images ---------------------------------------------------------------------


@pytest.mark.realworld
def test_debian13_cloud_kernel_zstd(trixie: Path) -> None:
    """Debian 13's 6.12 cloud kernel (zstd payload): a PVH kernel to both libxenguest versions
    (zstd since Xen 4.16), booted by QEMU 10.0's Linux boot path."""
    path = real_image("cloud", "debian13")
    for release in (D12, D13) if xenguest_available() else (D13,):
        verdict = xen_verdict(path, "pvh", release=release)
        assert found_pvh(verdict) and verdict.path == "bzimage", verdict.detail
        assert any("ZSTD decompress OK" in line for line in verdict.key_lines), verdict.key_lines
    result = qemu_boot(
        path, timeout=60, expect=b"Linux version", append="console=ttyS0", release=D13
    )
    assert result.expect_seen and b"Linux version 6.12" in result.serial
