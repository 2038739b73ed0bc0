"""Xen, QEMU-PVH and rust-vmm rules on small built images, and the issue's acceptance
cases on Debian's real images. Loader behaviour claimed here is checked against the
real loaders in tests/test_verdicts_real.py."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.elfgen import Note, NoteArea, linux_pvh_notes, xen_num, xen_str
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from pvhlint.profiles import Profile
from tests.rules.registry import ENTRY, notes64, pvh_elf


def build(tmp_path: Path, notes: list[Note] | None = None, *, name: str = "k",
          **kwargs) -> Path:  # fmt: skip
    """tests.rules.registry's PVH ELF (one PT_LOAD, the notes), written to a file."""
    path = tmp_path / name
    path.write_bytes(pvh_elf(notes, **kwargs).data)
    return path


def run(path: Path, *require: str, pvh_only: bool = False):
    return check_image(open_image(path), Options(require=require, pvh_only=pvh_only))


def verdicts(result) -> dict[str, bool]:
    return {target: verdict.accept for target, verdict in result.verdicts.items()}


def rules_of(result) -> set[str]:
    return {finding.rule for finding in result.findings}


def rejected_by(result, target: str) -> list[str]:
    return result.verdicts[target].rules


def test_well_formed_pvh_elf64(tmp_path):
    result = run(build(tmp_path), "xen-pvh", "xen-pv", "qemu", "rust-vmm")
    got = verdicts(result)
    assert got["xen-pvh"] and got["xen-pv"] and got["qemu"] and got["rust-vmm"]
    assert result.verdicts["qemu"].path == "pvh"
    assert not [f for f in result.findings if f.severity == "error"]


def test_phys32_missing(tmp_path):
    result = run(build(tmp_path, notes64(None)), "xen-pvh")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
    assert "image not capable of booting inside a HVM container" in result.findings[0].message
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    assert result.verdicts["xen-pv"].accept


def test_no_xen_notes_elf64_and_elf32(tmp_path):
    for elf_class, text in ((64, "ELF image is not 32bit"), (32, "HVM firmware image")):
        path = build(tmp_path, areas=[], elf_class=elf_class, name=f"bare{elf_class}")
        result = run(path, "xen-pvh", "xen-pv")
        assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
        assert any(text in f.message for f in result.findings)
        messages = [f.message for f in result.findings if f.rule == "xen-pv-parse"]
        assert messages and "Not a Xen-ELF image" in messages[0]


def test_phys32_outside_every_load(tmp_path):
    result = run(build(tmp_path, notes64(0x90000000)), "xen-pvh", "qemu")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-bounds"]
    bounds = [f.message for f in result.findings if f.rule == "xen-phys32-bounds"]
    assert "ELF start or entries are out of bounds" in bounds[0]
    assert result.verdicts["qemu"].accept  # QEMU does not check the address


def test_phys32_above_4g_is_truncated_by_xen(tmp_path):
    result = run(build(tmp_path, notes64(0x1_0000_0000 + ENTRY)), "xen-pvh")
    messages = [f.message for f in result.findings if f.rule == "xen-phys32-bounds"]
    assert any("at or above 4 GiB" in m and f"{ENTRY:#x}" in m for m in messages)
    assert result.verdicts["xen-pvh"].accept  # the low 32 bits land in the image


def test_foreign_owner_on_phys32(tmp_path):
    notes = [n if n.type != 18 else xen_num(18, ENTRY, 8, owner=b"Xyz\0") for n in notes64()]
    result = run(build(tmp_path, notes), "xen-pvh", "qemu", "rust-vmm")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
    assert result.verdicts["qemu"].accept  # QEMU ignores the owner
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    assert any(f.rule == "xen-note-owner" and "'Xyz'" in f.message for f in result.findings)


