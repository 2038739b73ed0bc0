"""fixtures.uki on its own: the UKI it builds from Debian's stub and kernel has the four
sections with the exact bytes given, after the stub's own, untouched. Read back with binutils
(objdump -h, objcopy --dump-section) and LIEF, not with the builder's helpers."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from fixtures import uki

pytestmark = pytest.mark.realworld

# (stub image, kernel image): Debian 12's stub with its kernel; Debian 13's with a 7.x kernel.
PAIRS = [("linuxx64-stub", "amd64"), ("trixie-linuxx64-stub", "sid-amd64")]


def _objdump_sections(path: Path) -> list[tuple[str, int]]:
    done = subprocess.run(["objdump", "-h", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in done.stdout.splitlines()]
    return [(cols[1], int(cols[2], 16)) for cols in rows if len(cols) == 7 and cols[0].isdigit()]


def _dump(path: Path, section: str, out: Path) -> bytes:
    subprocess.run(["objcopy", "--dump-section", f"{section}={out}", str(path), str(out) + ".pe"],
                   capture_output=True, check=True)  # fmt: skip
    return out.read_bytes()


@pytest.mark.parametrize(("stub_name", "kernel_name"), PAIRS)
def test_uki_sections(debian_image, tmp_path, stub_name, kernel_name):
    lief = pytest.importorskip("lief")
    stub, kernel = debian_image(stub_name), debian_image(kernel_name)
    out = uki.build_uki(stub, kernel, tmp_path / "uki.efi", cmdline="console=ttyS0 quiet")
    added = {".osrel": uki.OS_RELEASE.encode(), ".cmdline": b"console=ttyS0 quiet",
             ".initrd": uki.INITRD, ".linux": kernel.read_bytes()}  # fmt: skip

    before, after = _objdump_sections(stub), _objdump_sections(out)
    assert after[: len(before)] == before
    assert after[len(before) :] == [(name, len(data)) for name, data in added.items()]
    for name, data in added.items():
        assert _dump(out, name, tmp_path / name.lstrip(".")) == data, name
    for name, _ in before:
        assert _dump(out, name, tmp_path / "new") == _dump(stub, name, tmp_path / "old"), name

    pe = lief.PE.parse(str(out))
    alignment = pe.optional_header.section_alignment
    spans = sorted((s.virtual_address, s.virtual_address + s.virtual_size) for s in pe.sections)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert pe.optional_header.sizeof_image >= spans[-1][1]
    new = list(pe.sections)[len(before) :]
    assert [s.name for s in new] == list(uki.SECTIONS)
    # The added ones are aligned (Debian 12's stub itself puts .sdmagic at 0x19100 with 0x200).
    assert all(s.virtual_address % alignment == 0 for s in new)
