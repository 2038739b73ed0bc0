"""Xen, QEMU-PVH and rust-vmm verdicts on small built images (tests.rules.registry's
elf/<name>), and the issue's acceptance cases on Debian's real images. Loader behaviour
claimed here is checked against the real loaders in tests/test_verdicts_real.py.

Assertions are on structured fields: a target's verdict as a tests.rules.runner.Verdict
(accepted; the rules that refuse it, the loader's own words where it stops and QEMU's path
where a case states them), a finding's rule, layer, offset, length and rejects (offsets from
the builder's record; on a real image, pvhlint's model, checked against readelf). A rule's
own wording is tested with its case in tests/rules/test_xen.py."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from fixtures.elfgen import BuiltElf
from pvhlint.checker import ImageResult, Options
from pvhlint.image import open_image
from pvhlint.profiles import Profile
from pvhlint.xennotes import XenNote

from .registry import built, notes_placed
from .runner import XEN, Verdict, check_verdicts
from .test_xen import PVH_ONLY_OBSOLETE

NO_PVH_NOTE = "Error loading uncompressed kernel without PVH ELF Note"  # QEMU's words
NOT_HVM_CAPABLE = "xc_dom_guest_type: image not capable of booting inside a HVM container"
NO_XEN_NOTES = "Not a Xen-ELF image: No ELF notes or '__xen_guest' section found"  # libelf's


def run(name: str, *require: str, verdicts: Iterable[Verdict] = (),
        pvh_only: bool = False) -> ImageResult:  # fmt: skip
    """check_image on the registered image, requiring `require`; `verdicts` compared."""
    return check_verdicts(name, Options(require=require, pvh_only=pvh_only), verdicts)


def elf(name: str) -> BuiltElf:
    """The builder's record of a registered ELF: where each piece went (the expected offsets)."""
    made = built(name)
    if not isinstance(made, BuiltElf):
        raise TypeError(f"{name} is not a built ELF")
    return made


def rules_of(result: ImageResult) -> set[str]:
    return {finding.rule for finding in result.findings}


def placed(result: ImageResult, rule: str) -> list[tuple[int, int | None, tuple[str, ...]]]:
    """The rule's findings as (layer, offset, rejects): the bytes each points at, and the
    targets whose loaders refuse for it."""
    return [(f.layer, f.offset, f.rejects) for f in result.findings if f.rule == rule]


def test_well_formed_pvh_elf64():
    result = run(
        "elf/pvh64",
        "xen-pvh",
        "xen-pv",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("xen-pv", True),
            Verdict("qemu", True, path="pvh"),
            Verdict("rust-vmm", True),
        ],
    )
    assert not [f for f in result.findings if f.severity == "error"]


def test_phys32_missing():
    run(
        "elf/phys32-missing",
        "xen-pvh",
        verdicts=[
            Verdict("xen-pvh", False, NOT_HVM_CAPABLE, ("xen-phys32-missing",)),
            Verdict("qemu", False, NO_PVH_NOTE, ("qemu-pvh-note",)),
            Verdict("rust-vmm", False, rules=("rust-vmm-pvh",)),
            Verdict("xen-pv", True),
        ],
    )


@pytest.mark.parametrize(("name", "pvh_says"), [
    ("elf/no-notes", "xc_dom_parse_hvm_kernel: ELF image is not 32bit"),
    # No error from Xen: its HVM-generic loader takes an ELF32 as firmware (hvm-3.0-x86_32),
    # so the verdict's message is pvhlint's account of that, not a loader's words.
    ("elf/no-notes-elf32", "(no error: the HVM-generic loader boots it as HVM firmware)"),
])  # fmt: skip
def test_no_xen_notes_elf64_and_elf32(name, pvh_says):
    run(
        name,
        "xen-pvh",
        "xen-pv",
        verdicts=[
            Verdict("xen-pvh", False, pvh_says, ("xen-phys32-missing",)),
            Verdict("xen-pv", False, NO_XEN_NOTES, ("xen-pv-parse",)),
        ],
    )


