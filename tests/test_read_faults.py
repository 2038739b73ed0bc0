"""Faults while reading (issue 16, item 12): a file truncated while pvhlint reads it, and a
worker process that dies, give error lines or reports, never a lost run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from fixtures.catalogue import catalogue

KERNEL = catalogue()["elf64-pvh"].data
BIG = 2 << 20  # past the size pvhlint used to map instead of read


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_file_truncated_while_it_is_read(tmp_path):
    """`cp new old` while check runs: the file shrinks between opening and reading."""
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(KERNEL + bytes(BIG))
    done = _run(f"""
        import os, sys
        from pvhlint import image
        real = image._Opener.build
        def build(self):
            os.truncate({str(kernel)!r}, 4096)  # after the file was opened, before parsing
            return real(self)
        image._Opener.build = build
        from pvhlint.cli import app
        sys.argv = ["pvhlint", "check", "--format", "json", {str(kernel)!r}]
        app()
    """, tmp_path)  # fmt: skip
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-500:])
    assert json.loads(done.stdout)["images"][0]["path"] == str(kernel)


def test_a_worker_that_dies_is_that_image_s_error_line(tmp_path):
    folder = tmp_path / "kernels"
    folder.mkdir()
    for name in ("a-vmlinux", "b-killer", "c-vmlinux"):
        (folder / name).write_bytes(KERNEL)
    done = _run(f"""
        import json, os, signal
        from pvhlint import checker
        real = checker.check_one
        def check_one(path, explicit, options):
            if path.endswith("b-killer"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(path, explicit, options)
        checker.check_one = check_one
        report = checker.check_paths([{str(folder)!r}], checker.Options(), jobs=2)
        print(json.dumps([(r.path, r.error) for r in report.results]))
    """, tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-800:]
    results = dict(json.loads(done.stdout))
    assert sorted(Path(p).name for p in results) == ["a-vmlinux", "b-killer", "c-vmlinux"]
    errors = {Path(p).name: e for p, e in results.items()}
    assert errors["a-vmlinux"] is None and errors["c-vmlinux"] is None
    assert "the process checking it died" in errors["b-killer"]
