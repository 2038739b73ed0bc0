"""What changed in kernels since Linux 6.1 and must not turn into false findings (issue 14):
Linux 6.15 dropped the bzImage CRC (commit 9c54baab4401), 7.2 moved .init.text (with
pvh_start_xen) into a writable PT_LOAD, and i386 kernels keep GUEST_OS/XEN_VERSION/LOADER
notes after 32-bit PV was removed in 5.9 (no ENTRY note). The stock Debian kernels
themselves are checked in tests/test_realworld.py."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

from fixtures.bzimage import KERNEL_VERSION_AT, build_bzimage
from fixtures.elfgen import PF_R, PF_W, PF_X, Load, Note, NoteArea, build_elf, xen_num, xen_str
from pvhlint.api import fix
from pvhlint.checker import Options, check_image, claimed_targets
from pvhlint.image import open_image
from pvhlint.xennotes import Phys32Reloc, XenNote
from tests.rules.registry import ENTRY, TEXT_PADDR, TEXT_VADDR, notes64

LINUX_72 = b"7.2.13+deb14-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC\0"
LINUX_614 = b"6.14.11-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC\0"
MEMTEST = b"Memtest86+ v7.20\0"


def pvh_elf(tmp_path: Path, loads: list[Load], entry: int = ENTRY, name: str = "k") -> Path:
    built = build_elf(elf_class=64, loads=loads, note_areas=[NoteArea(notes64(entry))])
    path = tmp_path / name
    path.write_bytes(built.data)
    return path


def as_built_by(version: bytes, *, crc: bytes | None) -> bytes:
    """A synthetic Linux bzImage with another kernel_version string, and its last 4 bytes
    (the CRC slot) set to `crc`, or recomputed over the new bytes when None."""
    data = bytearray(build_bzimage(pvh_elf_bytes(), "gzip").data)
    data[KERNEL_VERSION_AT : KERNEL_VERSION_AT + len(version)] = version
    n = (data[0x1F1] + 1) * 512 + struct.unpack_from("<I", data, 0x1F4)[0] * 16
    if crc is None:
        crc = struct.pack("<I", zlib.crc32(data[: n - 4]) ^ 0xFFFFFFFF)
    data[n - 4 : n] = crc
    return bytes(data)


def pvh_elf_bytes() -> bytes:
    load = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100, bss=0x2000)
    return build_elf(elf_class=64, loads=[load], note_areas=[NoteArea(notes64())]).data


def findings(path: Path, *require: str) -> dict[str, list[str]]:
    result = check_image(open_image(path), Options(require=require))
    found: dict[str, list[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.rule, []).append(finding.message)
    return found


# Linux 7.2: pvh_start_xen in .init.text, inside the RW PT_LOAD (readelf -l of Debian's 7.2)
def test_entry_in_a_writable_segment_is_no_finding(tmp_path):
    text = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100, flags=PF_R | PF_X)
    data = Load(TEXT_VADDR + 0x200000, TEXT_PADDR + 0x200000, b"\x90" * 0x100,
                flags=PF_R | PF_W, name=".init.text")  # fmt: skip
    path = pvh_elf(tmp_path, [text, data], entry=TEXT_PADDR + 0x200040)
    result = check_image(open_image(path), Options(require=("xen-pvh", "qemu")))
    assert not [f for f in result.findings if f.rule.startswith("xen-phys32")]
    assert result.verdicts["xen-pvh"].accept and result.verdicts["qemu"].accept


def test_entry_in_a_gap_between_segments_is_a_warning(tmp_path):
    low = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100)
    high = Load(TEXT_VADDR + 0x200000, TEXT_PADDR + 0x200000, b"\x90" * 0x100)
    path = pvh_elf(tmp_path, [low, high], entry=TEXT_PADDR + 0x100000)
    result = check_image(open_image(path), Options(require=("xen-pvh",)))
    shown = [f for f in result.findings if f.rule == "xen-phys32-unloaded"]
    assert [f.severity for f in shown] == ["warning"]
    assert "a gap between segments" in shown[0].message
    assert result.verdicts["xen-pvh"].accept  # libelf checks only [pstart, pend]


def test_entry_in_the_zero_filled_tail_is_a_warning(tmp_path):
    load = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100, bss=0x2000)
    path = pvh_elf(tmp_path, [load], entry=TEXT_PADDR + 0x1000)
    messages = findings(path, "xen-pvh")["xen-phys32-unloaded"]
    assert "zero-filled tail of PT_LOAD" in messages[0]


def test_no_crc_expected_from_linux_6_15_on(tmp_path):
    path = tmp_path / "vmlinuz-7.2"
    path.write_bytes(as_built_by(LINUX_72, crc=bytes(4)))
    assert "bzimage-crc" not in findings(path, "linux")
    path.write_bytes(as_built_by(MEMTEST, crc=bytes(4)))
    assert "bzimage-crc" not in findings(path, "linux")


def test_a_6_14_kernel_still_carries_one(tmp_path):
    path = tmp_path / "vmlinuz-6.14"
    path.write_bytes(as_built_by(LINUX_614, crc=bytes(4)))
    assert "does not match" in findings(path, "linux")["bzimage-crc"][0]
    path.write_bytes(as_built_by(LINUX_614, crc=None))
    assert "bzimage-crc" not in findings(path, "linux")


def test_fix_adds_no_crc_to_a_kernel_without_one(tmp_path):
    original = as_built_by(LINUX_72, crc=bytes(4))
    path, fixed = tmp_path / "vmlinuz", tmp_path / "fixed"
    path.write_bytes(original)
    result = fix(path, output=fixed, drop_obsolete_notes=True)
    assert result.refused is None and fixed.exists()
    after = fixed.read_bytes()
    assert len(after) == len(original) and after[-4:] == bytes(4)
    assert zlib.crc32(after) != 0xFFFFFFFF  # no CRC was written
    assert not open_image(fixed).elf.notes_of_type(3)  # VIRT_BASE is gone


def test_pv_strings_without_entry_claim_no_xen_pv(tmp_path):
    """Debian 12's 686-pae kernel: GUEST_OS, XEN_VERSION, LOADER, PHYS32_ENTRY; no ENTRY."""
    notes = [xen_str(6, "linux"), xen_str(5, "xen-3.0"), xen_str(8, "generic"),
             xen_num(18, TEXT_PADDR + 0x40, 4)]  # fmt: skip
    load = Load(0xC1000000, TEXT_PADDR, b"\x90" * 0x100)
    path = tmp_path / "i386"
    path.write_bytes(build_elf(elf_class=32, loads=[load], note_areas=[NoteArea(notes)]).data)
    assert claimed_targets(open_image(path)) == ("xen-pvh",)
    with_entry = [*notes, xen_num(1, 0xC1000040, 4)]
    path.write_bytes(build_elf(elf_class=32, loads=[load], note_areas=[NoteArea(with_entry)]).data)
    assert claimed_targets(open_image(path)) == ("xen-pvh", "xen-pv")