def test_phys32_outside_every_load():
    result = run(
        "elf/phys32-outside",
        "xen-pvh",
        "qemu",
        verdicts=[
            Verdict(
                "xen-pvh", False, "ELF start or entries are out of bounds", ("xen-phys32-bounds",)
            ),
            Verdict("qemu", True),  # QEMU does not check the address
        ],
    )
    (phys32,) = notes_placed(elf("elf/phys32-outside"), XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-phys32-bounds") == [(0, phys32, ("xen-pvh",))]


def test_phys32_above_4g_is_truncated_by_xen():
    result = run("elf/phys32-above-4g", "xen-pvh", verdicts=[Verdict("xen-pvh", True)])
    # Shown at the note, refusing nothing: the low 32 bits Xen keeps land in the image
    # (the address it names: tests/rules/test_xen.py, elf/phys32-above-4g).
    (phys32,) = notes_placed(elf("elf/phys32-above-4g"), XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-phys32-bounds") == [(0, phys32, ())]


def test_foreign_owner_on_phys32():
    result = run(
        "elf/phys32-owner-xyz",
        "xen-pvh",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", False, NOT_HVM_CAPABLE, ("xen-phys32-missing",)),
            Verdict("qemu", True),  # QEMU ignores the owner
            Verdict("rust-vmm", False, rules=("rust-vmm-pvh",)),
        ],
    )
    # The owner finding points at the note owned by 'Xyz', the only one not Xen's.
    (xyz,) = notes_placed(elf("elf/phys32-owner-xyz"), XenNote.PHYS32_ENTRY)
    assert placed(result, "xen-note-owner") == [(0, xyz, ())]


def test_p_align_8_over_4_padded_notes():
    result = run(
        "elf/notes-palign8",
        "xen-pvh",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("qemu", False, NO_PVH_NOTE, ("qemu-pvh-note",)),
            Verdict("rust-vmm", True),  # linux-loader pads by 4 whatever p_align says
        ],
    )
    # A warning over the whole PT_NOTE (its wording: tests/rules/test_xen.py, elf/notes-palign8).
    made = elf("elf/notes-palign8")
    align = [f for f in result.findings if f.rule == "xen-note-align"]
    assert [(f.offset, f.length, f.rejects) for f in align] == [
        (made.area_offsets[0], made.area_filesz[0], ())
    ]


def test_p_align_0():
    result = run(
        "elf/notes-palign0",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict(
                "qemu", False, "SIGFPE", ("qemu-pvh-note",)
            ),  # no message: QEMU dies (exit 136)
            Verdict("rust-vmm", True),  # linux-loader never reads p_align
        ],
    )
    # The finding points at the PT_NOTE's p_align (Elf64_Phdr offset 0x30, 8 bytes).
    made = elf("elf/notes-palign0")
    p_align = made.phoff + 56 * made.phdr_kinds.index("note") + 0x30
    sigfpe = [f for f in result.findings if f.rule == "qemu-pvh-note"]
    assert [(f.offset, f.length) for f in sigfpe] == [(p_align, 8)]


def test_gnu_property_first_in_an_8_aligned_segment():
    """The modern-linker layout: an 8-aligned GNU property note, then 4-padded Xen notes."""
    run(
        "elf/gnu-property-first",
        "xen-pvh",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("rust-vmm", True),
            Verdict("qemu", False),
        ],
    )


@pytest.mark.parametrize(("name", "xen_says"), [
    # libelf's parse fails; its probe is silent, so xl reports only that no loader took it
    ("elf/features-bogus", "xc_dom_find_loader: no loader found"),
    ("elf/features-dom0",
     "xc_dom_parse_elf_kernel: Kernel does not support unprivileged (DomU) operation"),
    ("elf/features-typo", None),  # an unknown feature not required: Xen ignores it
])  # fmt: skip
def test_features(name, xen_says):
    verdicts = [Verdict(target, xen_says is None, xen_says) for target in XEN]
    result = run(name, "xen-pvh", "xen-pv", verdicts=verdicts)
    # At the FEATURES note (the rule's wording: tests/rules/test_xen.py, elf/features-*).
    (note,) = notes_placed(elf(name), XenNote.FEATURES)
    assert placed(result, "xen-features") == [(0, note, XEN if xen_says else ())]


def test_paddr_offset_without_virt_base_fails_pvh_on_417_only():
    """Xen 4.17 refuses it as PVH; 4.18+ (b77ed96fce) only as PV; PV fails on both."""
    name, both_xen = "elf/paddr-offset-no-virt-base", ("xen-pvh", "xen-pv")
    old = check_verdicts(name, Options(both_xen, loaders=Profile.DEBIAN12),
                         [Verdict("xen-pvh", False, rules=("xen-paddr-offset",))])  # fmt: skip
    assert "xen-pv-parse" in old.verdicts["xen-pv"].rules
    # the default profile: Debian 13, Xen 4.20
    new = check_verdicts(name, Options(both_xen), [Verdict("xen-pvh", True)])
    assert "xen-pv-parse" in new.verdicts["xen-pv"].rules
    shown = [f for f in new.findings if f.rule == "xen-paddr-offset"]
    assert [f.severity for f in shown] == ["warning"]  # true on 4.20, refuses nothing there
    both = check_verdicts(name, Options(("xen-pvh",), loaders=Profile.ALL),
                          [Verdict("xen-pvh", False)])  # fmt: skip
    pvh = both.verdicts["xen-pvh"]
    assert pvh.split
    assert {v: pvh.versions[v].accept for v in pvh.versions} == {"4.17": False, "4.20": True}
    pinned = check_verdicts(name, Options(("xen-pvh@4.17",)), [])
    assert list(pinned.verdicts["xen-pvh"].versions) == ["4.17"]
    assert [f.severity for f in pinned.findings if f.rule == "xen-paddr-offset"] == ["error"]


def test_duplicate_note():
    result = run("elf/xen-version-twice", "xen-pvh")
    # One finding for the pair, at the last of the two: the one Xen uses.
    versions = notes_placed(elf("elf/xen-version-twice"), XenNote.XEN_VERSION)
    assert len(versions) == 2
    assert placed(result, "xen-note-duplicate") == [(0, versions[-1], ())]


