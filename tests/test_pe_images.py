"""PE/EFI executables and Unified Kernel Images as a format of their own (issue 14): xen.efi,
systemd-boot's stub and a UKI (fixtures.uki), read as PE, their section tables checked
against objdump, their seven verdicts against the real loaders. A UKI's verdicts are those of
the kernel in its .linux section, compared with the real loaders run on that section cut out
by objcopy. (GRUB's own loaders on xen.efi: tests/test_realworld.py; every Debian image, EFI
ones included, against the real loaders: tests/test_verdicts_real.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.uki import build_uki
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image


def objdump_sections(path: Path) -> list[str]:
    """Section names as binutils lists them: `objdump -h`, one row per section."""
    out = subprocess.run(["objdump", "-h", str(path)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    rows = [line.split() for line in out.splitlines()]
    return [row[1] for row in rows if len(row) > 1 and row[0].isdigit()]


def pvhlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def stub(debian_image) -> Path:
    """systemd-boot's linuxx64.efi.stub, Debian 12's (systemd-boot-efi)."""
    return debian_image("linuxx64-stub")


@pytest.fixture(scope="module")
def uki(debian_image, stub, tmp_path_factory) -> tuple[Path, Path]:
    """(a UKI of Debian 12's systemd stub and amd64 kernel, built by fixtures.uki with objcopy;
    the kernel as objcopy cuts it back out of the .linux section)."""
    work = tmp_path_factory.mktemp("uki")
    kernel = debian_image("amd64")
    path = build_uki(stub, kernel, work / "uki.efi")
    inner = work / "linux.bin"
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.linux", str(path), str(inner)],
                   check=True, capture_output=True)  # fmt: skip
    assert inner.read_bytes() == kernel.read_bytes()  # the section holds the kernel whole
    return path, inner


@pytest.mark.realworld
def test_xen_efi_is_pe_with_its_sections(debian_image):
    path = debian_image("xen-efi")
    image = open_image(path)
    assert image.format == "pe" and image.pe is not None
    assert [s.name for s in image.pe.section_table] == objdump_sections(path)
    assert image.multiboot, "xen.efi still carries its multiboot headers"


@pytest.mark.realworld
def test_stub_is_pe_with_its_sections(stub):
    image = open_image(stub)
    assert image.format == "pe" and image.uki_kernel is None
    assert [s.name for s in image.pe.section_table] == objdump_sections(stub)


@pytest.mark.realworld
def test_uki_is_read_into_its_kernel(uki):
    path, inner = uki
    image = open_image(path)
    assert image.format == "pe" and image.uki_kernel is not None
    assert [layer.kind for layer in image.layers] == ["file", ".linux", "payload"]
    assert image.setup is not None and image.setup.layer == 1
    assert image.elf is not None and image.elf.layer == 2
    assert [s.name for s in image.pe.section_table] == objdump_sections(path)
    alone = open_image(inner)
    assert [n.value for n in image.elf.xen_notes] == [n.value for n in alone.elf.xen_notes]
    uki_result = check_image(image, Options())
    alone_result = check_image(alone, Options())
    assert uki_result.verdicts == alone_result.verdicts
    assert [(f.rule, f.offset) for f in uki_result.findings] == [
        (f.rule, f.offset) for f in alone_result.findings]  # fmt: skip


@pytest.mark.realworld
def test_uki_check_names_the_layers_and_extract_reaches_the_kernel(uki, tmp_path):
    path, inner = uki
    done = pvhlint("check", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "UKI: pe → .linux bzimage → elf64 (xz)" in done.stdout.splitlines()[0]
    from_uki, from_kernel = tmp_path / "a", tmp_path / "b"
    assert pvhlint("extract", path, "-o", from_uki).returncode == 0
    assert pvhlint("extract", inner, "-o", from_kernel).returncode == 0
    assert from_uki.read_bytes() == from_kernel.read_bytes()


@pytest.mark.realworld
def test_fix_refuses_a_uki_with_one_line(uki, tmp_path):
    path, _ = uki
    before = path.read_bytes()
    done = pvhlint("fix", "--drop-obsolete-notes", "-o", tmp_path / "out", path)
    assert done.returncode == 2 and "PE/EFI image" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and path.read_bytes() == before
