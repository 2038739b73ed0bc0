"""Independent readings of real images, by the system's own tools (not pvhlint's code)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Stream magics as Linux's scripts/extract-vmlinux searches for them, and the tool to decode.
EXTRACTORS = {
    "xz": (b"\xfd7zXZ\x00", ["xz", "-dc", "--single-stream"]),
    "lz4": (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    "gzip": (b"\x1f\x8b\x08", ["gzip", "-dc"]),
    "zstd": (b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
}


def extract_vmlinux(bzimage: Path, codec: str, out: Path) -> Path:
    """Like scripts/extract-vmlinux: find the stream magic, pipe the rest to the codec's tool."""
    magic, command = EXTRACTORS[codec]
    data = bzimage.read_bytes()
    start = data.find(magic)
    assert start > 0, f"no {codec} stream in {bzimage}"
    done = subprocess.run(command, input=data[start:], capture_output=True)
    out.write_bytes(done.stdout)
    assert done.stdout[:4] == b"\x7fELF", done.stderr.decode()[-300:]
    return out


def gunzip(path: Path, out: Path) -> Path:
    out.write_bytes(subprocess.run(["gzip", "-dc", str(path)], capture_output=True).stdout)
    return out


@dataclass
class ReadelfNote:
    owner: str
    descsz: int
    type_text: str
    desc: bytes | None


def readelf_notes(path: Path) -> tuple[list[ReadelfNote], str]:
    """`readelf -n -W`: notes in order, with description bytes where readelf prints them."""
    done = subprocess.run(["readelf", "-n", "-W", str(path)], capture_output=True, text=True)
    notes: list[ReadelfNote] = []
    # With -W each note is one line: owner, size, type text, then the description bytes.
    for line in done.stdout.splitlines():
        head = re.match(
            r"^  (\S+)\s+0x([0-9a-f]+)\t([^\t]*)(?:\t\s*description data: ([0-9a-f ]*))?", line
        )
        if head:
            desc = bytes.fromhex(head[4]) if head[4] is not None else None
            notes.append(ReadelfNote(head[1], int(head[2], 16), head[3].strip(), desc))
    return notes, done.stderr


def readelf_segments(path: Path) -> list[tuple[str, int, int, int, int, int]]:
    """(type, offset, vaddr, paddr, filesz, memsz) per program header from `readelf -l -W`."""
    done = subprocess.run(["readelf", "-l", "-W", str(path)], capture_output=True, text=True)
    rows = []
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[1].startswith("0x") and cols[0].isupper():
            rows.append((cols[0], *(int(c, 16) for c in cols[1:6])))
    return rows


def unknown_type(note: ReadelfNote) -> int | None:
    found = re.search(r"Unknown note type: \(0x([0-9a-f]+)\)", note.type_text)
    return int(found[1], 16) if found else None


# For an owner readelf does not know (Xen), it names types 1, 2 and 4 by their generic meaning.
READELF_GENERIC_TYPES = {"NT_VERSION (version)": 1, "NT_ARCH (architecture)": 2, "GO BUILDID": 4}


def note_type(note: ReadelfNote) -> int:
    """The note's type number as readelf shows it, named or not."""
    found = unknown_type(note)
    if found is not None:
        return found
    assert note.type_text in READELF_GENERIC_TYPES, f"readelf type text {note.type_text!r}"
    return READELF_GENERIC_TYPES[note.type_text]