def test_unknown_note_types_are_no_duplicates():
    """Two notes of type 20 and one INFO (0): libelf skips them all as unknown."""
    result = run("elf/unknown-notes", "xen-pvh", verdicts=[Verdict("xen-pvh", True)])
    assert "xen-note-duplicate" not in rules_of(result)
    # One finding at each of the three, refusing nothing.
    made = elf("elf/unknown-notes")
    unknown = sorted([*notes_placed(made, 20), *notes_placed(made, XenNote.INFO)])
    assert placed(result, "xen-note-unknown") == [(0, at, ()) for at in unknown]


def test_notes_only_in_sections():
    result = run(
        "elf/notes-sections-only",
        "xen-pvh",
        "qemu",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("qemu", False),
            Verdict("rust-vmm", False),
        ],
    )
    assert "xen-notes-source" in rules_of(result)


def test_obsolete_notes_only_for_a_pvh_only_kernel():
    pvh_only = run("elf/pvh64", pvh_only=True)
    obsolete = [f for f in pvh_only.findings if f.rule == "xen-obsolete-pv-note"]
    # An error at each note only Xen PV reads (HYPERCALL_PAGE, VIRT_BASE, PAE_MODE,
    # HV_START_LOW, L1_MFN_VALID), and nowhere else.
    made = elf("elf/pvh64")
    want = sorted(at for note_type in PVH_ONLY_OBSOLETE for at in notes_placed(made, note_type))
    assert len(want) == 5
    assert [(f.layer, f.offset, f.severity) for f in obsolete] == [(0, at, "error") for at in want]
    assert "xen-pvh" in pvh_only.required and "xen-pv" not in pvh_only.required
    # Requiring PVH asks that Xen boots it as PVH, which it does: no obsolete-note findings.
    assert "xen-obsolete-pv-note" not in rules_of(run("elf/pvh64", "xen-pvh"))
    assert "xen-obsolete-pv-note" not in rules_of(run("elf/pvh64", "xen-pvh", "xen-pv"))


def test_phys32_descsz_3_reads_as_zero():
    result = run(
        "elf/phys32-descsz3",
        "xen-pvh",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", False, rules=("xen-phys32-bounds",)),  # 0 is below the image
            Verdict("rust-vmm", False, rules=("rust-vmm-pvh",)),  # descsz < 4
        ],
    )
    assert "xen-note-size" in rules_of(result)


def test_xen_notes_split_over_two_segments():
    result = run(
        "elf/notes-two-segments",
        "xen-pvh",
        "rust-vmm",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("rust-vmm", False, rules=("rust-vmm-pvh",)),
        ],
    )
    # Both areas are 4-aligned: the one align finding is the split, shown over the last
    # PT_NOTE (the only one rust-vmm keeps), refusing nothing itself (its wording:
    # tests/rules/test_xen.py, elf64-notes-two-segments).
    made = elf("elf/notes-two-segments")
    align = [f for f in result.findings if f.rule == "xen-note-align"]
    assert [(f.offset, f.length, f.rejects) for f in align] == [
        (made.area_offsets[1], made.area_filesz[1], ())
    ]


def test_elf64_phys32_with_4_byte_descriptor():
    # QEMU reads 8 bytes: the 4 after the descriptor are the next note's header, not zero
    run("elf/phys32-desc4", "qemu", verdicts=[Verdict("qemu", True)])


@pytest.mark.parametrize(("name", "e_flags_at"), [("elf/e-flags-elf32", 0x24),
                                                  ("elf/e-flags-elf64", 0x30)])  # fmt: skip
def test_elf_flags_refused_by_qemu(name, e_flags_at):
    """load_elfboot prints all of e_flags ("= %x", flags), read by the ELF's class."""
    result = run(
        name,
        "qemu",
        verdicts=[
            Verdict("qemu", False, "elfboot unsupported flags = 10001", ("qemu-pvh-note",)),
        ],
    )
    flags = [f for f in result.findings if f.rule == "qemu-pvh-note"]
    assert [(f.offset, f.length) for f in flags] == [(e_flags_at, 4)]


def test_32bit_pv_guest_on_debian_xen():
    run(
        "elf/pvh32",
        "xen-pv",
        "xen-pvh",
        "rust-vmm",
        verdicts=[
            Verdict(
                "xen-pv",
                False,
                "xc_dom_compat_check: guest type xen-3.0-x86_32p not supported by xen kernel, "
                "sorry",
                ("xen-pv-parse",),
            ),
            Verdict("xen-pvh", True),
            Verdict(
                "rust-vmm",
                False,
                "Kernel Loader: failed to load ELF kernel image: "
                "Kernel Loader: Invalid program header size",
                ("rust-vmm-pvh",),
            ),
        ],
    )


def test_pv_without_xen_version_but_pvh_fine():
    # libelf prints the XEN_VERSION it read: none here
    said = "Xen will only load images built for Xen v3.0 (Not '')"
    run(
        "elf/no-xen-version",
        "xen-pv",
        "xen-pvh",
        verdicts=[
            Verdict("xen-pvh", True),
            Verdict("xen-pv", False, said, ("xen-pv-parse",)),
        ],
    )


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
