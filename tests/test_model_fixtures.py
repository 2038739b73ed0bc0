"""The image model against the fixture catalogue.

Each fixture's `expect` was written from the generator's own inputs (see
fixtures/catalogue.py), and tests/test_fixtures_selfcheck.py proves the bytes with
readelf, grub-file and the real decompressors; here the model must read the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import catalogue
from pvhlint.errors import ImageError
from pvhlint.image import open_image
from pvhlint.model import ProblemCode
from pvhlint.xennotes import Features

FIXTURES = catalogue()
NOTE_PROBLEMS = {"owner-not-xen", "bad-alignment", "truncated", "desc-past-segment"}
SOURCES = {"phdr": "PT_NOTE", "sections": "SHT_NOTE", "xen_guest": "__xen_guest", None: None}
FAILS_TO_OPEN = {"bzimage-corrupt-payload": "Corrupt input data"}  # decodes in part


def _open(tmp_path: Path, name: str, full: bool = True):
    path = tmp_path / name
    path.write_bytes(FIXTURES[name].data)
    return open_image(path, full=full)


def _primary_notes(image) -> dict[int, object]:
    """Notes by offset, from PT_NOTE areas when there are any (what libelf walks first)."""
    areas = image.elf.note_areas
    sources = {area.source for area in areas}
    wanted = "PT_NOTE" if "PT_NOTE" in sources else "SHT_NOTE"
    return {note.offset: note for area in areas if area.source == wanted for note in area.notes}


def _plain_value(value):
    return value.text if isinstance(value, Features) else value


OPENABLE = sorted(set(FIXTURES) - set(FAILS_TO_OPEN))


def _elf_readable(name: str) -> bool:
    """False for bzImages whose payload ELF no loader can reach (the breakage is the point)."""
    bz = FIXTURES[name].expect["bzimage"]
    return not bz or (bz["version"] >= 0x208 and bz["breakage"] in (None, "bad-crc",
                                                                    "bad-boot-flag"))  # fmt: skip


READABLE = [n for n in OPENABLE if _elf_readable(n)]


@pytest.mark.parametrize("name", OPENABLE)
def test_layers_and_format(tmp_path, name):
    expect = FIXTURES[name].expect
    image = _open(tmp_path, name)
    assert image.format == expect["format"]
    inner = [layer["kind"] for layer in expect["layers"] if layer["kind"] in ("elf32", "elf64")]
    if inner and expect["bzimage"] is None:
        assert image.kernel_format == inner[0]
    if expect["format"] == "gzip":
        assert [layer.kind for layer in image.layers] == ["file", "gzip"]


@pytest.mark.parametrize("name", [n for n in READABLE if FIXTURES[n].expect["notes"]])
def test_every_note_as_written(tmp_path, name):
    expect = FIXTURES[name].expect
    image = _open(tmp_path, name)
    ours = _primary_notes(image)
    for want in expect["notes"]:
        note = ours.get(want["offset"])
        assert note is not None, f"no note at {want['offset']:#x}"
        assert (note.type, note.namesz, note.descsz) == (want["type"], want["namesz"],
                                                         want["descsz"])  # fmt: skip
        assert note.owner.hex().startswith(want["owner_hex"][: 2 * len(note.owner)])
        assert note.desc_offset == want["desc_offset"]
        assert note.desc.hex() == want["desc_hex"][: 2 * len(note.desc)]
        assert set(note.problems) & NOTE_PROBLEMS == set(want["problems"])
        # A cut descriptor reads as 0, as libelf's bounds-checked reader gives.
        if note.is_xen and want["value"] is not None and "truncated" not in want["problems"]:
            assert _plain_value(note.value) == want["value"]
    assert image.elf.xen_notes_from == SOURCES[expect["elf"]["note_source"]]


@pytest.mark.parametrize("name", [n for n in READABLE if FIXTURES[n].expect["elf"]])
def test_elf_header_and_segments(tmp_path, name):
    elf = FIXTURES[name].expect["elf"]
    image = _open(tmp_path, name)
    ours = image.elf
    assert (ours.elf_class, ours.machine, ours.flags, ours.entry) == (
        elf["class"], elf["machine"], elf["e_flags"], elf["e_entry"])  # fmt: skip
    loads = [s for s in ours.segments if s.type == 1]
    assert [(s.offset, s.vaddr, s.paddr, s.filesz, s.memsz, s.flags, s.align) for s in loads] == [
        (w["offset"], w["vaddr"], w["paddr"], w["filesz"], w["memsz"], w["flags"], w["align"])
        for w in elf["loads"]
    ]
    unsupported = any(p.code == "unsupported-machine" for p in image.problems)
    assert unsupported is (elf["machine"] not in (3, 62))


@pytest.mark.parametrize("name", [n for n in READABLE if FIXTURES[n].expect["entries"]])
def test_entry_points(tmp_path, name):
    expect = FIXTURES[name].expect
    entries = dict(expect["entries"])
    image = _open(tmp_path, name)
    # Xen ignores a PHYS32_ENTRY it cannot read (foreign owner, cut descriptor).
    if any(n["type"] == 18 and n["problems"] for n in expect["notes"]):
        entries["phys32_entry"] = None
    # A multiboot header outside the window gives no loader an entry point.
    if not any(h["in_window"] for h in expect["mb1"]):
        entries["mb1_entry"] = None
    ours = {}
    for point in image.entry_points:
        ours.setdefault(point.kind, point.address)
    for key, kind in (("e_entry", "e_entry"), ("phys32_entry", "PHYS32_ENTRY"),
                      ("mb2_entry", "multiboot2"), ("code32_start", "code32_start")):  # fmt: skip
        if entries.get(key) is not None:
            assert ours.get(kind) == entries[key], kind
    if entries.get("mb1_entry") is not None:
        assert ours.get("multiboot1") == entries["mb1_entry"]
    if entries.get("phys32_entry") is not None:
        point = next(p for p in image.entry_points if p.kind == "PHYS32_ENTRY")
        loads = [s for s in image.elf.segments if s.type == 1]
        held = [s.index for s in loads if s.paddr <= point.address < s.paddr + s.memsz]
        assert point.segments_by_paddr == held


@pytest.mark.parametrize("name", [n for n in OPENABLE if FIXTURES[n].expect["mb1"]])
def test_multiboot1_headers(tmp_path, name):
    image = _open(tmp_path, name)
    inner = len(image.layers) - 1
    ours = {h.offset: h for h in image.multiboot if h.version == 1 and h.layer == inner}
    for want in FIXTURES[name].expect["mb1"]:
        header = ours.get(want["offset"])
        assert header is not None and header.checksum_ok is want["checksum_ok"]
        assert header.flags == want["flags"]
        assert (header.in_window and header.aligned) is want["in_window"]
        for field in ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr"):
            if field in want:
                assert header.fields[field] == want[field]


@pytest.mark.parametrize("name", [n for n in OPENABLE if FIXTURES[n].expect["mb2"]])
def test_multiboot2_headers(tmp_path, name):
    image = _open(tmp_path, name)
    ours = {h.offset: h for h in image.multiboot if h.version == 2}
    for want in FIXTURES[name].expect["mb2"]:
        header = ours.get(want["offset"])
        assert header is not None and header.checksum_ok is want["checksum_ok"]
        if not header.checksum_ok:
            continue
        assert (header.architecture, header.header_length) == (want["architecture"],
                                                               want["header_length"])  # fmt: skip
        assert header.in_window is want["in_window"]
        tags = [(t.type, t.flags, t.size, t.offset) for t in header.tags]
        expected = [(t["type"], t["flags"], t["size"], t["offset"]) for t in want["tags"]]
        assert tags[: len(expected)] == expected
        assert ("missing-end-tag" not in header.problems) is want["has_end_tag"]


@pytest.mark.parametrize("name", [n for n in OPENABLE if FIXTURES[n].expect["bzimage"]])
def test_bzimage(tmp_path, name):
    want = FIXTURES[name].expect["bzimage"]
    image = _open(tmp_path, name)
    setup = image.setup
    assert setup.has_hdrs is want["has_hdrs"] and setup.boot_flag == want["boot_flag"]
    assert setup.crc_ok is want["crc_ok"]
    if want["signed"]:
        assert image.pe.signed and setup.crc_ok_before_signing is want["crc_ok_before_signing"]
    if not want["has_hdrs"]:
        return
    assert (setup.version, setup.setup_sects) == (want["version"], want["setup_sects"])
    assert setup.pm_offset == want["pm_start"] and setup.crc_stored == want["crc_stored"]
    if want.get("with_pe"):
        assert image.pe.subsystem == want["pe"]["subsystem"]
    else:
        assert image.pe is None
    problems = {p.code for p in image.problems}
    if want["version"] < 0x208:
        assert len(image.layers) == 1
    elif want["breakage"] == "payload-past-eof":
        assert problems & {"payload-length-overflow", "payload-offset-overflow"}
    elif want["breakage"] == "unknown-codec":
        assert "unknown-codec" in problems and image.layers[1].codec is None
    else:
        payload = image.layers[1]
        assert payload.offset == want["payload_file_offset"] and payload.codec == want["codec"]
        assert payload.size_trailer == want["size_trailer"]
        assert payload.decoded_size == want["decompressed_size"]
        assert not problems


def test_the_seven_codecs_are_covered():
    codecs = {f.expect["bzimage"]["codec"] for f in FIXTURES.values() if f.expect["bzimage"]}
    assert {"gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd"} <= codecs


@pytest.mark.parametrize("name", sorted(FAILS_TO_OPEN))
def test_broken_payload_reads_up_to_the_damage(tmp_path, name):
    """The first 539 of its 1028 bytes decode before the damage: a strict reading models
    them (as Xen's decoder keeps them), cut short, and records the damage; it is no longer
    an unreadable image."""
    image = _open(tmp_path, name)
    corrupt = [p.message for p in image.problems if p.code == ProblemCode.PAYLOAD_CORRUPT]
    assert corrupt and FAILS_TO_OPEN[name] in corrupt[0]
    assert image.elf is not None and image.layers[1].decoded_prefix == 539


def test_early_stop_decodes_only_a_prefix(tmp_path):
    image = _open(tmp_path, "bzimage-xz", full=False)
    assert image.elf.xen_notes and image.layers[1].decoded_size in (None, 1028)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_truncation_is_a_report_or_a_clean_error(tmp_path, name):
    """Prefixes at ~300 points of each fixture, every header boundary among them."""
    data = FIXTURES[name].data
    step = max(1, len(data) // 300)
    cuts = set(range(1, len(data), step)) | _boundaries(FIXTURES[name].expect, len(data))
    path = tmp_path / "cut"
    for cut in sorted(cuts):
        path.write_bytes(data[:cut])
        try:
            open_image(path, full=True)
        except ImageError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)


def _boundaries(expect: dict, size: int) -> set[int]:
    points = set()
    for layer in expect["layers"]:
        if layer["space"] == "file":
            points |= {layer["offset"], layer["offset"] + layer["length"]}
    elf = expect["elf"] or {}
    for key in ("phoff", "shoff"):
        if elf.get(key):
            points |= {elf[key] + d for d in (-1, 0, 1, 16)}
    for note in expect["notes"] if not expect["bzimage"] else []:
        points |= {note["offset"], note["offset"] + 12, note["desc_offset"]}
    for header in expect["mb1"] + expect["mb2"]:
        points |= {header["offset"], header["offset"] + 12}
    return {p for p in points if 0 < p < size}
