"""Real-world tier: Debian's own images, checked against independent readings.

The model is compared with readelf, the codecs' own command-line tools, zlib's
CRC, LIEF's PE parser and facts from shared/reference verified with the real loaders.
Debian 12's images come from the machine's apt sources; Debian 13's, unstable's and
the backports' from fixtures.debian's private apt configuration (see there). The
verdicts on every one of them are compared with the real loaders in test_verdicts_real.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from fixtures import debian
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from pvhlint.xennotes import XenNote
from tests.independent import (
    extract_vmlinux,
    gunzip,
    readelf_notes,
    readelf_segments,
    unknown_type,
)
from tests.loaders.grub_boot import grub_boot_available, grub_load_verdict

pytestmark = pytest.mark.realworld


def _assert_notes_match_readelf(image, vmlinux: Path) -> None:
    """Every note in the PT_NOTE equals readelf's, in order: owner, size, descriptor bytes."""
    theirs, _ = readelf_notes(vmlinux)
    ours = [note for area in image.elf.note_areas for note in area.notes]
    assert [(n.owner.rstrip(b"\0").decode(), n.descsz) for n in ours] == [
        (n.owner, n.descsz) for n in theirs
    ]
    for mine, their in zip(ours, theirs, strict=True):
        if their.desc is not None:
            assert mine.desc == their.desc


@pytest.mark.parametrize(("name", "codec"), [("amd64", "xz"), ("cloud", "lz4")])
def test_debian_kernel_matches_extracted_vmlinux(debian_image, tmp_path, name, codec):
    path = debian_image(name)
    image = open_image(path)
    assert image.format == "bzimage" and image.kernel_format == "elf64"
    assert image.layers[1].codec == codec
    vmlinux = extract_vmlinux(path, codec, tmp_path / "vmlinux")
    _assert_notes_match_readelf(image, vmlinux)
    phys32 = [n for n in readelf_notes(vmlinux)[0] if unknown_type(n) == 0x12]
    assert len(phys32) == 1
    entry = image.elf.notes_of_type(XenNote.PHYS32_ENTRY)[0]
    assert entry.value == int.from_bytes(phys32[0].desc, "little")
    segments = [(s.type_name, s.offset, s.vaddr, s.paddr, s.filesz, s.memsz)
                for s in image.elf.segments]  # fmt: skip
    assert segments == readelf_segments(vmlinux)
    payload = image.layers[1]
    if codec == "xz":  # early stop at the notes; the decoded size read from the xz index
        assert payload.decoded_prefix < payload.decoded_size == payload.size_trailer
    else:  # decoded to its end, as libxenguest does, to check the trailer
        assert payload.decoded_prefix == payload.decoded_size == payload.size_trailer


def test_debian_kernel_full_decode_matches_size_trailer(debian_image, tmp_path):
    path = debian_image("amd64")
    image = open_image(path, full=True)
    vmlinux_and_relocs = extract_vmlinux(path, "xz", tmp_path / "vmlinux")
    assert image.layers[1].decoded_size == vmlinux_and_relocs.stat().st_size
    assert image.layers[1].size_trailer == image.layers[1].decoded_size
    assert not image.problems


@pytest.mark.parametrize("name", ["amd64", "cloud"])
def test_debian_kernel_setup_header_and_crc(debian_image, name):
    path = debian_image(name)
    data = path.read_bytes()
    setup = open_image(path).setup
    # Independent: the reference's formula over the raw bytes.
    n = (data[0x1F1] + 1) * 512 + struct.unpack_from("<I", data, 0x1F4)[0] * 16
    assert zlib.crc32(data[:n]) == 0xFFFFFFFF
    assert setup.crc_ok is True and setup.crc_end == n
    assert setup.crc_stored == struct.unpack_from("<I", data, n - 4)[0]
    assert setup.version == 0x020F and setup.setup_sects == data[0x1F1]
    assert setup.fields["xloadflags"] == 0x7F
    assert setup.kernel_info and setup.kernel_info["valid"] == 1
    assert data[setup.kernel_info["offset"] : setup.kernel_info["offset"] + 4] == b"LToP"


def test_debian_kernel_pe_matches_lief(debian_image):
    lief = pytest.importorskip("lief")
    path = debian_image("amd64")
    pe = open_image(path).pe
    theirs = lief.PE.parse(str(path))
    assert pe is not None and theirs is not None
    assert pe.machine == int(theirs.header.machine)
    assert pe.sections == len(theirs.sections)
    assert pe.subsystem == int(theirs.optional_header.subsystem)
    assert pe.signed is theirs.has_signatures is False


