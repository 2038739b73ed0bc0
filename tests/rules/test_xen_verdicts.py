"""Xen, QEMU-PVH and rust-vmm rules on small built images, and the issue's acceptance
cases on Debian's real images. Loader behaviour claimed here is checked against the
real loaders in tests/test_verdicts_real.py.

Assertions are on structured fields: a verdict's `message` (the loader's own words where
it stops), a finding's rule, layer, offset, length and rejects (offsets from the builder's
record; on a real image, pvhlint's model, checked against readelf). A rule's own wording
is tested with its case in tests/rules/test_xen.py."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.elfgen import BuiltElf, Note, NoteArea, linux_pvh_notes, xen_num, xen_str
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from pvhlint.profiles import Profile
from pvhlint.xennotes import XenNote
from tests.rules.registry import ENTRY, notes64, notes_placed, pvh_elf
from tests.rules.runner import XEN
from tests.rules.test_xen import PVH_ONLY_OBSOLETE

NO_PVH_NOTE = "Error loading uncompressed kernel without PVH ELF Note"  # QEMU's words
NOT_HVM_CAPABLE = "xc_dom_guest_type: image not capable of booting inside a HVM container"
NO_XEN_NOTES = "Not a Xen-ELF image: No ELF notes or '__xen_guest' section found"  # libelf's


def built(tmp_path: Path, notes: list[Note] | None = None, *, name: str = "k",
          **kwargs) -> tuple[Path, BuiltElf]:  # fmt: skip
    """tests.rules.registry's PVH ELF (one PT_LOAD, the notes), written to a file, and the
    builder's record of where each piece went (the expected offsets)."""
    made = pvh_elf(notes, **kwargs)
    path = tmp_path / name
    path.write_bytes(made.data)
    return path, made


def build(tmp_path: Path, notes: list[Note] | None = None, **kwargs) -> Path:
    return built(tmp_path, notes, **kwargs)[0]


def run(path: Path, *require: str, pvh_only: bool = False):
    return check_image(open_image(path), Options(require=require, pvh_only=pvh_only))


def verdicts(result) -> dict[str, bool]:
    return {target: verdict.accept for target, verdict in result.verdicts.items()}


def rules_of(result) -> set[str]:
    return {finding.rule for finding in result.findings}


def rejected_by(result, target: str) -> list[str]:
    return result.verdicts[target].rules


def placed(result, rule: str) -> list[tuple[int, int | None, tuple[str, ...]]]:
    """The rule's findings as (layer, offset, rejects): the bytes each points at, and the
    targets whose loaders refuse for it."""
    return [(f.layer, f.offset, f.rejects) for f in result.findings if f.rule == rule]


def test_well_formed_pvh_elf64(tmp_path):
    result = run(build(tmp_path), "xen-pvh", "xen-pv", "qemu", "rust-vmm")
    got = verdicts(result)
    assert got["xen-pvh"] and got["xen-pv"] and got["qemu"] and got["rust-vmm"]
    assert result.verdicts["qemu"].path == "pvh"
    assert not [f for f in result.findings if f.severity == "error"]


def test_phys32_missing(tmp_path):
    result = run(build(tmp_path, notes64(None)), "xen-pvh")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
    assert result.verdicts["xen-pvh"].message == NOT_HVM_CAPABLE
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert result.verdicts["qemu"].message == NO_PVH_NOTE
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    assert result.verdicts["xen-pv"].accept


@pytest.mark.parametrize(("elf_class", "pvh_says"), [
    (64, "xc_dom_parse_hvm_kernel: ELF image is not 32bit"),
    # No error from Xen: its HVM-generic loader takes an ELF32 as firmware (hvm-3.0-x86_32),
    # so the verdict's message is pvhlint's account of that, not a loader's words.
    (32, "(no error: the HVM-generic loader boots it as HVM firmware)"),
])  # fmt: skip
def test_no_xen_notes_elf64_and_elf32(tmp_path, elf_class, pvh_says):
    result = run(build(tmp_path, areas=[], elf_class=elf_class), "xen-pvh", "xen-pv")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
    assert result.verdicts["xen-pvh"].message == pvh_says
    assert rejected_by(result, "xen-pv") == ["xen-pv-parse"]
    assert result.verdicts["xen-pv"].message == NO_XEN_NOTES


