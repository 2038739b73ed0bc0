"""Offsets and sizes from the file are never trusted: one hostile value per test, each a
report or a clean error (never an exception, a hang or a huge allocation), with what the
readers make of it checked."""

from __future__ import annotations

import struct

import pytest

from fixtures.catalogue import catalogue
from fixtures.elfgen import Load, Note, NoteArea, build_elf
from fixtures.variants_boot import variant
from pvhlint.bzimage import check_crc_before_signing
from pvhlint.codecs import DecodedStream
from pvhlint.errors import ImageError
from pvhlint.fixer.repack import COMPRESSORS
from pvhlint.image import open_image_bytes
from tests.fuzzlib import CAP, cpu_seconds, exercise, set_field

FAST = 2.0  # CPU seconds: each of these is one small input (CPU: load elsewhere is no failure)


def _open(data: bytes, **kw):  # type: ignore[no-untyped-def]
    return open_image_bytes(data, "hostile", lenient=True, max_output=CAP, **kw)


def _clean(data: bytes) -> str:
    """Run the whole harness (check + inspect readings) and return the outcome kind."""
    start = cpu_seconds()
    outcome = exercise(data, "hostile")
    assert cpu_seconds() - start < FAST
    return outcome.kind


def _error(data: bytes) -> str:
    with pytest.raises(ImageError) as caught:
        _open(data)
    assert "\n" not in str(caught.value)
    return caught.value.message


ELF64 = catalogue()["elf64-pvh"].data
PHOFF64 = struct.unpack_from("<Q", ELF64, 32)[0]


def _phdr64(data: bytes, index: int, field: int, value: int) -> bytes:
    """Set one u64 field (8 offset, 32 filesz, 48 align ...) of program header `index`."""
    return set_field(data, PHOFF64 + 56 * index + field, 8, value)


def _note_phdr() -> int:
    image = _open(ELF64)
    assert image.elf is not None
    return next(seg.index for seg in image.elf.segments if seg.type == 4)


# --- ELF header and program headers --------------------------------------------------------


def _phdr_problems(data: bytes) -> list[str]:
    return [p.message for p in _open(data).problems if p.code == "phdrs-past-eof"]


def test_e_phnum_huge():
    """Read up to the end and reported: libelf and QEMU name their own rejects for it."""
    data = set_field(ELF64, 56, 2, 0xFFFF)
    assert _clean(data) == "report"
    assert "runs past the end" in _phdr_problems(data)[0]


def test_e_phoff_near_2_64():
    data = set_field(ELF64, 32, 8, (1 << 64) - 8)
    assert _clean(data) == "report"
    assert "program header 0 at 0xfffffffffffffff8" in _phdr_problems(data)[0]


def test_p_offset_plus_p_filesz_overflows_64_bits():
    """In 64-bit C arithmetic the end wraps to 0x8 (inside the file); here it is past EOF."""
    data = _phdr64(_phdr64(ELF64, 0, 8, (1 << 64) - 8), 0, 32, 0x10)
    assert _clean(data) == "report"
    findings = [f for f in exercise_findings(data) if f.rule == "elf-segment-past-eof"]
    assert findings, "a PT_LOAD whose p_offset + p_filesz wraps must be past the end"


def exercise_findings(data: bytes):  # type: ignore[no-untyped-def]
    from pvhlint.checker import Options, check_image

    return check_image(_open(data), Options(require=("xen-pvh", "qemu"))).findings


def test_pt_note_offset_near_2_64():
    data = _phdr64(ELF64, _note_phdr(), 8, (1 << 64) - 4)
    assert _clean(data) == "report"
    elf = _open(data).elf
    assert [a.notes for a in elf.note_areas if a.source == "PT_NOTE"] == [[]]
    assert elf.xen_notes_from == "SHT_NOTE"  # libelf's fallback, as for any empty PT_NOTE


def test_section_headers_past_the_end():
    data = set_field(set_field(ELF64, 40, 8, (1 << 64) - 64), 60, 2, 0xFFFF)
    assert _clean(data) == "report"
    image = _open(data, full=True)
    assert image.elf.sections == [] and any(p.code == "truncated" for p in image.problems)


# --- notes -----------------------------------------------------------------------------------


def _one_note(note: Note, filesz: int | None = None) -> bytes:
    built = build_elf(elf_class=64, loads=[Load(0x1000000, 0x1000000, b"\xcc" * 0x40)],
                      note_areas=[NoteArea([note, Note(b"Xen\0", 6, b"linux\0")],
                                           filesz=filesz)])  # fmt: skip
    return built.data