def test_p_align_8_over_4_padded_notes(tmp_path):
    path = build(tmp_path, areas=[NoteArea(notes64(), p_align=8)])
    result = run(path, "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert result.verdicts["rust-vmm"].accept  # linux-loader pads by 4 whatever p_align says
    align = [f for f in result.findings if f.rule == "xen-note-align"]
    assert align and "padded by 8 (QEMU) it holds" in align[0].message


def test_p_align_0(tmp_path):
    result = run(build(tmp_path, areas=[NoteArea(notes64(), p_align=0)]), "qemu", "rust-vmm")
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert any("SIGFPE" in f.message for f in result.findings)
    assert result.verdicts["rust-vmm"].accept  # linux-loader never reads p_align


def test_gnu_property_first_in_an_8_aligned_segment(tmp_path):
    """The modern-linker layout: an 8-aligned GNU property note, then 4-padded Xen notes."""
    prop = Note(b"GNU\0", 5, bytes(16))
    path = build(tmp_path, areas=[NoteArea([prop, *notes64()], p_align=8)])
    result = run(path, "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept and result.verdicts["rust-vmm"].accept
    assert not result.verdicts["qemu"].accept


@pytest.mark.parametrize(("features", "rejects", "text"), [
    ("!bogus|writable_page_tables", True, "requires unknown feature 'bogus'"),
    ("!dom0", True, "Kernel does not support unprivileged (DomU) operation"),
    ("writable_page_tablez", False, "unknown feature 'writable_page_tablez'"),
])  # fmt: skip
def test_features(tmp_path, features, rejects, text):
    result = run(build(tmp_path, [*notes64(), xen_str(10, features)]), "xen-pvh", "xen-pv")
    found = [f for f in result.findings if f.rule == "xen-features"]
    assert found and text in found[0].message
    assert (not result.verdicts["xen-pvh"].accept) is rejects
    assert (not result.verdicts["xen-pv"].accept) is rejects


def test_paddr_offset_without_virt_base_fails_pvh_on_417_only(tmp_path):
    """Xen 4.17 refuses it as PVH; 4.18+ (b77ed96fce) only as PV; PV fails on both."""
    path = build(tmp_path, [n for n in notes64() if n.type != 3] + [xen_num(4, 0, 8)])
    old = check_image(open_image(path), Options(("xen-pvh", "xen-pv"), loaders=Profile.DEBIAN12))
    assert rejected_by(old, "xen-pvh") == ["xen-paddr-offset"]
    assert "xen-pv-parse" in rejected_by(old, "xen-pv")
    new = run(path, "xen-pvh", "xen-pv")  # the default profile: Debian 13, Xen 4.20
    assert new.verdicts["xen-pvh"].accept and "xen-pv-parse" in rejected_by(new, "xen-pv")
    shown = [f for f in new.findings if f.rule == "xen-paddr-offset"]
    assert [f.severity for f in shown] == ["warning"]  # true on 4.20, refuses nothing there
    both = check_image(open_image(path), Options(("xen-pvh",), loaders=Profile.ALL))
    pvh = both.verdicts["xen-pvh"]
    assert pvh.split and not pvh.accept
    assert {v: pvh.versions[v].accept for v in pvh.versions} == {"4.17": False, "4.20": True}
    pinned = check_image(open_image(path), Options(("xen-pvh@4.17",)))
    assert list(pinned.verdicts["xen-pvh"].versions) == ["4.17"]
    assert [f.severity for f in pinned.findings if f.rule == "xen-paddr-offset"] == ["error"]


def test_duplicate_note(tmp_path):
    result = run(build(tmp_path, [*notes64(), xen_str(5, "xen-3.0-x86_64")]), "xen-pvh")
    found = [f for f in result.findings if f.rule == "xen-note-duplicate"]
    assert found and "appears 2 times" in found[0].message and "xen-3.0-x86_64" in found[0].message


def test_unknown_note_types_are_no_duplicates(tmp_path):
    """Two notes of type 20 and one INFO (0): libelf skips them all as unknown."""
    extra = [xen_num(20, 1, 4), xen_num(20, 2, 4), xen_str(0, "info")]
    result = run(build(tmp_path, [*notes64(), *extra]), "xen-pvh")
    assert "xen-note-duplicate" not in rules_of(result)
    unknown = [f.message for f in result.findings if f.rule == "xen-note-unknown"]
    assert len(unknown) == 3 and "type 20 is not one libelf knows" in unknown[0]
    assert result.verdicts["xen-pvh"].accept


def test_notes_only_in_sections(tmp_path):
    result = run(build(tmp_path, sections_only=True), "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert not result.verdicts["qemu"].accept and not result.verdicts["rust-vmm"].accept
    assert "xen-notes-source" in rules_of(result)


def test_obsolete_notes_only_for_a_pvh_only_kernel(tmp_path):
    path = build(tmp_path)
    pvh_only = run(path, pvh_only=True)
    obsolete = [f for f in pvh_only.findings if f.rule == "xen-obsolete-pv-note"]
    assert sorted(int(f.message.split("(")[1].split(")")[0]) for f in obsolete) == [2, 3, 9, 12, 13]
    assert all(f.severity == "error" for f in obsolete)
    assert "xen-pvh" in pvh_only.required and "xen-pv" not in pvh_only.required
    # Requiring PVH asks that Xen boots it as PVH, which it does: no obsolete-note findings.
    assert "xen-obsolete-pv-note" not in rules_of(run(path, "xen-pvh"))
    assert "xen-obsolete-pv-note" not in rules_of(run(path, "xen-pvh", "xen-pv"))


def test_phys32_descsz_3_reads_as_zero(tmp_path):
    notes = [n for n in notes64() if n.type != 18] + [Note(b"Xen\0", 18, b"\x40\x00\x00")]
    result = run(build(tmp_path, notes), "xen-pvh", "rust-vmm")
    assert "xen-note-size" in rules_of(result)
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-bounds"]  # 0 is below the image
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]  # descsz < 4


def test_xen_notes_split_over_two_segments(tmp_path):
    first = [n for n in notes64() if n.type == 18]
    rest = [n for n in notes64() if n.type != 18]
    path = build(tmp_path, areas=[NoteArea(first, section=".note.a"),
                                  NoteArea(rest, section=".note.b")])  # fmt: skip
    result = run(path, "xen-pvh", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    assert any("split over" in f.message for f in result.findings)


def test_elf64_phys32_with_4_byte_descriptor(tmp_path):
    notes = [n for n in notes64() if n.type != 18] + [xen_num(18, ENTRY, 4)]
    notes.append(Note(b"Xen\0", 7, b"\xff" * 4))  # the 4 bytes after the descriptor: not zero?
    result = run(build(tmp_path, notes), "qemu")
    assert result.verdicts["qemu"].accept  # its bytes after the desc are the next note header


def test_elf_flags_refused_by_qemu(tmp_path):
    result = run(build(tmp_path, e_flags=0x10000), "qemu")
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert "elfboot unsupported flags = 10000" in result.findings[0].message


def test_32bit_pv_guest_on_debian_xen(tmp_path):
    notes32 = linux_pvh_notes(32, 0x1000040)
    result = run(build(tmp_path, notes32, elf_class=32), "xen-pv", "xen-pvh", "rust-vmm")
    assert "guest type xen-3.0-x86_32p not supported" in " ".join(
        f.message for f in result.findings
    )
    assert result.verdicts["xen-pvh"].accept
    assert "Invalid program header size" in " ".join(f.message for f in result.findings)


def test_pv_without_xen_version_but_pvh_fine(tmp_path):
    notes = [n for n in notes64() if n.type != 5]
    result = run(build(tmp_path, notes), "xen-pv", "xen-pvh")
    assert result.verdicts["xen-pvh"].accept
    assert any("Xen will only load images built for Xen v3.0" in f.message
               for f in result.findings)  # fmt: skip


# --- the issue's acceptance cases on Debian 12's images ----------------------------------


def pvhlint_json(*args: str | Path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "pvhlint", "check", "--format", "json",
                           *map(str, args)], capture_output=True, text=True)  # fmt: skip
    return done.returncode, json.loads(done.stdout)


@pytest.mark.realworld
def test_gnumach_xen_owner_name_falls_back_to_xen_guest(debian_image):
    _, report = pvhlint_json(debian_image("gnumach-xen"))
    findings = report["images"][0]["findings"]
    owner = [f for f in findings if f["rule"] == "xen-note-owner"]
    assert owner and "owner 'name'" in owner[0]["message"]
    assert "falls back to the __xen_guest string" in owner[0]["message"]
    assert owner[0]["layer_kind"] == "gzip"


@pytest.mark.realworld
def test_grub_xen_pae_mode_past_its_pt_note(debian_image):
    _, report = pvhlint_json(debian_image("grub-i386-xen"))
    bounds = [f for f in report["images"][0]["findings"] if f["rule"] == "xen-note-bounds"]
    assert any("XEN_ELFNOTE_PAE_MODE" in f["message"] and "past the end of PT_NOTE" in f["message"]
               for f in bounds)  # fmt: skip


@pytest.mark.realworld
def test_debian_kernel_boots_as_pvh_without_pvh_only_errors(debian_image):
    """Issue 15.3: a stock distribution kernel passes `--require xen-pvh`."""
    code, report = pvhlint_json("--require", "xen-pvh", debian_image("amd64"))
    image = report["images"][0]
    assert code == 0 and image["verdicts"]["xen-pvh"]["verdict"] == "accept"
    assert not [f for f in image["findings"] if f["severity"] == "error"]
    assert image["pvh_only"] is False


@pytest.mark.realworld
def test_debian_kernel_pvh_only_reports_obsolete_notes(debian_image, tmp_path):
    path = debian_image("amd64")
    code, report = pvhlint_json("--pvh-only", path)
    image = report["images"][0]
    obsolete = [f for f in image["findings"] if f["rule"] == "xen-obsolete-pv-note"]
    # Independent: the notes readelf shows in the vmlinux extracted with xz.
    from tests.independent import extract_vmlinux, readelf_notes, unknown_type

    theirs = readelf_notes(extract_vmlinux(path, "xz", tmp_path / "vmlinux"))[0]
    present = {unknown_type(n) for n in theirs if n.owner == "Xen"}
    present |= (
        {1} if any("NT_VERSION" in n.type_text and n.owner == "Xen" for n in theirs) else set()
    )
    expected = sorted({2, 3, 9, 12, 13} & (present | {2} if 2 in present else present))
    got = sorted(int(f["message"].split("(")[1].split(")")[0]) for f in obsolete)
    assert got == [t for t in expected if t in (2, 3, 9, 12, 13)]
    assert all(f["layer_kind"] == "payload" and f["severity"] == "error" for f in obsolete)
    ours = open_image(path)
    assert [f["offset"] for f in obsolete] == [n.offset for n in ours.elf.xen_notes
                                               if n.type in (2, 3, 9, 12, 13)]  # fmt: skip
    assert image["verdicts"]["xen-pvh"]["verdict"] == "accept"
    assert code == 1


@pytest.mark.realworld
def test_gnumach_486_qemu_rejects_multiboot1_accepts(debian_image, tmp_path):
    elf = tmp_path / "gnumach-1.8-486"
    elf.write_bytes(gzip.decompress(debian_image("gnumach").read_bytes()))
    _, report = pvhlint_json(elf)
    verdicts = report["images"][0]["verdicts"]
    assert verdicts["qemu"]["verdict"] == "reject" and verdicts["qemu"]["path"] == "multiboot"
    assert verdicts["multiboot1"]["verdict"] == "accept"