def test_phys32_outside_every_load(tmp_path):
    path, made = built(tmp_path, notes64(0x90000000))
    result = run(path, "xen-pvh", "qemu")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-bounds"]
    assert result.verdicts["xen-pvh"].message == "ELF start or entries are out of bounds"
    (phys32,) = notes_placed(made, XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-phys32-bounds") == [(0, phys32, ("xen-pvh",))]
    assert result.verdicts["qemu"].accept  # QEMU does not check the address


def test_phys32_above_4g_is_truncated_by_xen(tmp_path):
    path, made = built(tmp_path, notes64(0x1_0000_0000 + ENTRY))
    result = run(path, "xen-pvh")
    # Shown at the note, refusing nothing: the low 32 bits Xen keeps land in the image
    # (the address it names: tests/rules/test_xen.py, elf/phys32-above-4g).
    (phys32,) = notes_placed(made, XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-phys32-bounds") == [(0, phys32, ())]
    assert result.verdicts["xen-pvh"].accept


def test_foreign_owner_on_phys32(tmp_path):
    notes = [n if n.type != 18 else xen_num(18, ENTRY, 8, owner=b"Xyz\0") for n in notes64()]
    path, made = built(tmp_path, notes)
    result = run(path, "xen-pvh", "qemu", "rust-vmm")
    assert rejected_by(result, "xen-pvh") == ["xen-phys32-missing"]
    assert result.verdicts["xen-pvh"].message == NOT_HVM_CAPABLE
    assert result.verdicts["qemu"].accept  # QEMU ignores the owner
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    # The owner finding points at the note owned by 'Xyz', the only one not Xen's.
    (xyz,) = notes_placed(made, XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-note-owner") == [(0, xyz, ())]


def test_p_align_8_over_4_padded_notes(tmp_path):
    path, made = built(tmp_path, areas=[NoteArea(notes64(), p_align=8)])
    result = run(path, "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert result.verdicts["qemu"].message == NO_PVH_NOTE
    assert result.verdicts["rust-vmm"].accept  # linux-loader pads by 4 whatever p_align says
    # A warning over the whole PT_NOTE (its wording: tests/rules/test_xen.py, elf/notes-palign8).
    align = [f for f in result.findings if f.rule == "xen-note-align"]
    assert [(f.offset, f.length, f.rejects) for f in align] == [
        (made.area_offsets[0], made.area_filesz[0], ())
    ]


def test_p_align_0(tmp_path):
    made = pvh_elf(areas=[NoteArea(notes64(), p_align=0)])
    path = tmp_path / "k"
    path.write_bytes(made.data)
    result = run(path, "qemu", "rust-vmm")
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert result.verdicts["qemu"].message == "SIGFPE"  # no message: QEMU dies (exit 136)
    assert result.verdicts["rust-vmm"].accept  # linux-loader never reads p_align
    # The finding points at the PT_NOTE's p_align (Elf64_Phdr offset 0x30, 8 bytes).
    p_align = made.phoff + 56 * made.phdr_kinds.index("note") + 0x30
    sigfpe = [f for f in result.findings if f.rule == "qemu-pvh-note"]
    assert [(f.offset, f.length) for f in sigfpe] == [(p_align, 8)]


def test_gnu_property_first_in_an_8_aligned_segment(tmp_path):
    """The modern-linker layout: an 8-aligned GNU property note, then 4-padded Xen notes."""
    prop = Note(b"GNU\0", 5, bytes(16))
    path = build(tmp_path, areas=[NoteArea([prop, *notes64()], p_align=8)])
    result = run(path, "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept and result.verdicts["rust-vmm"].accept
    assert not result.verdicts["qemu"].accept


@pytest.mark.parametrize(("features", "xen_says"), [
    # libelf's parse fails; its probe is silent, so xl reports only that no loader took it
    ("!bogus|writable_page_tables", "xc_dom_find_loader: no loader found"),
    ("!dom0", "xc_dom_parse_elf_kernel: Kernel does not support unprivileged (DomU) operation"),
    ("writable_page_tablez", None),  # an unknown feature not required: Xen ignores it
])  # fmt: skip
def test_features(tmp_path, features, xen_says):
    path, made = built(tmp_path, [*notes64(), xen_str(XenNote.FEATURES, features)])
    result = run(path, "xen-pvh", "xen-pv")
    # At the FEATURES note (the rule's wording: tests/rules/test_xen.py, elf/features-*).
    (note,) = notes_placed(made, XenNote.FEATURES)
    assert placed(result, "xen-features") == [(0, note, XEN if xen_says else ())]
    for target in XEN:
        assert result.verdicts[target].accept is (xen_says is None)
        assert result.verdicts[target].message == xen_says


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
    path, made = built(tmp_path, [*notes64(), xen_str(XenNote.XEN_VERSION, "xen-3.0-x86_64")])
    result = run(path, "xen-pvh")
    # One finding for the pair, at the last of the two: the one Xen uses.
    versions = notes_placed(made, XenNote.XEN_VERSION)
    assert len(versions) == 2
    assert placed(result, "xen-note-duplicate") == [(0, versions[-1], ())]


def test_unknown_note_types_are_no_duplicates(tmp_path):
    """Two notes of type 20 and one INFO (0): libelf skips them all as unknown."""
    extra = [xen_num(20, 1, 4), xen_num(20, 2, 4), xen_str(XenNote.INFO, "info")]
    path, made = built(tmp_path, [*notes64(), *extra])
    result = run(path, "xen-pvh")
    assert "xen-note-duplicate" not in rules_of(result)
    # One finding at each of the three, refusing nothing.
    unknown = sorted([*notes_placed(made, 20), *notes_placed(made, XenNote.INFO)])
    assert placed(result, "xen-note-unknown") == [(0, at, ()) for at in unknown]
    assert result.verdicts["xen-pvh"].accept


def test_notes_only_in_sections(tmp_path):
    result = run(build(tmp_path, sections_only=True), "xen-pvh", "qemu", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert not result.verdicts["qemu"].accept and not result.verdicts["rust-vmm"].accept
    assert "xen-notes-source" in rules_of(result)


def test_obsolete_notes_only_for_a_pvh_only_kernel(tmp_path):
    path, made = built(tmp_path)
    pvh_only = run(path, pvh_only=True)
    obsolete = [f for f in pvh_only.findings if f.rule == "xen-obsolete-pv-note"]
    # An error at each note only Xen PV reads (HYPERCALL_PAGE, VIRT_BASE, PAE_MODE,
    # HV_START_LOW, L1_MFN_VALID), and nowhere else.
    want = sorted(at for note_type in PVH_ONLY_OBSOLETE for at in notes_placed(made, note_type))
    assert len(want) == 5
    assert [(f.layer, f.offset, f.severity) for f in obsolete] == [(0, at, "error") for at in want]
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
    path, made = built(tmp_path, areas=[NoteArea(first, section=".note.a"),
                                        NoteArea(rest, section=".note.b")])  # fmt: skip
    result = run(path, "xen-pvh", "rust-vmm")
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    # Both areas are 4-aligned: the one align finding is the split, shown over the last
    # PT_NOTE (the only one rust-vmm keeps), refusing nothing itself (its wording:
    # tests/rules/test_xen.py, elf64-notes-two-segments).
    align = [f for f in result.findings if f.rule == "xen-note-align"]
    assert [(f.offset, f.length, f.rejects) for f in align] == [
        (made.area_offsets[1], made.area_filesz[1], ())
    ]


def test_elf64_phys32_with_4_byte_descriptor(tmp_path):
    notes = [n for n in notes64() if n.type != 18] + [xen_num(18, ENTRY, 4)]
    notes.append(Note(b"Xen\0", 7, b"\xff" * 4))  # the 4 bytes after the descriptor: not zero?
    result = run(build(tmp_path, notes), "qemu")
    assert result.verdicts["qemu"].accept  # its bytes after the desc are the next note header


@pytest.mark.parametrize(("elf_class", "e_flags_at"), [(32, 0x24), (64, 0x30)])
def test_elf_flags_refused_by_qemu(tmp_path, elf_class, e_flags_at):
    """load_elfboot prints all of e_flags ("= %x", flags), read by the ELF's class."""
    notes = linux_pvh_notes(elf_class, ENTRY)
    result = run(build(tmp_path, notes, elf_class=elf_class, e_flags=0x10001), "qemu")
    assert rejected_by(result, "qemu") == ["qemu-pvh-note"]
    assert result.verdicts["qemu"].message == "elfboot unsupported flags = 10001"
    flags = [f for f in result.findings if f.rule == "qemu-pvh-note"]
    assert [(f.offset, f.length) for f in flags] == [(e_flags_at, 4)]


def test_32bit_pv_guest_on_debian_xen(tmp_path):
    notes32 = linux_pvh_notes(32, 0x1000040)
    result = run(build(tmp_path, notes32, elf_class=32), "xen-pv", "xen-pvh", "rust-vmm")
    assert rejected_by(result, "xen-pv") == ["xen-pv-parse"]
    assert result.verdicts["xen-pv"].message == (
        "xc_dom_compat_check: guest type xen-3.0-x86_32p not supported by xen kernel, sorry"
    )
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "rust-vmm") == ["rust-vmm-pvh"]
    assert result.verdicts["rust-vmm"].message == (
        "Kernel Loader: failed to load ELF kernel image: Kernel Loader: Invalid program header size"
    )


def test_pv_without_xen_version_but_pvh_fine(tmp_path):
    notes = [n for n in notes64() if n.type != 5]
    result = run(build(tmp_path, notes), "xen-pv", "xen-pvh")
    assert result.verdicts["xen-pvh"].accept
    assert rejected_by(result, "xen-pv") == ["xen-pv-parse"]
    # libelf prints the XEN_VERSION it read: none here
    said = "Xen will only load images built for Xen v3.0 (Not '')"
    assert result.verdicts["xen-pv"].message == said


# --- the issue's acceptance cases on Debian 12's images ----------------------------------


def pvhlint_json(*args: str | Path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "pvhlint", "check", "--format", "json",
                           *map(str, args)], capture_output=True, text=True)  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def shown(image: dict, rule: str) -> list[tuple[str, int | None, int | None, list[str]]]:
    """A JSON image's findings of `rule` as (layer_kind, offset, length, rejects)."""
    return [(f["layer_kind"], f["offset"], f["length"], f["rejects"])
            for f in image["findings"] if f["rule"] == rule]  # fmt: skip


@pytest.mark.realworld
def test_gnumach_xen_owner_name_falls_back_to_xen_guest(debian_image, tmp_path):
    from tests.independent import gunzip, readelf_notes

    path = debian_image("gnumach-xen")
    _, report = pvhlint_json(path)
    image = report["images"][0]
    # Independent: readelf shows every note in the gunzipped ELF owned by 'name'.
    assert {n.owner for n in readelf_notes(gunzip(path, tmp_path / "gnumach"))[0]} == {"name"}
    elf = open_image(path).elf
    assert elf is not None and elf.xen_guest is not None
    (notes,) = elf.note_areas  # .note.Xen
    # One warning over the whole note section, refusing nothing ...
    assert shown(image, "xen-note-owner") == [("gzip", notes.offset, notes.size, [])]
    # ... because Xen falls back to the __xen_guest string, and boots it as PV from there
    # (the wording: tests/rules/test_xen.py, elf32-gnumach-like).
    assert shown(image, "xen-notes-source") == [("gzip", elf.xen_guest.offset, None, [])]
    assert image["verdicts"]["xen-pv"]["verdict"] == "accept"


@pytest.mark.realworld
def test_grub_xen_pae_mode_past_its_pt_note(debian_image):
    from tests.independent import readelf_segments

    path = debian_image("grub-i386-xen")
    _, report = pvhlint_json(path)
    # Independent: readelf's PT_NOTE, and the PAE_MODE note (type 9) whose descriptor it
    # warns runs past it.
    ((start, size),) = [(s[1], s[4]) for s in readelf_segments(path) if s[0] == "NOTE"]
    elf = open_image(path).elf
    assert elf is not None
    (pae,) = elf.notes_of_type(XenNote.PAE_MODE)
    bounds = [(f["offset"], f["length"]) for f in report["images"][0]["findings"]
              if f["rule"] == "xen-note-bounds"]  # fmt: skip
    # One finding for the note, past its PT_NOTE and past the file's end at once; it spans
    # the whole note (header, 4-byte name, 12-byte descriptor), from inside the PT_NOTE.
    assert bounds == [(pae.offset, 12 + 4 + 12)]
    assert start <= pae.offset < start + size < pae.offset + 12 + 4 + 12


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
    from tests.independent import extract_vmlinux, note_type, readelf_notes

    path = debian_image("amd64")
    code, report = pvhlint_json("--pvh-only", path)
    image = report["images"][0]
    # Independent: the Xen notes readelf shows in the vmlinux extracted with xz are, type by
    # type, the ones pvhlint's model places (so its offsets are where those notes are).
    theirs = readelf_notes(extract_vmlinux(path, "xz", tmp_path / "vmlinux"))[0]
    ours = open_image(path).elf
    assert ours is not None
    assert [n.type for n in ours.xen_notes] == [note_type(n) for n in theirs if n.owner == "Xen"]
    want = [n.offset for n in ours.xen_notes if n.type in PVH_ONLY_OBSOLETE]
    assert want  # Debian 12's kernel carries VIRT_BASE, PAE_MODE, L1_MFN_VALID, HV_START_LOW
    obsolete = [(f["layer_kind"], f["offset"], f["severity"]) for f in image["findings"]
                if f["rule"] == "xen-obsolete-pv-note"]  # fmt: skip
    assert obsolete == [("payload", at, "error") for at in want]
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
