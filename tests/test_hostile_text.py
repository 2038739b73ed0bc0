"""File names and image strings cannot forge report lines or drive a terminal (issue 16.14):
every format escapes control characters and keeps each message on one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.elfgen import Load, Note, NoteArea, build_elf, linux_pvh_notes, xen_str
from pvhlint.text import printable

ROOT = Path(__file__).resolve().parents[1]
FORGED = "\n::error file=k::forged\x1b]0;title\x07\x1b[2J\r\u2028\u202e"
# A newline, a GitHub command, a fake summary, colour, and a byte that is not UTF-8.
EVIL_NAME = b"k\n::error file=x::fake: 0 error(s) all good\x1b[31m\xff"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


def hostile_kernel() -> bytes:
    """A PVH kernel whose GUEST_OS, LOADER and XEN_VERSION strings and one note owner carry
    newlines, GitHub commands and escape sequences."""
    paddr, vaddr = 0x1000000, 0xFFFFFFFF81000000
    notes = [n for n in linux_pvh_notes(64, paddr + 0x40) if n.type not in (5, 6, 8)]
    notes += [xen_str(6, "linux" + FORGED), xen_str(8, "generic" + FORGED),
              xen_str(5, "xen-3.0" + FORGED), Note(b"Xe\x1bn\n\0", 1, bytes(8))]  # fmt: skip
    load = Load(vaddr, paddr, b"\x90" * 0x100, bss=0x2000)
    return build_elf(elf_class=64, loads=[load], note_areas=[NoteArea(notes)]).data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("hostile")
    with open(os.path.join(os.fsencode(where), EVIL_NAME), "wb") as image:
        image.write(hostile_kernel())
    return where


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *args], cwd=folder,
                          capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")  # a byte that is not UTF-8 never reaches the output raw
    found = text.split("\n")
    assert found[-1] == ""
    for line in found:
        assert not CONTROL.search(line), repr(line)
    return found[:-1]


def test_printable_escapes_what_could_forge_a_line():
    assert printable("vmlinuz-6.1 café") == "vmlinuz-6.1 café"
    assert printable("a\nb\rc\x1b[2J\x07") == "a\\nb\\rc\\x1b[2J\\x07"
    assert printable("k\udcff") == "k\\xff"  # os.fsdecode's stand-in for the byte 0xff
    assert printable("\u2028\u202e\x85\x7f") == "\\u2028\\u202e\\x85\\x7f"


def test_console(folder):
    done = run(folder, "check", "-r", "xen-pvh,xen-pv", ".")
    shown = lines(done.stdout)
    assert shown[0].startswith("./k\\n::error file=x::fake: 0 error(s) all good\\x1b[31m\\xff ")
    assert sum("fake: 0 error(s)" in line for line in shown) == 1
    assert not any(line.startswith("::") for line in shown)
    assert any("'linux\\n::error file=k::forged\\x1b]0;title\\x07" in line for line in shown)
    assert any("owned by 'Xe\\x1bn\\n'" in line for line in shown)
    assert shown[-1].startswith("1 image(s): ")


def test_github_commands_are_one_per_finding(folder):
    done = run(folder, "check", "-r", "xen-pvh,xen-pv", "--format", "json", ".")
    findings = json.loads(done.stdout)["images"][0]["findings"]
    assert len(findings) >= 4
    shown = lines(run(folder, "check", "-r", "xen-pvh,xen-pv", "--format", "github", ".").stdout)
    assert len(shown) == len(findings)  # Actions reads a command only at a line's start
    for line in shown:
        assert re.fullmatch(r"::(error|warning|notice) file=[^:]*,title=[a-z0-9-]+::.*", line)


def test_sarif_with_a_name_that_is_not_utf8(folder):
    done = run(folder, "check", "-r", "xen-pvh,xen-pv", "--format", "sarif", ".")
    assert done.returncode in (0, 1), done.stderr
    log = json.loads(done.stdout)
    uris = {a["location"]["uri"] for a in log["runs"][0]["artifacts"] if "location" in a}
    assert "k%0A%3A%3Aerror%20file%3Dx%3A%3Afake%3A%200%20error%28s%29%20all%20good%1B%5B31m%FF" \
        in {uri.lstrip("./") for uri in uris}  # fmt: skip
    for result in log["runs"][0]["results"]:
        assert not CONTROL.search(result["message"]["text"])


def test_json_keeps_the_real_name(folder):
    done = run(folder, "check", "-r", "xen-pvh", "--format", "json", ".")
    image = json.loads(done.stdout)["images"][0]
    assert os.fsencode(image["path"]) == b"./" + EVIL_NAME
    assert all("\n" not in f["message"] and "\x1b" not in f["message"] for f in image["findings"])


def test_inspect(folder):
    name = os.fsdecode(EVIL_NAME)
    shown = lines(run(folder, "inspect", name).stdout)
    assert shown[0].startswith("k\\n::error file=x::fake: 0 error(s) all good\\x1b[31m\\xff ")
    assert any("linux\\n::error file=k::forged" in line for line in shown)


def test_error_lines(folder):
    missing = os.fsdecode(b"gone\n::error::x\x1b[2J\xfe")
    done = run(folder, "check", "--format", "github", missing)
    assert done.returncode == 2
    assert lines(done.stderr) == ["pvhlint: gone\\n::error::x\\x1b[2J\\xfe: no such file"]
    assert lines(done.stdout) == ["::error file=gone\\n%3A%3Aerror%3A%3Ax\\x1b[2J\\xfe,"
                                  "title=pvhlint::no such file"]  # fmt: skip
