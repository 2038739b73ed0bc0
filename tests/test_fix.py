"""`pvhlint fix` and `pvhlint extract`, proven on real loaders: the tiny PVH kernel boots
in QEMU before, is refused after its PHYS32_ENTRY is dropped, and boots again after it
is set back (in place, and through the move-to-end path); every byte outside the
planned places is compared; Debian's kernel is fixed and booted for real."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.elfgen import Load, NoteArea, build_elf, xen_num, xen_str
from tests.independent import extract_vmlinux, readelf_notes, unknown_type
from tests.loaders.pvh_kernel import build_pvh_kernel, guest_code, qemu_exit_status
from tests.loaders.qemu import qemu_available, qemu_boot, qemu_verdict

MESSAGE = b"pvhlint fixed\n"
needs_qemu = pytest.mark.skipif(not qemu_available(), reason="qemu-system-x86_64 not installed")


def pvhlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def boots(path: Path) -> bool:
    result = qemu_boot(path, timeout=10)
    return MESSAGE in result.debugcon and result.exit_status == qemu_exit_status()


def roomy_kernel(tmp_path: Path) -> Path:
    """The tiny PVH kernel: its notes sit in the zero gap before the code (room to grow)."""
    path = tmp_path / "roomy"
    path.write_bytes(build_pvh_kernel(MESSAGE))
    return path


def cramped_kernel(tmp_path: Path) -> Path:
    """The same code with .shstrtab right after the notes: no room, so growth must move."""
    code = guest_code(0x100000, MESSAGE)
    notes = [xen_str(5, "xen-3.0"), xen_str(6, "linux"), xen_str(8, "generic"),
             xen_num(18, 0x100000, 4)]  # fmt: skip
    built = build_elf(elf_class=32, entry=0x100000, loads=[Load(0x100000, 0x100000, code)],
                      note_areas=[NoteArea(notes)])  # fmt: skip
    path = tmp_path / "cramped"
    path.write_bytes(built.data)
    return path


@needs_qemu
@pytest.mark.parametrize("make", [roomy_kernel, cramped_kernel], ids=["room", "no-room"])
def test_drop_then_set_phys32_entry_boots_again(tmp_path, make):
    kernel = make(tmp_path)
    assert boots(kernel)
    dropped = tmp_path / "dropped"
    done = pvhlint("fix", "--force", "--drop-note", "phys32_entry", "-o", dropped, kernel)
    assert done.returncode == 0, done.stderr
    refused = qemu_verdict(dropped)
    assert not refused.accept
    assert "Error loading uncompressed kernel without PVH ELF Note" in refused.message
    fixed = tmp_path / "fixed"
    done = pvhlint("fix", "--set-note", "XEN_ELFNOTE_PHYS32_ENTRY=0x100000", "-o", fixed, dropped)
    assert done.returncode == 0, done.stderr
    assert boots(fixed)


@needs_qemu
def test_a_result_no_target_boots_needs_force(tmp_path):
    """Issue 16 item 7: dropping the only entry of a PVH-only kernel was written, exit 0."""
    kernel = roomy_kernel(tmp_path)
    out = tmp_path / "dropped"
    done = pvhlint("fix", "--drop-note", "PHYS32_ENTRY", "-o", out, kernel)
    assert done.returncode == 1 and not out.exists()
    assert "no boot target accepts the result" in done.stderr and "--force" in done.stderr
    done = pvhlint("fix", "--force", "--drop-note", "PHYS32_ENTRY", "-o", out, kernel)
    assert done.returncode == 0 and "written because of --force" in done.stdout
    assert not qemu_verdict(out).accept  # the real loader agrees: nothing boots it


@needs_qemu
def test_growing_a_cramped_area_moves_it_to_the_end(tmp_path):
    kernel = cramped_kernel(tmp_path)
    out = tmp_path / "grown"
    done = pvhlint("fix", "--set-note", "GUEST_VERSION=6.1-pvhlint-test", "-o", out, kernel)
    assert done.returncode == 0, done.stderr
    assert "moved to the end of the file" in done.stdout
    original, grown = kernel.read_bytes(), out.read_bytes()
    assert len(grown) > len(original)
    assert _load_bytes(grown) == _load_bytes(original)  # what the loader loads is unchanged
    notes, warnings = readelf_notes(out)
    version = b"6.1-pvhlint-test\0"
    assert not warnings and ("Xen", len(version), version) in [(n.owner, n.descsz, n.desc)
                                                                for n in notes]  # fmt: skip
    assert boots(out)


def _phdrs32(data: bytes) -> list[tuple[int, ...]]:
    (phoff,) = struct.unpack_from("<I", data, 0x1C)
    (phnum,) = struct.unpack_from("<H", data, 0x2C)
    return [struct.unpack_from("<8I", data, phoff + 32 * i) for i in range(phnum)]


def _load_bytes(data: bytes) -> bytes:
    """The file bytes of every PT_LOAD, read with an independent tiny ELF32 parser."""
    return b"".join(data[p[1] : p[1] + p[4]] for p in _phdrs32(data) if p[0] == 1)


def _elf64_layout(data: bytes) -> tuple[int, int, int, int, int, int]:
    """(note phdr offset, note p_offset, note p_filesz, shoff, shentsize, shnum) by hand."""
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, at)
        if p_type == 4:
            return at, p_offset, p_filesz, shoff, shentsize, shnum
    raise AssertionError("no PT_NOTE")


@pytest.mark.realworld
def test_debian_kernel_drop_obsolete_notes(debian_image, tmp_path):
    from tests.loaders import found_pvh, xen_verdict

    vmlinuz = debian_image("amd64")
    vmlinux = tmp_path / "vmlinux"
    done = pvhlint("extract", vmlinuz, "-o", vmlinux)
    assert done.returncode == 0, done.stderr
    # extract writes what Linux's extract-vmlinux method (xz -dc) gives, byte for byte.
    assert vmlinux.read_bytes() == extract_vmlinux(vmlinuz, "xz", tmp_path / "ref").read_bytes()
    fixed = tmp_path / "vmlinux.fixed"
    # Debian 12's Xen 4.17 boots it below: PADDR_OFFSET must go too (xen-paddr-offset).
    done = pvhlint("fix", "--drop-obsolete-notes", "--loaders", "debian12", "-o", fixed, vmlinux)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "PADDR_OFFSET dropped too" in done.stdout
    before, after = vmlinux.read_bytes(), fixed.read_bytes()
    # Every byte outside the note area, PT_NOTE's p_filesz/p_memsz and .notes' sh_size is equal.
    ph_at, area, old_size, shoff, shentsize, shnum = _elf64_layout(before)
    allowed = set(range(area, area + old_size)) | set(range(ph_at + 32, ph_at + 48))
    for i in range(shnum):
        at = shoff + i * shentsize
        (sh_type,) = struct.unpack_from("<I", before, at + 4)
        (sh_offset,) = struct.unpack_from("<Q", before, at + 24)
        if sh_type == 7 and sh_offset == area:
            allowed |= set(range(at + 32, at + 40))
    assert len(after) == len(before)
    changed = (
        [i for i in range(len(before)) if before[i] != after[i]] if False else _diff(before, after)
    )
    assert changed and set(changed) <= allowed
    # The five obsolete notes (and PADDR_OFFSET) are gone; readelf reads the rest cleanly.
    theirs, warnings = readelf_notes(fixed)
    assert warnings == ""
    assert not {unknown_type(n) for n in theirs if n.owner == "Xen"} & {3, 9, 12, 13}
    report = pvhlint("check", "--require", "xen-pvh", "--format", "json", fixed)
    assert '"xen-obsolete-pv-note"' not in report.stdout and report.returncode == 0
    # Xen's own parser still finds a PVH image with the same entry.
    old, new = xen_verdict(vmlinux, mode="pvh"), xen_verdict(fixed, mode="pvh")
    assert found_pvh(old) and found_pvh(new)
    entry = [line for line in new.detail.splitlines() if "PHYS32_ENTRY =" in line]
    assert entry == [line for line in old.detail.splitlines() if "PHYS32_ENTRY =" in line]
    # QEMU boots the fixed vmlinux through its PVH entry to the kernel's banner.
    assert qemu_verdict(fixed).path == "pvh"
    booted = qemu_boot(fixed, expect=b"Linux version", append="console=ttyS0", timeout=60)
    assert booted.expect_seen, booted.serial[-500:]


def _diff(before: bytes, after: bytes) -> list[int]:
    """Positions where two equal-length byte strings differ (fast on 66 MB)."""
    positions = []
    step = 1 << 16
    for start in range(0, len(before), step):
        if before[start : start + step] != after[start : start + step]:
            block_a, block_b = before[start : start + step], after[start : start + step]
            positions.extend(start + i for i in range(len(block_a)) if block_a[i] != block_b[i])
    return positions


def test_dry_run_writes_nothing(tmp_path):
    kernel = roomy_kernel(tmp_path)
    original, listing = kernel.read_bytes(), sorted(os.listdir(tmp_path))
    done = pvhlint("fix", "--drop-note", "LOADER", "--dry-run", kernel)
    assert done.returncode == 0 and "would remove XEN_ELFNOTE_LOADER" in done.stdout
    assert "dry run: nothing written" in done.stdout
    assert kernel.read_bytes() == original and sorted(os.listdir(tmp_path)) == listing


def test_second_identical_run_changes_nothing(tmp_path):
    kernel = roomy_kernel(tmp_path)
    first = pvhlint("fix", "--drop-note", "LOADER", kernel)
    assert first.returncode == 0 and "written to" in first.stdout
    after_first = kernel.read_bytes()
    second = pvhlint("fix", "--drop-note", "LOADER", kernel)
    assert second.returncode == 0 and "nothing to change" in second.stdout
    assert kernel.read_bytes() == after_first


def test_output_leaves_input_untouched_and_backup_keeps_original(tmp_path):
    kernel = roomy_kernel(tmp_path)
    original = kernel.read_bytes()
    kernel.chmod(0o640)
    assert pvhlint("fix", "--drop-note", "8", "-o", tmp_path / "out", kernel).returncode == 0
    assert kernel.read_bytes() == original
    done = pvhlint("fix", "--drop-note", "8", "--backup", kernel)
    assert done.returncode == 0
    assert (tmp_path / "roomy.orig").read_bytes() == original
    assert kernel.read_bytes() != original and oct(kernel.stat().st_mode & 0o777) == "0o640"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".roomy.")]  # no temp left


def test_required_target_rolls_back(tmp_path):
    kernel = roomy_kernel(tmp_path)
    original = kernel.read_bytes()
    done = pvhlint("fix", "--drop-note", "PHYS32_ENTRY", "--require", "qemu", kernel)
    assert done.returncode == 1
    assert "rolled back, nothing written" in done.stderr and "qemu (qemu-pvh-note)" in done.stderr
    assert kernel.read_bytes() == original


@pytest.mark.parametrize(("args", "words"), [
    (["--drop-note", "NOT_A_NOTE"], "unknown Xen note 'NOT_A_NOTE'"),
    (["--set-note", "PHYS32_ENTRY"], "NAME=VALUE"),
    (["--set-note", "PHYS32_ENTRY=banana"], "is not a number"),
    (["--set-note", "PHYS32_ENTRY=0x1ffffffff"], "does not fit in 4 bytes"),
    ([], "nothing to do"),
])  # fmt: skip
def test_bad_requests_are_exit_2(tmp_path, args, words):
    kernel = roomy_kernel(tmp_path)
    done = pvhlint("fix", *args, kernel)
    assert done.returncode == 2 and words in done.stderr and len(done.stderr.splitlines()) == 1


def test_bzimage_without_a_readable_kernel_is_exit_2(tmp_path):
    from fixtures import catalogue

    path = tmp_path / "vmlinuz"
    path.write_bytes(catalogue()["bzimage-unknown-codec"].data)
    done = pvhlint("fix", "--drop-obsolete-notes", path)
    assert done.returncode == 2 and "no ELF kernel pvhlint can edit" in done.stderr
    assert path.read_bytes() == catalogue()["bzimage-unknown-codec"].data


def test_extract_needs_a_bzimage(tmp_path):
    kernel = roomy_kernel(tmp_path)
    done = pvhlint("extract", kernel, "-o", tmp_path / "x")
    assert done.returncode == 2 and "not a bzImage" in done.stderr
    assert not (tmp_path / "x").exists()