def _reloc_value(tmp_path: Path, desc: bytes) -> object:
    notes = [*notes64(), Note(b"Xen\0", XenNote.PHYS32_RELOC, desc)]
    load = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100)
    path = tmp_path / f"reloc{len(desc)}"
    path.write_bytes(build_elf(elf_class=64, loads=[load], note_areas=[NoteArea(notes)]).data)
    value = open_image(path).elf.notes_of_type(XenNote.PHYS32_RELOC)[0].value
    assert isinstance(value, Phys32Reloc)
    return value.present()


def test_phys32_reloc_read_as_xen_4_20_reads_each_descsz(tmp_path):
    """libelf-dominfo.c: align if descsz >= 4, min if >= 8, max if >= 12, each through
    elf_note_numeric_array(note, 4, i), which is 0 unless descsz % 4 == 0."""
    words = struct.pack("<4I", 0x200000, 0x1000000, 0x3FFFFFFF, 0xDEAD)
    assert _reloc_value(tmp_path, words[:12]) == {"align": 0x200000, "min": 0x1000000,
                                                  "max": 0x3FFFFFFF}  # fmt: skip
    assert _reloc_value(tmp_path, words) == {"align": 0x200000, "min": 0x1000000,
                                             "max": 0x3FFFFFFF}  # fmt: skip
    assert _reloc_value(tmp_path, words[:6]) == {"align": 0}
    assert _reloc_value(tmp_path, words[:10]) == {"align": 0, "min": 0}


def test_inspect_names_missing_notes_and_linux_physical_e_entry(tmp_path):
    load = Load(TEXT_VADDR, TEXT_PADDR, b"\x90" * 0x100)
    bare = tmp_path / "bare"
    bare.write_bytes(build_elf(elf_class=64, loads=[load], entry=TEXT_PADDR + 0x10).data)
    done = subprocess.run([sys.executable, "-m", "pvhlint", "inspect", str(bare)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Xen notes (none found)" in done
    assert f"e_entry: {TEXT_PADDR + 0x10:#x} (physical address)" in done  # as Linux sets it
