"""Prove the generated fixtures are what their `expect` says, using independent tools only:
readelf, grub-file, objdump, openssl and the real decompressors. No pvhlint code is used.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from fixtures.catalogue import Fixture, build_fresh, catalogue
from fixtures.compressors import missing_tools

if missing_tools():  # the generator itself shells out to every kernel compressor
    pytest.skip(f"compressor CLI missing: {', '.join(missing_tools())}", allow_module_level=True)

CAT: dict[str, Fixture] = catalogue()
ROOT = Path(__file__).resolve().parent.parent

REQUIRED = [
    "elf32-pvh",
    "elf64-pvh",
    "elf64-note-desc-past-segment",
    "elf64-note-owner-not-xen",
    "elf64-note-truncated",
    "elf64-note-bad-alignment",
    "elf64-notes-sections-only",
    "elf32-xen-guest-only",
    "elf32-gnumach-like",
    "elf64-notes-palign8",
    "elf64-notes-two-segments",
    "elf64-machine-aarch64",
    "elf32-mb1",
    "elf64-mb1",
    "flat-mb1-inside",
    "flat-mb1-straddle",
    "flat-mb1-outside",
    "flat-mb1-magic-past-8k",
    "elf32-mb2",
    "elf32-mb2-bad-checksum",
    "elf32-mb2-no-end-tag",
    "gzip-elf64-pvh",
    *(f"bzimage-{c}" for c in ("gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd")),
    "bzimage-bad-crc",
    "bzimage-payload-past-eof",
    "bzimage-v0207",
    "bzimage-unknown-codec",
    "bzimage-no-hdrs",
    "bzimage-bad-boot-flag",
    "bzimage-corrupt-payload",
]
EXPECT_KEYS = {
    "name",
    "description",
    "format",
    "size",
    "layers",
    "elf",
    "notes",
    "note_problems",
    "entries",
    "mb1",
    "mb2",
    "bzimage",
    "tools",
}
# The one problem each malformed-note fixture exists for.
MALFORMED = {
    "elf64-note-desc-past-segment": "desc-past-segment",
    "elf64-note-owner-not-xen": "owner-not-xen",
    "elf64-note-truncated": "truncated",
    "elf64-note-bad-alignment": "bad-alignment",
}
# Decompressors, independent of the generator's compressor table.
DECOMPRESS = {
    "gzip": ["gzip", "-dc"],
    "bzip2": ["bzip2", "-dc"],
    "lzma": ["lzma", "-dc"],
    "xz": ["xz", "-dc"],
    "lzo": ["lzop", "-dc"],
    "lz4": ["lz4", "-dc"],
    "zstd": ["zstd", "-dc"],
}
MACHINE_NAMES = {3: "Intel 80386", 62: "Advanced Micro Devices X86-64", 40: "ARM", 183: "AArch64"}
READELF_TYPE_NAMES = {"NT_VERSION (version)": 1, "NT_ARCH (architecture)": 2}


def names_where(pred: Any) -> list[str]:
    return sorted(n for n, f in CAT.items() if pred(f.expect))


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


def run(argv: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=data, capture_output=True, check=False)


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixtures")
    for name, fx in CAT.items():
        (out / f"{name}.bin").write_bytes(fx.data)
    return out


def inner_elf(fx: Fixture) -> bytes:
    """The innermost ELF or flat image, unwrapped with the real decompressors."""
    fmt = fx.expect["format"]
    if fmt == "gzip":
        return decompress("gzip", fx.data)
    if fmt == "bzimage":
        payload = payload_bytes(fx)
        codec = fx.expect["bzimage"]["codec"]
        out = decompress(codec, payload if codec == "gzip" else payload[:-4])
        return out[: fx.expect["bzimage"]["elf_length"]]
    return fx.data


def decompress(codec: str, stream: bytes) -> bytes:
    need(DECOMPRESS[codec][0])
    res = run(DECOMPRESS[codec], stream)
    assert res.returncode == 0, res.stderr
    return res.stdout


def payload_bytes(fx: Fixture) -> bytes:
    layer = next(la for la in fx.expect["layers"] if la["kind"] == "payload")
    return fx.data[layer["offset"] : layer["offset"] + layer["length"]]


# --- catalogue shape -------------------------------------------------------------------------


def test_required_fixtures_present() -> None:
    missing = [n for n in REQUIRED if n not in CAT]
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(CAT))
def test_expect_is_complete_json_and_small(name: str) -> None:
    fx = CAT[name]
    assert set(fx.expect) == EXPECT_KEYS
    assert fx.expect["name"] == name
    assert fx.expect["size"] == len(fx.data)
    assert json.loads(json.dumps(fx.expect)) == fx.expect
    assert len(fx.data) <= 16 * 1024, "fixtures must stay small"
    outer = fx.expect["layers"][0]
    assert outer["space"] == "file" and outer["offset"] == 0


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_note_has_exactly_its_problem(name: str) -> None:
    exp = CAT[name].expect
    flagged = [n for n in exp["notes"] if n["problems"]]
    assert [n["problems"] for n in flagged] == [[MALFORMED[name]]]
    assert flagged[0]["type_name"] == "PHYS32_ENTRY"


def test_well_formed_elves_have_no_note_problems() -> None:
    for name in (
        "elf32-pvh",
        "elf64-pvh",
        "elf64-notes-palign8",
        "elf64-notes-two-segments",
        "elf64-notes-sections-only",
    ):
        assert CAT[name].expect["note_problems"] == [], name


# --- determinism -------------------------------------------------------------------------------


def test_rebuild_in_process_is_identical() -> None:
    again = build_fresh()
    assert sorted(again) == sorted(CAT)
    for name, fx in CAT.items():
        assert again[name].data == fx.data, name
        assert again[name].expect == fx.expect, name


def test_generate_cli_is_deterministic(tmp_path: Path) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        res = subprocess.run(
            [sys.executable, "-m", "fixtures.generate", str(d)],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in dirs[0].iterdir())
    assert files == sorted(p.name for p in dirs[1].iterdir())
    assert len(files) == 2 * len(CAT)
    for fname in files:
        assert (dirs[0] / fname).read_bytes() == (dirs[1] / fname).read_bytes(), fname
    for name, fx in CAT.items():
        assert (dirs[0] / f"{name}.bin").read_bytes() == fx.data, name
        assert json.loads((dirs[0] / f"{name}.expect.json").read_text()) == fx.expect, name


# --- readelf -----------------------------------------------------------------------------------

NOTE_BLOCK = re.compile(
    r"^Displaying notes found (?:in: (\S+)|at file offset 0x([0-9a-f]+) "
    r"with length 0x([0-9a-f]+):)$"
)
NOTE_LINE = re.compile(r"^\s+(\S+)\s+0x([0-9a-f]+)\s+(.*?)\s+description data: ([0-9a-f ]*)$")
PHDR_LINE = re.compile(
    r"^\s+(LOAD|NOTE)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+"
    r"0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+.{3}\s+0x([0-9a-f]+)$"
)
SHDR_LINE = re.compile(r"^\s+\[\s*(\d+)\]\s+(\S+)\s+(NULL|PROGBITS|NOBITS|NOTE|STRTAB)\s")


def readelf_note_blocks(text: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """[(block label, [{owner, descsz, type, desc_hex}])] from `readelf -n` output."""
    blocks: list[tuple[str, list[dict[str, Any]]]] = []
    for line in text.splitlines():
        m = NOTE_BLOCK.match(line)
        if m:
            label = m.group(1) or f"{int(m.group(2), 16)}+{int(m.group(3), 16)}"
            blocks.append((label, []))
            continue
        n = NOTE_LINE.match(line)
        if n and blocks:
            blocks[-1][1].append(
                {
                    "owner": n.group(1),
                    "descsz": int(n.group(2), 16),
                    "type": readelf_type(n.group(3)),
                    "desc_hex": n.group(4).replace(" ", ""),
                }
            )
    return blocks


def readelf_type(text: str) -> int:
    m = re.fullmatch(r"Unknown note type: \(0x([0-9a-f]+)\)", text)
    if m:
        return int(m.group(1), 16)
    assert text in READELF_TYPE_NAMES, f"unexpected readelf note type text {text!r}"
    return READELF_TYPE_NAMES[text]


def expected_blocks(exp: dict[str, Any], view: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """What readelf should list: notes per SHT_NOTE section ("sections") or PT_NOTE."""
    areas = exp["elf"]["note_areas"]
    out = []
    for i, area in enumerate(areas):
        if view == "sections" and area["section"] is None:
            continue
        if view == "segments" and not area["in_phdr"]:
            continue
        label = area["section"] if view == "sections" else f"{area['offset']}+{area['filesz']}"
        notes = [
            {
                "owner": n["owner"],
                "descsz": n["descsz"],
                "type": n["type"],
                "desc_hex": n["desc_hex"],
            }
            for n in exp["notes"]
            if n["area"] == i
        ]
        out.append((label, notes))
    return out


def strip_section_headers(elf: bytes) -> bytes:
    """Zero e_shoff/e_shnum/e_shstrndx so readelf -n must read the PT_NOTE segments."""
    buf = bytearray(elf)
    if buf[4] == 1:
        struct.pack_into("<I", buf, 0x20, 0)
        struct.pack_into("<HH", buf, 0x30, 0, 0)
    else:
        struct.pack_into("<Q", buf, 0x28, 0)
        struct.pack_into("<HH", buf, 0x3C, 0, 0)
    return bytes(buf)


def readelf(path: Path, *opts: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["readelf", "-W", *opts, str(path)], capture_output=True, text=True, check=False
    )


def reachable_elf(e: dict[str, Any]) -> bool:
    """An ELF the real tools can get at (directly, or inside gzip / a decodable payload)."""
    return e["tools"]["readelf"] is not None and (
        e["format"] != "bzimage" or e["bzimage"]["payload_decodes"]
    )


ELF_CLEAN = names_where(lambda e: reachable_elf(e) and e["tools"]["readelf"]["clean"])
ELF_DIRTY = names_where(lambda e: reachable_elf(e) and not e["tools"]["readelf"]["clean"])
ELF_SEGMENT = names_where(reachable_elf)


@pytest.mark.parametrize("name", ELF_CLEAN)
def test_readelf_accepts_well_formed(name: str, tmp_path: Path) -> None:
    need("readelf")
    fx = CAT[name]
    exp = fx.expect
    path = tmp_path / "x.elf"
    path.write_bytes(inner_elf(fx))
    res = readelf(path, "-h", "-n", "-l", "-S")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    elf = exp["elf"]
    assert f"ELF{elf['class']}" in res.stdout
    assert re.search(rf"Machine:\s+{re.escape(MACHINE_NAMES[elf['machine']])}\n", res.stdout)
    assert re.search(rf"Entry point address:\s+0x{elf['e_entry']:x}\n", res.stdout)
    check_phdrs(res.stdout, elf)
    sections = [m.group(2) for m in map(SHDR_LINE.match, res.stdout.splitlines()) if m]
    assert sections == elf["sections"]  # the unnamed NULL section never matches
    view = "sections" if any(a["section"] for a in elf["note_areas"]) else "segments"
    assert readelf_note_blocks(res.stdout) == expected_blocks(exp, view)


def check_phdrs(text: str, elf: dict[str, Any]) -> None:
    got = [m.groups() for m in map(PHDR_LINE.match, text.splitlines()) if m]
    want = [
        ("LOAD", ld["offset"], ld["vaddr"], ld["paddr"], ld["filesz"], ld["memsz"], ld["align"])
        for ld in elf["loads"]
    ]
    want += [
        ("NOTE", a["offset"], 0, 0, a["filesz"], a["filesz"], a["p_align"])
        for a in elf["note_areas"]
        if a["in_phdr"]
    ]
    assert [(g[0], *(int(v, 16) for v in g[1:])) for g in got] == want


@pytest.mark.parametrize("name", ELF_SEGMENT)
def test_readelf_pt_note_view(name: str, tmp_path: Path) -> None:
    """readelf -n on a copy without section headers reads the PT_NOTE segments themselves."""
    need("readelf")
    fx = CAT[name]
    exp = fx.expect
    path = tmp_path / "noshdr.elf"
    path.write_bytes(strip_section_headers(inner_elf(fx)))
    res = readelf(path, "-n")
    verdict = exp["tools"]["readelf"]["segment_notes"]
    if verdict == "clean":
        assert res.returncode == 0 and res.stderr == "", res.stderr
        assert readelf_note_blocks(res.stdout) == expected_blocks(exp, "segments")
    elif verdict == "warning":
        assert "Warning: note with invalid namesz and/or descsz" in res.stderr
    else:
        assert verdict == "error" and res.returncode != 0 and "Error" in res.stderr


def test_readelf_names_the_note_past_its_segment(tmp_path: Path) -> None:
    need("readelf")
    exp = CAT["elf64-note-desc-past-segment"].expect
    bad = next(n for n in exp["notes"] if n["problems"])
    area = exp["elf"]["note_areas"][bad["area"]]
    path = tmp_path / "x.elf"
    path.write_bytes(CAT["elf64-note-desc-past-segment"].data)
    res = readelf(path, "-n")
    rel = bad["offset"] - area["offset"]  # readelf reports the offset inside the note area
    assert f"invalid namesz and/or descsz found at offset {rel:#x}" in res.stderr
    assert f"type: {bad['type']:#x}, namesize: 0x4, descsize: {bad['descsz']:#x}" in res.stderr


def test_readelf_reports_truncated_note_area(tmp_path: Path) -> None:
    need("readelf")
    exp = CAT["elf64-note-truncated"].expect
    area = exp["elf"]["note_areas"][0]
    assert area["offset"] + area["filesz"] > exp["size"]
    path = tmp_path / "x.elf"
    path.write_bytes(CAT["elf64-note-truncated"].data)
    res = readelf(path, "-n")
    assert res.returncode == 1
    assert f"Reading {area['filesz']} bytes extends past end of file for notes" in res.stderr


@pytest.mark.parametrize("name", ELF_DIRTY)
def test_readelf_complains_about_malformed(name: str, tmp_path: Path) -> None:
    need("readelf")
    path = tmp_path / "x.elf"
    path.write_bytes(inner_elf(CAT[name]))
    res = readelf(path, "-n", "-l", "-S")
    assert re.search(r"readelf: (Warning|Error):", res.stderr), res.stderr


def test_readelf_is_silent_on_misaligned_and_foreign_owner(tmp_path: Path) -> None:
    """readelf checks neither p_offset alignment nor the owner; the owner shows up verbatim."""
    need("readelf")
    for name in ("elf64-note-bad-alignment", "elf64-note-owner-not-xen"):
        path = tmp_path / f"{name}.elf"
        path.write_bytes(strip_section_headers(CAT[name].data))
        res = readelf(path, "-n")
        assert res.stderr == ""
        owners = [n["owner"] for _, notes in readelf_note_blocks(res.stdout) for n in notes]
        assert owners == [n["owner"] for n in CAT[name].expect["notes"]]
    assert "Xyz" in owners


def test_bad_alignment_offset_really_is_unaligned() -> None:
    exp = CAT["elf64-note-bad-alignment"].expect
    offs = [a["offset"] for a in exp["elf"]["note_areas"]]
    assert offs[0] % 4 == 0 and offs[1] % 4 == 2


# --- grub-file -----------------------------------------------------------------------------

GRUB_CASES = sorted((n, opt) for n, f in CAT.items() for opt in f.expect["tools"]["grub_file"])


# These probes are silent: "no" is exit 1. The Xen probes may instead fail with a GRUB error
# (exit = grub_errno, e.g. 26 for a corrupt xz stream), which is a "no" too.
SILENT_GRUB_PROBES = (
    "--is-x86-multiboot",
    "--is-x86-multiboot2",
    "--is-x86-linux",
    "--is-x86-linux32",
    "--is-x86_64-efi",
    "--is-i386-efi",
)


@pytest.mark.parametrize(("name", "option"), GRUB_CASES)
def test_grub_file(name: str, option: str, fixture_dir: Path) -> None:
    need("grub-file")
    want = CAT[name].expect["tools"]["grub_file"][option]
    res = run(["grub-file", option, str(fixture_dir / f"{name}.bin")])
    if want:
        assert res.returncode == 0, (option, res.stderr)
    elif option in SILENT_GRUB_PROBES:
        assert res.returncode == 1 and res.stderr == b"", (option, res.stderr)
    else:
        assert res.returncode != 0, option


def test_grub_file_straddling_mb1_header_is_not_found(fixture_dir: Path) -> None:
    """grub-file scans 4-byte steps only up to len-12 of its 8192-byte read, i.e. offset
    8180, so a header at 8184 (magic+flags inside, checksum outside) is invisible: exit 1."""
    need("grub-file")
    mb1 = CAT["flat-mb1-straddle"].expect["mb1"][0]
    assert mb1["offset"] == 8184 and not mb1["in_window"] and not mb1["in_grub_scan"]
    res = run(["grub-file", "--is-x86-multiboot", str(fixture_dir / "flat-mb1-straddle.bin")])
    assert res.returncode == 1


def test_grub_file_accepts_window_end_header_qemu_would_miss() -> None:
    mb1 = CAT["flat-mb1-window-end"].expect["mb1"][0]
    assert mb1["in_window"] and mb1["in_grub_scan"] and not mb1["in_qemu_scan"]


# --- multiboot bytes ------------------------------------------------------------------------

MB_CASES = names_where(lambda e: e["mb1"] or e["mb2"])


@pytest.mark.parametrize("name", MB_CASES)
def test_multiboot_headers_at_stated_offsets(name: str) -> None:
    fx = CAT[name]
    image = inner_elf(fx)
    for mb in fx.expect["mb1"]:
        magic, flags, csum = struct.unpack_from("<III", image, mb["offset"])
        assert (magic, flags, csum) == (0x1BADB002, mb["flags"], mb["checksum"])
        assert ((magic + flags + csum) & 0xFFFFFFFF == 0) == mb["checksum_ok"]
    for mb in fx.expect["mb2"]:
        magic, arch, length, csum = struct.unpack_from("<4I", image, mb["offset"])
        assert (magic, arch, length) == (0xE85250D6, mb["architecture"], mb["header_length"])
        for tag in mb["tags"]:
            assert struct.unpack_from("<HHI", image, tag["offset"]) == (
                tag["type"],
                tag["flags"],
                tag["size"],
            )


@pytest.mark.parametrize("name", names_where(lambda e: e["format"] == "flat"))
def test_flat_aout_kludge_fields_consistent(name: str) -> None:
    mb = CAT[name].expect["mb1"][0]
    if not mb["aout_kludge"]:
        return
    size = CAT[name].expect["size"]
    assert mb["load_addr"] <= mb["header_addr"]
    assert mb["header_addr"] - mb["load_addr"] == mb["offset"]
    assert mb["load_end_addr"] - mb["load_addr"] <= size
    assert mb["bss_end_addr"] >= mb["load_end_addr"]
    assert mb["load_addr"] <= mb["entry_addr"] < mb["load_end_addr"]


# --- gzip layer --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", names_where(lambda e: e["format"] == "gzip"))
def test_gzip_layer_inflates_to_inner_elf(name: str) -> None:
    need("gzip")
    fx = CAT[name]
    inner = fx.expect["layers"][1]
    data = inner_elf(fx)
    assert hashlib.sha256(data).hexdigest() == inner["sha256"]
    assert len(data) == inner["length"]
    assert fx.data[4:8] == b"\0\0\0\0", "gzip -n: no mtime"
    assert fx.data[3] & 0x08 == 0, "gzip -n: no file name"


# --- bzImage -----------------------------------------------------------------------------------

BZ = names_where(lambda e: e["format"] == "bzimage")
BZ_GOOD = names_where(lambda e: e["format"] == "bzimage" and e["bzimage"]["payload_decodes"])


def reference_crc_ok(b: bytes) -> bool:
    """linux-boot.md §7, verbatim formula."""
    ss = b[0x1F1] or 4
    n = (ss + 1) * 512 + struct.unpack_from("<I", b, 0x1F4)[0] * 16
    stored = struct.unpack_from("<I", b, n - 4)[0]
    return n <= len(b) and zlib.crc32(b[: n - 4]) ^ 0xFFFFFFFF == stored


@pytest.mark.parametrize("name", BZ)
def test_bzimage_crc_matches_reference_formula(name: str) -> None:
    bz = CAT[name].expect["bzimage"]
    data = CAT[name].data
    assert reference_crc_ok(data) == bz["crc_ok"]
    assert zlib.crc32(data[: bz["n"]]) == 0xFFFFFFFF or not bz["crc_ok"]
    assert (bz["setup_sects"] + 1) * 512 + bz["syssize"] * 16 == bz["n"]
    assert len(data) == bz["n"] + (bz["pe"]["cert_length"] if bz["signed"] else 0)


@pytest.mark.parametrize("name", BZ_GOOD)
def test_bzimage_payload_decompresses_to_the_elf(name: str) -> None:
    fx = CAT[name]
    bz = fx.expect["bzimage"]
    codec = bz["codec"]
    need(DECOMPRESS[codec][0])
    payload = payload_bytes(fx)
    assert hashlib.sha256(payload).hexdigest() == bz["payload_sha256"]
    trailer = struct.unpack("<I", payload[-4:])[0]
    assert trailer == bz["decompressed_size"]  # size_append (gzip: its own ISIZE)
    stream = payload if codec == "gzip" else payload[:-4]
    res = run(DECOMPRESS[codec], stream)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert len(out) == bz["decompressed_size"]
    assert hashlib.sha256(out).hexdigest() == bz["decompressed_sha256"]
    elf_layer = fx.expect["layers"][2]
    assert hashlib.sha256(out[: elf_layer["length"]]).hexdigest() == elf_layer["sha256"]
    source = "elf64-pvh" if elf_layer["kind"] == "elf64" else "elf32-pvh"
    assert out[: elf_layer["length"]] == CAT[source].data


# Leading bytes per linux-boot.md §6 (kept separate from the generator's own table).
PAYLOAD_MAGIC = {
    "gzip": "1f8b08",
    "bzip2": "425a6839",
    "lzma": "5d0000",
    "xz": "fd377a585a00",
    "lzo": "894c5a4f000d0a1a0a",
    "lz4": "02214c18",
    "zstd": "28b52ffd",
}


@pytest.mark.parametrize("codec", sorted(PAYLOAD_MAGIC))
def test_payload_container_matches_kernel_build_flags(codec: str, tmp_path: Path) -> None:
    payload = payload_bytes(CAT[f"bzimage-{codec}"])
    assert payload.hex().startswith(PAYLOAD_MAGIC[codec])
    if codec == "gzip":
        assert payload[3] == 0 and payload[4:8] == b"\0\0\0\0"  # -n: no name, no mtime
        assert payload[8] == 2  # XFL 2 = maximum compression (-9)
    if codec == "xz":  # xz_wrap.sh on x86: CRC32 check, x86 BCJ + LZMA2 with a 32 MiB dict
        need("xz")
        path = tmp_path / "p.xz"
        path.write_bytes(payload[:-4])
        listing = run(["xz", "--robot", "-lvv", str(path)]).stdout.decode()
        block = next(ln for ln in listing.splitlines() if ln.startswith("block\t"))
        assert "\tCRC32\t" in block and "--x86 --lzma2=dict=32MiB" in block


@pytest.mark.parametrize("name", ["bzimage-unknown-codec", "bzimage-corrupt-payload"])
def test_broken_payload_does_not_decompress(name: str) -> None:
    need("xz")
    fx = CAT[name]
    assert fx.expect["bzimage"]["built_with"] == "xz"
    res = run(DECOMPRESS["xz"], payload_bytes(fx)[:-4])
    assert res.returncode != 0


def test_payload_past_eof_really_is() -> None:
    exp = CAT["bzimage-payload-past-eof"].expect
    bz = exp["bzimage"]
    assert bz["payload_file_offset"] + bz["payload_length"] > exp["size"]


@pytest.mark.parametrize("name", [n for n in BZ if CAT[n].expect["bzimage"]["with_pe"]])
def test_bzimage_pe_header_per_objdump(name: str, fixture_dir: Path) -> None:
    need("objdump")
    pe = CAT[name].expect["bzimage"]["pe"]
    res = run(["objdump", "-x", str(fixture_dir / f"{name}.bin")])
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    fmt = "pei-x86-64" if pe["machine"] == 0x8664 else "pei-i386"
    assert f"file format {fmt}" in out
    assert re.search(r"Subsystem\s+0000000a\s+\(EFI application\)", out)
    assert re.search(r"NumberOfRvaAndSizes\s+00000006", out)
    sec = re.search(r"Entry 4 ([0-9a-f]+) ([0-9a-f]+) Security Directory", out)
    assert sec and (int(sec.group(1), 16), int(sec.group(2), 16)) == (
        pe["cert_offset"],
        pe["cert_length"],
    )
    assert re.search(rf"AddressOfEntryPoint\s+0*{pe['entry_rva']:x}\n", out)
    assert re.search(rf"CheckSum\s+0*{pe['checksum']:08x}\n", out)


def test_signed_certificate_is_der_after_n() -> None:
    need("openssl")
    fx = CAT["bzimage-xz-signed"]
    bz = fx.expect["bzimage"]
    pe = bz["pe"]
    assert pe["cert_offset"] == bz["n"] and pe["cert_offset"] % 8 == 0
    length, rev, ctype = struct.unpack_from("<IHH", fx.data, pe["cert_offset"])
    assert (rev, ctype) == (0x0200, 0x0002) and length <= pe["cert_length"]
    der = fx.data[pe["cert_offset"] + 8 : pe["cert_offset"] + length]
    res = run(["openssl", "asn1parse", "-inform", "DER"], der)
    assert res.returncode == 0, res.stderr
    assert b"pkcs7-signedData" in res.stdout
    assert not bz["crc_ok"], "signing patches the header after the CRC was written"
    unsigned = bytearray(fx.data)
    for off, size in ((pe["checksum_offset"], 4), (pe["security_dir"], 8)):
        unsigned[off : off + size] = bytes(size)
    assert reference_crc_ok(bytes(unsigned)) and bz["crc_ok_before_signing"]


@pytest.mark.parametrize("name", BZ)
def test_file_identifies_bzimage_version_string(name: str, fixture_dir: Path) -> None:
    need("file")
    bz = CAT[name].expect["bzimage"]
    out = run(["file", "-b", str(fixture_dir / f"{name}.bin")]).stdout.decode()
    if bz["has_hdrs"] and bz["boot_flag"] == 0xAA55:
        assert out.startswith("Linux kernel x86 boot executable bzImage, version 6.1.0-pvhlint")
    elif bz["has_hdrs"]:
        assert out.strip() == "Linux kernel"  # libmagic wants 0xAA55 for the details
    else:
        assert "Linux kernel" not in out


# --- the checks above can fail ------------------------------------------------------------------


def test_checks_detect_tampering(tmp_path: Path) -> None:
    need("readelf")
    need("grub-file")
    good = CAT["elf64-pvh"]
    tampered = bytearray(good.data)
    phys = good.expect["notes"][-1]
    struct.pack_into("<I", tampered, phys["offset"] + 8, 17)  # retype PHYS32_ENTRY
    path = tmp_path / "t.elf"
    path.write_bytes(bytes(tampered))
    blocks = readelf_note_blocks(readelf(path, "-n").stdout)
    want = expected_blocks(good.expect, "sections")
    assert blocks != want
    want[0][1][-1]["type"] = 17
    assert blocks == want  # the comparison sees exactly the one changed field
    bz = bytearray(CAT["bzimage-xz"].data)
    bz[0x210] ^= 1
    assert not reference_crc_ok(bytes(bz))
    flat = bytearray(CAT["flat-mb1-inside"].data)
    flat[CAT["flat-mb1-inside"].expect["mb1"][0]["offset"] + 8] ^= 1
    (tmp_path / "f.bin").write_bytes(bytes(flat))
    assert run(["grub-file", "--is-x86-multiboot", str(tmp_path / "f.bin")]).returncode == 1