@pytest.mark.parametrize("field", ["namesz", "descsz"])
def test_note_size_all_ones(field):
    note = Note(b"Xen\0", 18, struct.pack("<I", 0x1000000), **{field: 0xFFFFFFFF})
    data = _one_note(note)
    assert _clean(data) == "report"
    notes = _open(data).elf.note_areas[0].notes
    # libelf pads sizes in a 32-bit unsigned: 0xffffffff + 3 wraps to 2, & ~3 is 0. So the
    # walk goes on 16 bytes after the note (Xen 4.17 then finds a PVH note behind one whose
    # namesz is all ones: tests/difftest_cases.py, elf32-pvh with note[0].namesz edited).
    assert "desc-past-segment" in notes[0].problems
    assert len(notes) >= 2 and notes[1].offset == notes[0].offset + 16


def test_note_sizes_that_wrap_a_32_bit_walker_back_to_the_same_note():
    """namesz 4 and descsz 0xfffffff0: 12 + 4 + 0xfffffff0 is 2^32, so a walker adding in
    u32 lands on the same note again, forever. Here the next note is 4 GiB on: none."""
    data = _one_note(Note(b"Xen\0", 18, struct.pack("<I", 0x1000000), descsz=0xFFFFFFF0))
    assert _clean(data) == "report"
    area = _open(data).elf.note_areas[0]
    assert len(area.notes) == 1 and area.notes[0].desc_offset + 0xFFFFFFF0 > len(data)


def test_a_note_chain_over_zero_bytes_stops_at_libelfs_cap():
    """An area of zero bytes is a chain of empty notes, each only 12 bytes on: a 4 GiB
    p_filesz over 1 MiB of zeros is cut at 65536 notes, as libelf does."""
    built = build_elf(elf_class=64, loads=[Load(0x1000000, 0x1000000, bytes(1 << 20))],
                      note_areas=[NoteArea([Note(b"Xen\0", 6, b"linux\0")])])  # fmt: skip
    image = _open(built.data)
    note_index = next(s.index for s in image.elf.segments if s.type == 4)
    load = next(s for s in image.elf.segments if s.type == 1)
    data = _phdr64(_phdr64(built.data, note_index, 8, load.offset), note_index, 32, 0xFFFFFFFF)
    assert _clean(data) == "report"
    assert any(p.code == "too-many-notes" for p in _open(data).problems)


def test_many_note_segments_over_one_area_padded_to_8():
    """2000 PT_NOTEs over the same 64 KiB of zeros with p_align 8: each is also walked padded
    to p_align (QEMU), and those walks used to have no cap (2000 x 5461 notes)."""
    zeros = 1 << 16
    count = 2000
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    phoff = 64
    area = phoff + 56 * count
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, phoff, 0, 0, 64, 56, count, 64,
                               0, 0)  # fmt: skip
    phdrs = b"".join(struct.pack("<IIQQQQQQ", 4, 4, area, 0, 0, zeros, zeros, 8)
                     for _ in range(count))  # fmt: skip
    data = ehdr + phdrs + bytes(zeros)
    assert _clean(data) == "report"
    image = _open(data)
    assert sum(len(a.notes_by_align or []) for a in image.elf.note_areas) <= 65536


# --- multiboot 2 -----------------------------------------------------------------------------


def test_mb2_tag_size_zero():
    """GRUB spins on a tag of size 0 (it never advances); the walk here stops there."""
    data = variant("mb2-tag-size0")
    assert _clean(data) == "report"
    header = next(h for h in _open(data).multiboot if h.version == 2)
    assert "malformed-tag" in header.problems and len(header.tags) == 1


def test_mb2_tag_size_huge():
    data = _mb2_with_tag_size(0xFFFFFFF8)
    assert _clean(data) == "report"
    header = next(h for h in _open(data).multiboot if h.version == 2)
    assert "missing-end-tag" in header.problems and len(header.tags) == 1


def _mb2_with_tag_size(size: int) -> bytes:
    data = bytearray(variant("mb2-tag-size0"))
    at = next(h for h in _open(bytes(data)).multiboot if h.version == 2).offset + 16
    struct.pack_into("<I", data, at + 4, size)
    return bytes(data)


