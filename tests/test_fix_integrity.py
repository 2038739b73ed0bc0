"""`pvhlint fix` never damages what it does not edit: real writes (not dry runs) are read
back with an independent ELF parser, and every program header and every byte outside the
ranges the fix reports as touched must be as before (issue 16, item 1)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pvhlint.errors import ImageError, UsageError
from pvhlint.fixer.pipeline import fix
from pvhlint.fixer.request import FixRequest
from tests.fuzzlib import corpus, mutate

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))  # fmt: skip
PT_NOTE = 4


def pvhlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def xen_note(note_type: int, desc: bytes) -> bytes:
    return struct.pack("<III", 4, len(desc), note_type) + b"Xen\0" + desc + bytes(-len(desc) % 4)


def phdrs_inside_notes(version_length: int, note_first: bool) -> bytes:
    """An ELF64 whose program header table sits inside PT_NOTE, right after the notes."""
    notes = (xen_note(6, b"linux\0") + xen_note(7, b"v" * version_length + b"\0")
             + xen_note(18, struct.pack("<I", 0x100000)))  # fmt: skip
    phoff, code = 0x40 + len(notes), b"\xf4" * 0x100
    size = len(notes) + 2 * 56
    note = struct.pack("<IIQQQQQQ", PT_NOTE, 4, 0x40, 0, 0, size, size, 4)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0x100000, 0x100000, len(code), len(code), 0x1000)
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x100000, phoff, 0, 0, 64, 56, 2, 64, 0, 0)  # fmt: skip
    data = bytearray(0x1000)
    data[:64] = header
    data[0x40 : 0x40 + len(notes)] = notes
    data[phoff : phoff + 112] = note + load if note_first else load + note
    return bytes(data) + code


def program_headers(data: bytes) -> list[tuple[int, ...]]:
    """(p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align) per entry,
    read by hand (ELF32 fields reordered to the ELF64 order)."""
    if data[4] == 2:
        phoff, phentsize, phnum = *struct.unpack_from("<Q", data, 0x20), *struct.unpack_from(
            "<HH", data, 0x36)  # fmt: skip
        return [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    (phoff,) = struct.unpack_from("<I", data, 0x1C)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    found = []
    for i in range(phnum):
        p_type, off, vaddr, paddr, filesz, memsz, flags, align = struct.unpack_from(
            "<8I", data, phoff + i * phentsize)  # fmt: skip
        found.append((p_type, flags, off, vaddr, paddr, filesz, memsz, align))
    return found


def assert_only_the_edit_changed(before: bytes, after: bytes, touched: list[tuple[int, int]]):
    inside = bytearray(len(before))
    for start, end in touched:
        inside[start : min(end, len(before))] = b"\1" * max(0, min(end, len(before)) - start)
    outside = [i for i in range(len(before)) if not inside[i] and before[i] != after[i]]
    assert not outside, f"{len(outside)} byte(s) outside the edit changed, first at {outside[0]:#x}"
    old, new = program_headers(before), program_headers(after)
    assert len(old) == len(new)
    for was, now in zip(old, new, strict=True):
        same = was if was[0] != PT_NOTE else (*was[:2], *was[3:5], was[7])
        kept = now if was[0] != PT_NOTE else (*now[:2], *now[3:5], now[7])
        assert same == kept, f"program header {was} became {now}"
        if was[0] != PT_NOTE and was[0] == 1:  # every loaded byte as it was
            assert before[was[2] : was[2] + was[5]] == after[now[2] : now[2] + now[5]]


@pytest.mark.parametrize("note_first", [True, False], ids=["note-then-load", "load-then-note"])
@pytest.mark.parametrize("version_length", [35, 39])
def test_a_program_header_table_inside_the_note_area_is_never_moved(
    tmp_path, version_length, note_first
):
    kernel = tmp_path / "kernel"
    kernel.write_bytes(phdrs_inside_notes(version_length, note_first))
    out = tmp_path / "out"
    done = pvhlint("fix", "--drop-note", "GUEST_VERSION", "-o", out, kernel)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "program header table" in done.stderr and "nothing written" in done.stderr
    assert not out.exists()


def test_the_check_after_the_edit_compares_every_header(tmp_path, monkeypatch):
    """With the planner's guard off, the verification alone still refuses the damage."""
    monkeypatch.setattr("pvhlint.fixer.plan._refuse_moving_owned", lambda *args: None)
    kernel = tmp_path / "kernel"
    kernel.write_bytes(phdrs_inside_notes(39, note_first=False))
    result = fix(FixRequest(kernel, output=tmp_path / "out", drop=("GUEST_VERSION",)))
    assert result.refused and "changed outside the edit" in result.refused
    assert "program header 0 (LOAD)" in result.refused
    assert not (tmp_path / "out").exists()


FIXABLE = [(name, data) for name, data in corpus()
           if data[:4] == b"\x7fELF" and b"Xen\0" in data and len(data) <= 8192]  # fmt: skip
REQUESTS = [{"drop_obsolete": True}, {"drop": ("GUEST_VERSION",)}, {"drop": ("PHYS32_ENTRY",)},
            {"set": (("PHYS32_ENTRY", "0x100000"),)},
            {"set": (("GUEST_VERSION", "6.1-a-longer-one"),)}]  # fmt: skip


@SETTINGS
@given(seed=st.sampled_from(FIXABLE), rng=st.randoms(use_true_random=False),
       rounds=st.integers(0, 4), request=st.sampled_from(REQUESTS))  # fmt: skip
def test_real_fix_writes_of_mutants_change_nothing_outside_the_edit(tmp_path_factory, seed, rng,
                                                                    rounds, request):  # fmt: skip
    _write_and_compare(tmp_path_factory, mutate(seed[1], rng, rounds) if rounds else seed[1],
                       request)  # fmt: skip


@settings(SETTINGS, max_examples=120)
@given(version_length=st.integers(0, 80), note_first=st.booleans(),
       rng=st.randoms(use_true_random=False), rounds=st.integers(0, 2),
       request=st.sampled_from(REQUESTS))  # fmt: skip
def test_real_fix_writes_of_hostile_layouts_change_nothing_outside_the_edit(
    tmp_path_factory, version_length, note_first, rng, rounds, request
):
    data = phdrs_inside_notes(version_length, note_first)
    _write_and_compare(tmp_path_factory, mutate(data, rng, rounds) if rounds else data, request)


def _write_and_compare(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                       request: dict[str, object]) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("fixprop", numbered=True)
    kernel, out = folder / "kernel", folder / "out"
    kernel.write_bytes(data)
    try:
        result = fix(FixRequest(kernel, output=out, max_output=1 << 26, **request))
    except (ImageError, UsageError, OSError):
        return
    assert kernel.read_bytes() == data
    if result.written is None:
        assert not out.exists()
        return
    assert result.plan is not None
    assert_only_the_edit_changed(data, out.read_bytes(), result.plan.touched)