def test_xen_hypervisor_multiboot_headers_where_the_bytes_are(debian_image, tmp_path):
    path = debian_image("xen")
    image = open_image(path)
    assert image.format == "gzip" and image.kernel_format == "elf32"
    raw = gunzip(path, tmp_path / "xen").read_bytes()
    mb1 = [h for h in image.multiboot if h.version == 1 and h.layer == 1]
    mb2 = [h for h in image.multiboot if h.version == 2 and h.layer == 1]
    # shared/reference/multiboot.md: MB1 at 0x88 flags 0x3; MB2 at 0x98, 136 bytes, these tags.
    assert [(h.offset, h.flags, h.in_window) for h in mb1] == [(0x88, 0x3, True)]
    assert struct.unpack_from("<III", raw, 0x88) == (
        0x1BADB002,
        0x3,
        (-(0x1BADB002 + 3)) & 0xFFFFFFFF,
    )
    assert [(h.offset, h.architecture, h.header_length) for h in mb2] == [(0x98, 0, 136)]
    tags = [(t.type, bool(t.flags & 1)) for t in mb2[0].tags]
    assert tags == [(1, False), (6, False), (10, True), (4, True), (5, True), (7, True),
                    (9, True), (0, False)]  # fmt: skip
    assert mb2[0].tags[0].fields["requests"] == [4, 6]
    assert mb2[0].tags[2].fields["align"] == 0x200000 and mb2[0].tags[2].fields["preference"] == 2
    assert mb2[0].tags[6].fields["entry_addr"] == 0x3DD531
    assert not mb2[0].problems
    # The hypervisor is no Xen guest: its only note is not Xen's.
    assert image.elf.xen_notes == []


def test_gnumach_xen_notes_have_owner_name(debian_image, tmp_path):
    path = debian_image("gnumach-xen")
    image = open_image(path)
    theirs, _ = readelf_notes(gunzip(path, tmp_path / "gnumach"))
    assert theirs and {n.owner for n in theirs} == {"name"}
    areas = [a for a in image.elf.note_areas if a.name == ".note.Xen"]
    assert len(areas) == 1 and len(areas[0].notes) == len(theirs)
    assert all(n.owner == b"name\0\0\0\0"[: n.namesz] or n.owner.startswith(b"name")
               for n in areas[0].notes)  # fmt: skip
    assert all("owner-not-xen" in n.problems and not n.is_xen for n in areas[0].notes)
    # Xen ignores them and falls back to the legacy string.
    assert image.elf.xen_notes_from == "__xen_guest"
    assert dict(image.elf.xen_guest.pairs)["XEN_VER"] == "xen-3.0"


def test_gnumach_is_a_64bit_multiboot_elf(debian_image):
    image = open_image(debian_image("gnumach"))
    assert image.kernel_format == "elf64" and image.elf.machine == 62
    mb1 = [h for h in image.multiboot if h.version == 1 and h.in_window]
    assert len(mb1) == 1 and not mb1[0].flags & 0x10000  # ELF path: QEMU refuses x86-64


@pytest.mark.parametrize("name", ["grub-i386-xen", "trixie-grub-i386-xen", "sid-grub-i386-xen"])
def test_grub_xen_pae_mode_runs_past_its_segment(debian_image, name):
    """GRUB 2.06, 2.12 and 2.14 alike."""
    path = debian_image(name)
    image = open_image(path)
    _, warnings = readelf_notes(path)
    assert "invalid namesz and/or descsz" in warnings and "type: 0x9" in warnings
    pae = image.elf.notes_of_type(9)
    assert len(pae) == 1 and "desc-past-segment" in pae[0].problems


@pytest.mark.parametrize(
    "name", ["grub-i386-xen_pvh", "trixie-grub-i386-xen_pvh", "sid-grub-i386-xen_pvh"]
)
def test_grub_pvh_image_is_minimal(debian_image, name):
    image = open_image(debian_image(name))
    assert image.kernel_format == "elf32"
    assert [(n.type, n.value) for n in image.elf.xen_notes] == [(18, 0x100000)]