def test_mb2_headers_whose_tags_jump_over_each_other():
    """64 headers, each tag list running over the next headers (a 24-byte tag holds each
    one): a quarter million tags before the per-layer cap."""
    magic = 0xE85250D6

    def header() -> bytes:
        return struct.pack("<4I", magic, 0, 16, -(magic + 16) & 0xFFFFFFFF)

    data = header() + (struct.pack("<HHI", 6, 0, 24) + header()) * 63
    data += struct.pack("<HHI", 6, 0, 8) * ((32768 - len(data)) // 8)
    assert _clean(data) == "report"
    assert sum(len(h.tags) for h in _open(data).multiboot) <= 8192


# --- the Linux setup header and the PE stub --------------------------------------------------


BZ = catalogue()["bzimage-xz"].data
SIGNED = catalogue()["bzimage-xz-signed"].data


@pytest.mark.parametrize("cut", [0x206, 0x207])
def test_setup_header_cut_inside_its_version(cut):
    """HdrS present, the version field cut: read as version 0 (it raised struct.error)."""
    assert _clean(BZ[:cut]) == "report"


def test_payload_offset_and_length_overflow():
    data = set_field(set_field(BZ, 0x248, 4, 0xFFFFFFFF), 0x24C, 4, 0xFFFFFFFF)
    assert _clean(data) == "report"
    assert {p.code for p in _open(data).problems} >= {"payload-offset-overflow"}
    data = set_field(BZ, 0x24C, 4, 0xFFFFFFFF)
    assert {p.code for p in _open(data).problems} >= {"payload-length-overflow"}


def test_kernel_info_offset_past_eof():
    data = set_field(BZ, 0x268, 4, 0xFFFFFFF0)
    assert _clean(data) == "report"
    assert _open(data).setup.kernel_info["valid"] == 0


def test_pe_e_lfanew_past_eof():
    data = set_field(SIGNED, 0x3C, 4, 0xFFFFFFF0)
    assert _clean(data) == "report"
    assert _open(data).pe is None


def _security(data: bytes) -> tuple[int, int, int]:
    """(file offset of the Security directory entry, its offset, its size)."""
    pe = _open(data).pe
    entry = pe.offset + 24 + (144 if pe.optional_magic == 0x20B else 128)
    return entry, pe.security_offset, pe.security_size


def test_certificate_table_with_dwlength_zero():
    """A WIN_CERTIFICATE of length 0 would be met again and again; the walk stops."""
    _, offset, _ = _security(SIGNED)
    data = set_field(SIGNED, offset, 4, 0)
    assert _clean(data) == "report"
    assert len(_open(data).pe.certificates) == 1


def test_certificate_table_of_4_gib_of_8_byte_entries():
    entry, offset, _ = _security(SIGNED)
    data = set_field(set_field(SIGNED, entry + 4, 4, 0xFFFFFFF8), offset, 4, 8)
    assert _clean(data) == "report"
    assert len(_open(data).pe.certificates) <= 16


def test_crc_before_signing_with_fields_past_the_crc_end():
    """PE CheckSum straddling N: not zeroed (a slice assignment past the end of the copy
    zeroed the stored CRC's last bytes and appended, so a good CRC read as bad)."""
    image = _open(BZ)
    setup, pe = image.setup, image.pe
    assert setup.crc_ok and pe is not None
    pe.offset = setup.crc_end - 2 - 64 - 24  # CheckSum (optional header + 64) at N - 2
    assert check_crc_before_signing(image.blobs[0], setup, pe) is True


# --- payload containers ----------------------------------------------------------------------


def _lzo_stream(payload: bytes = b"\x7fELF" + bytes(60)) -> bytes:
    return COMPRESSORS["lzo"][0](payload)


LZOP_NAME_AT = 9 + 24  # magic; version, lib, needed, method, level, flags, mode, mtimes


def _lzop_header_size(stream: bytes) -> int:
    return LZOP_NAME_AT + 1 + stream[LZOP_NAME_AT] + 4  # name length, name, checksum


def test_lzop_header_name_length_past_the_end():
    stream = _lzo_stream()
    cut = stream[: LZOP_NAME_AT + 1]
    hostile = cut[:LZOP_NAME_AT] + b"\xff"
    for data in (cut, hostile):
        decoded = DecodedStream("lzo", data)
        assert decoded.read(0, 16) == b"" and decoded.error is not None


def test_lzo_block_claiming_4_gib():
    """dst_len sizes the output buffer: 0xffffffff from 8 bytes used to ask for 4 GiB."""
    stream = bytearray(_lzo_stream())
    at = _lzop_header_size(bytes(stream))
    struct.pack_into(">I", stream, at, 0xFFFFFFFF)
    decoded = DecodedStream("lzo", bytes(stream))
    start = cpu_seconds()
    assert decoded.read(0, 16) == b""
    assert "at most 256 KiB" in (decoded.error or "")
    assert cpu_seconds() - start < FAST


def test_lz4_block_size_past_the_end():
    stream = bytearray(COMPRESSORS["lz4"][0](b"\x7fELF" + bytes(60)))
    struct.pack_into("<I", stream, 4, 0xFFFFFFF0)
    decoded = DecodedStream("lz4", bytes(stream))
    assert decoded.read(0, 16) == b"" and "runs past the payload" in (decoded.error or "")


@pytest.mark.parametrize("codec", ["gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd"])
def test_payload_stream_cut_anywhere_in_its_header(codec):
    """The first 64 bytes of each codec's stream, cut at every length, as a bzImage payload."""
    base = catalogue()[f"bzimage-{codec}"].data
    stream = COMPRESSORS[codec][0](ELF64)
    for cut in range(1, min(64, len(stream))):
        image = _open(base)
        layer = image.layers[1]
        payload = stream[:cut] + struct.pack("<I", len(ELF64))
        data = base[: layer.offset] + payload + base[layer.offset + layer.size :]
        data = set_field(data, 0x24C, 4, len(payload))
        assert _clean(data) == "report"
