"""PE/EFI executables and Unified Kernel Images as a format of their own (issue 14): xen.efi,
systemd-boot's stub and a UKI built here with objcopy, read as PE, their section tables
checked against objdump, their seven verdicts against the real loaders. A UKI's verdicts are
those of the kernel in its .linux section, compared with the real loaders run on that
section cut out by objcopy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from tests import verdict_table as vt
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict

STUB = Path("/usr/lib/systemd/boot/efi/linuxx64.efi.stub")  # Debian: systemd-boot-efi


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
def stub() -> Path:
    if not STUB.is_file():
        pytest.skip("systemd-boot-efi is not installed (tests/run.sh installs it)")
    return STUB


@pytest.fixture(scope="module")
def uki(debian_image, stub, tmp_path_factory) -> tuple[Path, Path]:
    """(a UKI of Debian's amd64 kernel made the way systemd documents it with objcopy,
    the kernel as objcopy cuts it back out of the .linux section)."""
    work = tmp_path_factory.mktemp("uki")
    (work / "osrel").write_text("NAME=Debian\nID=debian\n")
    (work / "cmdline").write_text("console=ttyS0\n")
    (work / "initrd").write_bytes(bytes(4096))
    kernel, uki = debian_image("amd64"), work / "uki.efi"
    sections = {".osrel": work / "osrel", ".cmdline": work / "cmdline", ".linux": kernel,
                ".initrd": work / "initrd"}  # fmt: skip
    vma = {".osrel": 0x20000, ".cmdline": 0x30000, ".linux": 0x2000000, ".initrd": 0x3000000}
    args = ["objcopy"]
    for name, source in sections.items():
        args += ["--add-section", f"{name}={source}", "--change-section-vma",
                 f"{name}={vma[name]:#x}"]  # fmt: skip
    subprocess.run([*args, str(stub), str(uki)], check=True, capture_output=True)
    inner = work / "linux.bin"
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.linux", str(uki), str(inner)],
                   check=True, capture_output=True)  # fmt: skip
    assert inner.read_bytes() == kernel.read_bytes()  # the section holds the kernel whole
    return uki, inner


@pytest.mark.realworld
def test_xen_efi_is_pe_with_its_sections(debian_image):
    path = debian_image("xen-efi")
    image = open_image(path)
    assert image.format == "pe" and image.pe is not None
    assert [s.name for s in image.pe.section_table] == objdump_sections(path)
    assert image.multiboot, "xen.efi still carries its multiboot headers"


def test_stub_is_pe_with_its_sections(stub):
    image = open_image(stub)
    assert image.format == "pe" and image.uki_kernel is None
    assert [s.name for s in image.pe.section_table] == objdump_sections(stub)


def _assert_matches_real(name: str, path: Path, real_from: Path | None = None) -> None:
    row = vt.row(name, path, real_from)
    assert row.error is None, row.error
    for target in vt.COMPARED:
        outcome = row.outcome(target)
        assert outcome.status != "mismatch", row.explain(target)


def test_stub_verdicts_match_the_real_loaders(stub):
    _assert_matches_real("systemd-stub", stub)
    result = check_image(open_image(stub), Options())
    assert result.verdicts["qemu"].accept and result.verdicts["qemu"].path == "linux"


@pytest.mark.realworld
def test_xen_efi_verdicts_match_the_real_loaders(debian_image):
    """QEMU finds xen.efi's multiboot 1 header and fails it as an ELF; libxenguest finds no
    loader; grub-file detects both multiboot headers, and GRUB's own loaders then refuse
    the file, which is not an ELF (booted below)."""
    path = debian_image("xen-efi")
    _assert_matches_real("debian-xen-efi", path)
    row = vt.row("debian-xen-efi", path)
    assert not row.ours["multiboot1"].accept and not row.ours["multiboot2"].accept
    assert row.detected == {"multiboot1": True, "multiboot2": True}


@pytest.mark.realworld
@pytest.mark.parametrize("command", ["multiboot", "multiboot2"])
def test_grub_loaders_refuse_xen_efi(debian_image, command):
    if not grub_boot_available():
        pytest.skip("GRUB's i386-pc modules or QEMU are missing")
    verdict = grub_load_verdict(debian_image("xen-efi"), command)
    assert not verdict.accept and verdict.message == "invalid arch-dependent ELF magic"


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
def test_uki_verdicts_are_the_real_loaders_on_its_kernel(uki):
    path, inner = uki
    _assert_matches_real("uki-amd64", path, real_from=inner)


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
