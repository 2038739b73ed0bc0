"""`pvhlint fix` on bzImages: the kernel inside the payload is edited, the payload is
re-compressed into the same slot, and the result is proven with independent decoders
(the codecs' own command-line tools), Xen's parser and, for Debian's kernels, by
booting the fixed bzImage so that the kernel's own decompressor runs on our stream."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from fixtures import catalogue
from pvhlint.image import open_image

CODECS = ("gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd")
# The codecs' own tools, as the kernel build uses them (they stop at the stream's end).
DECODERS = {
    "gzip": ["gzip", "-dc"], "bzip2": ["bzip2", "-dc"], "lzma": ["lzma", "-dc"],
    "xz": ["xz", "-dc", "--single-stream"], "lzo": ["lzop", "-dc"], "lz4": ["lz4", "-dc"],
    "zstd": ["zstd", "-dc"],
}  # fmt: skip
OBSOLETE = {2, 3, 9, 12, 13}


def pvhlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def payload_of(data: bytes) -> bytes:
    """The payload slot, located with the setup header fields read by hand."""
    setup_sects = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return data[start : start + length]


def crc_holds(data: bytes) -> bool:
    n = ((data[0x1F1] or 4) + 1) * 512 + struct.unpack_from("<I", data, 0x1F4)[0] * 16
    return zlib.crc32(data[:n]) == 0xFFFFFFFF


def decode_with_tool(codec: str, payload: bytes) -> bytes:
    stream = payload if codec == "gzip" else payload[:-4]
    done = subprocess.run(DECODERS[codec], input=stream, capture_output=True)
    # lzop and zstd warn about the padding after the stream; the output is what counts.
    return done.stdout


def xen_types(elf: bytes, tmp_path: Path) -> set[int]:
    path = tmp_path / "inner.elf"
    path.write_bytes(elf)
    return {n.type for n in open_image(path).elf.xen_notes}


@pytest.mark.parametrize("codec", CODECS)
def test_synthetic_bzimage_each_codec(tmp_path, codec):
    original = tmp_path / "vmlinuz"
    original.write_bytes(catalogue()[f"bzimage-{codec}"].data)
    fixed = tmp_path / "fixed"
    done = pvhlint("fix", "--drop-obsolete-notes", "-o", fixed, original)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "payload re-compressed with" in done.stdout
    before, after = original.read_bytes(), fixed.read_bytes()
    assert len(after) == len(before) and crc_holds(after)
    old_payload, new_payload = payload_of(before), payload_of(after)
    assert len(old_payload) == len(new_payload)
    # Only the payload slot and the CRC trailer changed.
    start = before.index(old_payload)
    n = ((before[0x1F1] or 4) + 1) * 512 + struct.unpack_from("<I", before, 0x1F4)[0] * 16
    assert before[:start] == after[:start] and before[start + len(old_payload) : n - 4] == after[
        start + len(new_payload) : n - 4]  # fmt: skip
    # The codec's own tool decodes the new stream to the edited kernel, same size.
    old_elf, new_elf = decode_with_tool(codec, old_payload), decode_with_tool(codec, new_payload)
    assert len(new_elf) == len(old_elf) == struct.unpack("<I", new_payload[-4:])[0]
    assert xen_types(old_elf, tmp_path) & OBSOLETE and not xen_types(new_elf, tmp_path) & OBSOLETE
    recheck = pvhlint("check", "--require", "xen-pvh", "--format", "json", fixed)
    assert '"xen-obsolete-pv-note"' not in recheck.stdout and '"bzimage-crc"' not in recheck.stdout
    second = pvhlint("fix", "--drop-obsolete-notes", fixed)
    assert second.returncode == 0 and "nothing to change" in second.stdout
    assert "re-compressed" not in second.stdout  # nothing encoded for nothing


def test_signed_bzimage_is_refused_unless_asked(tmp_path):
    original = tmp_path / "signed"
    original.write_bytes(catalogue()["bzimage-xz-signed"].data)
    done = pvhlint("fix", "--drop-obsolete-notes", original)
    assert done.returncode == 1 and "Authenticode signature" in done.stderr
    assert original.read_bytes() == catalogue()["bzimage-xz-signed"].data
    done = pvhlint("fix", "--drop-obsolete-notes", "--break-signature", "-o", tmp_path / "o",
                   original)  # fmt: skip
    assert done.returncode == 0 and "signature no longer matches" in done.stdout


def test_dry_run_on_a_bzimage_writes_nothing(tmp_path):
    original = tmp_path / "vmlinuz"
    original.write_bytes(catalogue()["bzimage-lz4"].data)
    done = pvhlint("fix", "--drop-obsolete-notes", "--dry-run", original)
    assert done.returncode == 0 and "dry run: nothing written" in done.stdout
    assert original.read_bytes() == catalogue()["bzimage-lz4"].data


@pytest.mark.realworld
@pytest.mark.parametrize(("name", "codec"), [("amd64", "xz"), ("cloud", "lz4")])
def test_debian_bzimage_fixed_and_booted(debian_image, tmp_path, name, codec):
    from tests.loaders import found_pvh, xen_verdict
    from tests.loaders.qemu import qemu_boot

    original = debian_image(name)
    fixed = tmp_path / "vmlinuz.fixed"
    # Booted below with Debian 12's Xen 4.17, which needs PADDR_OFFSET gone too.
    done = pvhlint("fix", "--drop-obsolete-notes", "--loaders", "debian12", "-o", fixed, original)
    assert done.returncode == 0, done.stdout + done.stderr
    after = fixed.read_bytes()
    assert crc_holds(after) and len(after) == original.stat().st_size
    report = pvhlint("check", "--require", "xen-pvh", "--format", "json", fixed)
    assert report.returncode == 0 and '"xen-obsolete-pv-note"' not in report.stdout
    assert '"bzimage-crc"' not in report.stdout
    new_elf = decode_with_tool(codec, payload_of(after))
    assert not xen_types(new_elf, tmp_path) & OBSOLETE
    old, new = xen_verdict(original, mode="pvh"), xen_verdict(fixed, mode="pvh")
    assert found_pvh(new) and new.accept
    entry = [line for line in new.detail.splitlines() if "PHYS32_ENTRY =" in line]
    assert entry and entry == [line for line in old.detail.splitlines() if "PHYS32_ENTRY =" in line]
    booted = qemu_boot(fixed, expect=b"Linux version", append="console=ttyS0", timeout=90)
    assert booted.expect_seen, booted.serial[-400:]


@pytest.mark.realworld
@pytest.mark.parametrize(("name", "codec"), [("amd64", "xz"), ("cloud", "lz4")])
def test_debian_bzimage_fixed_by_default_boots(debian_image, tmp_path, name, codec):
    """The default profile keeps PADDR_OFFSET, one note more than Debian 12's fix: the
    re-compressed payload then needs other encoder settings than the build's to fit the
    build's slot (xz: lc=4,nice=80; lz4: blocks at HC 12). The kernel's own decompressor
    boots it in QEMU, and Debian 13's libxenguest finds it PVH."""
    from tests.loaders import Release, found_pvh, xen_verdict
    from tests.loaders.qemu import qemu_boot
    from tests.realimages import debian13_root

    original, fixed = debian_image(name), tmp_path / "vmlinuz.fixed"
    done = pvhlint("fix", "--drop-obsolete-notes", "-o", fixed, original)
    assert done.returncode == 0, done.stdout + done.stderr
    after = fixed.read_bytes()
    assert crc_holds(after) and len(after) == original.stat().st_size
    assert not xen_types(decode_with_tool(codec, payload_of(after)), tmp_path) & OBSOLETE
    booted = qemu_boot(fixed, expect=b"Linux version", append="console=ttyS0", timeout=90)
    assert booted.expect_seen, booted.serial[-400:]
    debian13_root()
    assert found_pvh(xen_verdict(fixed, mode="pvh", release=Release.DEBIAN13))


