"""The command line as a user runs it: real subprocesses, real exit codes and streams."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import as_unprivileged

DOC = Path(__file__).resolve().parents[1] / "docs" / "inspect-json.md"


def pvhlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def assert_bad_input(done: subprocess.CompletedProcess[str], path: Path, words: str) -> None:
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and words in lines[0]
    assert "Traceback" not in done.stderr


def test_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert_bad_input(pvhlint("inspect", path), path, "empty file")


def test_directory(tmp_path):
    assert_bad_input(pvhlint("inspect", tmp_path), tmp_path, "is a directory")


def test_missing_file(tmp_path):
    path = tmp_path / "nope"
    assert_bad_input(pvhlint("inspect", path), path, "no such file")


def test_fifo_is_not_read(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    assert_bad_input(pvhlint("inspect", path), path, "not a regular file")


def test_unreadable_file():
    """Root reads every file regardless of mode: then the command runs as nobody."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pvhlint-cli-"))
    try:
        folder.chmod(0o755)
        path = folder / "secret"
        path.write_bytes(b"\x7fELF" + bytes(60))
        path.chmod(0)
        command = as_unprivileged([sys.executable, "-m", "pvhlint", "inspect", str(path)])
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder,
                              env={**os.environ, "PYTHONPATH": str(DOC.parents[1])})  # fmt: skip
    finally:
        shutil.rmtree(folder)
    assert_bad_input(done, path, "permission denied")


def test_unknown_format(tmp_path):
    path = tmp_path / "text"
    path.write_text("just some text, no kernel here\n" * 10)
    assert_bad_input(pvhlint("inspect", path), path, "unknown format")


def test_truncated_elf_header(tmp_path):
    path = tmp_path / "short.elf"
    path.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(20))
    assert_bad_input(pvhlint("inspect", path), path, "ELF header")


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 64)
    assert_bad_input(pvhlint("inspect", path), path, "gzip")


def test_good_and_bad_together_still_prints_the_good(tmp_path, debian_image):
    good = debian_image("grub-i386-xen_pvh")
    bad = tmp_path / "empty"
    bad.write_bytes(b"")
    done = pvhlint("inspect", "--json", good, bad)
    assert done.returncode == 2 and str(bad) in done.stderr
    report = json.loads(done.stdout)
    assert [image["path"] for image in report["images"]] == [str(good)]


def _keys(value: object, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


@pytest.mark.realworld
def test_json_keys_are_documented(debian_image):
    paths = [debian_image(name) for name in ("amd64", "xen", "gnumach-xen", "grub-i386-xen")]
    done = pvhlint("inspect", "--json", *paths)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["version"] == 1 and len(report["images"]) == 4
    spans = re.findall(r"`([^`]+)`", DOC.read_text())
    documented = {word for span in spans for word in re.findall(r"[a-z_0-9]+", span)}
    # setup.fields are boot.rst names, mb2 tag fields likewise: documented by reference.
    keys = set()
    for image in report["images"]:
        image = dict(image)
        if image["setup"]:
            image["setup"] = {k: v for k, v in image["setup"].items()
                              if k not in ("fields", "raw_fields")}  # fmt: skip
        for header in image["multiboot"]:
            for tag in header["tags"]:
                tag.pop("fields")
        _keys(image, keys)
    undocumented = {k for k in keys if k not in documented and not k.isdigit()}
    undocumented -= {"fields", "raw_fields"}
    assert not undocumented, f"document these keys in {DOC.name}: {sorted(undocumented)}"


@pytest.mark.realworld
def test_inspect_tree_shows_the_debian_kernel(debian_image):
    done = pvhlint("inspect", debian_image("amd64"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    expected = ("codec xz", "protocol 2.15", "CRC32", "Authenticode: unsigned",
                "XEN_ELFNOTE_PHYS32_ENTRY", "0x1000850", "PHYS32_ENTRY: 0x1000850")  # fmt: skip
    for text in expected:
        assert text in out, text