def test_debian_signed_kernel_shows_its_signer(debian_image):
    lief = pytest.importorskip("lief")
    path = debian_image("amd64-signed")
    image = open_image(path)
    theirs = lief.PE.parse(str(path))
    assert image.pe.signed is theirs.has_signatures is True
    # The certificate table sits after N, where the unsigned build ended. Signing rewrote
    # the PE CheckSum and Security directory inside [0, N): the CRC holds only without them.
    data = path.read_bytes()
    assert image.pe.security_offset >= image.setup.crc_end
    assert zlib.crc32(data[: image.setup.crc_end]) != 0xFFFFFFFF
    assert image.setup.crc_ok is False and image.setup.crc_ok_before_signing is True
    unsigned = debian_image("amd64").read_bytes()
    differ = [i for i in range(image.setup.crc_end) if data[i] != unsigned[i]]
    opt = image.pe.offset + 24
    assert set(differ) <= set(range(opt + 64, opt + 68)) | set(range(opt + 144, opt + 152))
    assert [c["revision"], c["type"]] == [0x200, 2] if (c := image.pe.certificates[0]) else False
    done = subprocess.run([sys.executable, "-m", "pvhlint", "inspect", "--json", str(path)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    details = json.loads(done.stdout)["images"][0]["pe"]["authenticode"]
    assert details["verification"] == "OK"
    assert [s["issuer"] for s in details["signers"]] == ["CN=Debian Secure Boot CA"]


# --- current kernels: Debian 13, unstable, the backports, Debian 12's rt and 686-pae ------------

# name -> (payload codec, ELF class), as Debian's kernel configurations build them.
CURRENT_KERNELS = {
    "rt": ("xz", "elf64"),
    "686-pae": ("xz", "elf32"),
    **{name: ("zstd", "elf64") for name in debian.STOCK_KERNELS
       if name.startswith(("trixie-", "sid-", "bookworm-bpo-"))},
}  # fmt: skip


@pytest.mark.parametrize("name", CURRENT_KERNELS)
def test_current_kernel_matches_extracted_vmlinux(debian_image, tmp_path, name):
    codec, kernel_format = CURRENT_KERNELS[name]
    path = debian_image(name)
    image = open_image(path)
    assert image.format == "bzimage" and image.kernel_format == kernel_format
    assert image.layers[1].codec == codec
    vmlinux = extract_vmlinux(path, codec, tmp_path / "vmlinux")
    _assert_notes_match_readelf(image, vmlinux)
    segments = [(s.type_name, s.offset, s.vaddr, s.paddr, s.filesz, s.memsz)
                for s in image.elf.segments]  # fmt: skip
    assert segments == readelf_segments(vmlinux)


def _kernel_version(name: str) -> tuple[int, int]:
    major, minor = debian.deb(name).version.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("name", [n for n in debian.STOCK_KERNELS if not n.endswith("-signed")])
def test_stock_kernel_crc_up_to_6_14_only(debian_image, name):
    """The fact bzimage-crc rests on, read with zlib alone: Linux up to 6.14 ends the image
    with a CRC32 over [0, N); 6.15 dropped it (commit 9c54baab4401), the last 4 bytes of N
    are padding. (Signing rewrites bytes inside [0, N): see the signed-kernel test.)"""
    data = debian_image(name).read_bytes()
    n = (data[0x1F1] + 1) * 512 + struct.unpack_from("<I", data, 0x1F4)[0] * 16
    has_crc = zlib.crc32(data[:n]) == 0xFFFFFFFF
    assert has_crc is (_kernel_version(name) < (6, 15)), (name, debian.deb(name).version)
    if not has_crc:
        assert data[n - 4 : n] == bytes(4)


def _check(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", "check", *flags, str(path)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.mark.parametrize("name", debian.STOCK_KERNELS)
def test_plain_check_passes_stock_kernel(debian_image, name):
    """A build step running `pvhlint check vmlinuz` passes every kernel Debian ships: the
    kernels boot on the targets they claim (Debian's users boot them)."""
    done = _check(debian_image(name))
    assert done.returncode == 0, f"{debian.deb(name).filename}:\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("name", debian.STOCK_KERNELS)
def test_stock_kernel_gets_no_error_or_warning(debian_image, name):
    """Nor does it warn about them: a warning on every stock kernel is one users learn to
    ignore. (The 6.1 kernels have none; a 7.x kernel's missing CRC is no defect.)"""
    done = _check(debian_image(name), "--format", "json")
    findings = json.loads(done.stdout)["images"][0]["findings"]
    loud = [f"{f['severity']} {f['rule']}: {f['message']}" for f in findings
            if f["severity"] in ("error", "warning")]  # fmt: skip
    assert loud == [], debian.deb(name).filename


# --- Xen 4.20 --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xen-efi", "trixie-xen-efi"])
@pytest.mark.parametrize("command", ["multiboot", "multiboot2"])
def test_grub_loader_refuses_xen_efi(debian_image, name, command):
    """grub-file says yes to xen.efi (its multiboot headers are in the scan window), GRUB's
    loader says no: the verdict table compares these pairs at detection level."""
    if not grub_boot_available():
        pytest.skip("GRUB's i386-pc loaders are not installed (grub-pc-bin)")
    refused = grub_load_verdict(debian_image(name), command)
    assert (refused.accept, refused.message) == (False, "invalid arch-dependent ELF magic")


GRUB_TARGETS = {"multiboot": "multiboot1", "multiboot2": "multiboot2"}


@pytest.mark.parametrize("name", ["xen", "trixie-xen", "tboot", "trixie-tboot"])
@pytest.mark.parametrize("command", GRUB_TARGETS)
def test_multiboot_verdict_matches_grub_loader(debian_image, name, command):
    """Beyond grub-file (detection only, in test_verdicts_real): GRUB's own multiboot loaders,
    booted in QEMU, on Xen's and tboot's gzipped images as GRUB loads them."""
    if not grub_boot_available():
        pytest.skip("GRUB's i386-pc loaders are not installed (grub-pc-bin)")
    path = debian_image(name)
    ours = check_image(open_image(path), Options()).verdicts[GRUB_TARGETS[command]]
    theirs = grub_load_verdict(path, command)
    assert ours.accept == theirs.accept, (ours.rules, theirs.message)
