"""Every reader reads its own layer (issue 16, item 13): a bzImage inside gzip has its
setup header read from the decoded bytes, not the compressed file, however short; and a
folder's odd entries (item 16: a dangling symlink) never cost the other images."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from fixtures.catalogue import catalogue

BZIMAGE = catalogue()["bzimage-xz"].data
KERNEL = catalogue()["elf64-pvh"].data


def pvhlint(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_tiny_gzip_holding_a_bzimage(tmp_path):
    wrapped = gzip.compress(BZIMAGE[:0x400])
    assert len(wrapped) < 0x1F2  # shorter than where the setup header starts
    image = tmp_path / "tiny.gz"
    image.write_bytes(wrapped)
    done = pvhlint("inspect", "--json", image)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    setup = json.loads(done.stdout)["images"][0]["setup"]
    assert setup["setup_sects"] == BZIMAGE[0x1F1]  # the decoded layer's byte, read by hand
    assert setup["version"] == int.from_bytes(BZIMAGE[0x206:0x208], "little")


def test_one_such_file_does_not_abort_a_folder(tmp_path):
    (tmp_path / "a-tiny.gz").write_bytes(gzip.compress(BZIMAGE[:0x400]))
    (tmp_path / "b-vmlinux").write_bytes(KERNEL)
    done = pvhlint("check", "--format", "json", tmp_path)
    assert done.returncode in (0, 1), done.stderr
    images = {Path(i["path"]).name: i for i in json.loads(done.stdout)["images"]}
    assert set(images) == {"a-tiny.gz", "b-vmlinux"}
    assert all(i.get("error") is None for i in images.values()), images


def test_a_dangling_symlink_in_a_folder_is_skipped(tmp_path):
    """Issue 16 item 16: it made `check DIR` exit 2."""
    (tmp_path / "vmlinux").write_bytes(KERNEL)
    (tmp_path / "old-vmlinuz").symlink_to(tmp_path / "gone")
    done = pvhlint("check", "--format", "json", tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert [Path(i["path"]).name for i in json.loads(done.stdout)["images"]] == ["vmlinux"]