@pytest.mark.realworld
def test_debian_kernel_fixed_for_xen_420_keeps_paddr_offset(debian_image, tmp_path):
    """The default profile (Debian 13: Xen 4.20) keeps PADDR_OFFSET without VIRT_BASE, which
    Xen 4.18+ (b77ed96fce) boots as PVH and 4.17 does not: both real libxenguests agree."""
    from tests.loaders import Release, found_pvh, xen_verdict
    from tests.realimages import debian13_root

    debian13_root()
    # The extracted vmlinux (its bzImage: test_debian_bzimage_fixed_by_default_boots).
    vmlinux, fixed = tmp_path / "vmlinux", tmp_path / "vmlinux.fixed"
    assert pvhlint("extract", debian_image("amd64"), "-o", vmlinux).returncode == 0
    done = pvhlint("fix", "--drop-obsolete-notes", "-o", fixed, vmlinux)
    assert done.returncode == 0 and "PADDR_OFFSET kept" in done.stdout, done.stdout
    assert found_pvh(xen_verdict(fixed, mode="pvh", release=Release.DEBIAN13))
    assert not found_pvh(xen_verdict(fixed, mode="pvh", release=Release.DEBIAN12))
    report = pvhlint("check", "--require", "xen-pvh@4.17", "--format", "json", fixed)
    assert report.returncode == 1 and '"xen-pvh@4.17"' in report.stdout


@pytest.mark.realworld
def test_debian_signed_kernel_refused(debian_image, tmp_path):
    done = pvhlint(
        "fix", "--drop-obsolete-notes", "-o", tmp_path / "x", debian_image("amd64-signed")
    )
    assert done.returncode == 1 and "Authenticode" in done.stderr
    assert not (tmp_path / "x").exists()


def _crc_end(data: bytes) -> int:
    """N = (setup_sects + 1) * 512 + syssize * 16, from the setup header read by hand."""
    (syssize,) = struct.unpack_from("<I", data, 0x1F4)
    return ((data[0x1F1] or 4) + 1) * 512 + syssize * 16


def test_a_crc_already_wrong_is_repaired_and_said(tmp_path):
    """Issue 16 item 6: the fix wrote nothing ("internal check failed ... []") before."""
    data = bytearray(catalogue()["bzimage-xz"].data)
    end = _crc_end(data)
    data[end - 4] ^= 0xFF
    kernel, out = tmp_path / "vmlinuz", tmp_path / "fixed"
    kernel.write_bytes(data)
    done = pvhlint("fix", "--drop-obsolete-notes", "-o", out, kernel)
    assert done.returncode == 0, done.stderr
    assert "CRC32 trailer repaired: it did not match the image before" in done.stdout
    fixed = out.read_bytes()
    assert zlib.crc32(fixed[: end - 4]) ^ 0xFFFFFFFF == struct.unpack_from("<I", fixed, end - 4)[0]
    assert fixed[:0x248] == bytes(data[:0x248])  # the setup header as it was
