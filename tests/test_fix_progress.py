"""`fix` on a bzImage: a progress bar on a terminal while the payload is re-compressed,
none off a terminal, and Ctrl-C ends it promptly with nothing written (issue 18)."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import catalogue
from tests.conftest import default_sigint

HANG_LIMIT = 120  # seconds: a hung child fails the test instead of stalling the suite
# the first option set a fix tries for xz (pvhlint.codecs.xz.ATTEMPTS)
BAR = b"re-compressing (xz --check=crc32 --x86 --lzma2=preset=6,dict=32MiB,lc=4,nice=80)"


def spawn_on_pty(*args: str | Path) -> tuple[subprocess.Popen[bytes], int]:
    """pvhlint with stdout and stderr on a pseudo-terminal: (process, the pty's reading end)."""
    reader, writer = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    child = subprocess.Popen([sys.executable, "-m", "pvhlint", *map(str, args)],
                             stdin=subprocess.DEVNULL, stdout=writer, stderr=writer,
                             env=env, preexec_fn=default_sigint)  # fmt: skip
    os.close(writer)
    return child, reader


def read_until(reader: int, child: subprocess.Popen[bytes], wanted: bytes | None) -> bytes:
    """What the pty shows until `wanted` appears (None: until the child closes it)."""
    seen = b""
    idle = 0  # seconds without output: the hang limit counts those, not the clock
    while idle < HANG_LIMIT:
        if wanted is not None and wanted in seen:
            return seen
        ready, _, _ = select.select([reader], [], [], 1)
        if not ready:
            idle += 1
            continue
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # EIO: every writer has closed the pty
            chunk = b""
        if not chunk:
            return seen
        seen += chunk
    child.kill()
    pytest.fail(f"no {wanted!r} after {HANG_LIMIT} s of silence; the pty showed {seen[-500:]!r}")


def test_bar_on_a_terminal_none_off_it(tmp_path):
    original = tmp_path / "vmlinuz"
    original.write_bytes(catalogue()["bzimage-xz"].data)
    child, reader = spawn_on_pty("fix", "--drop-obsolete-notes", "-o", tmp_path / "a", original)
    shown = read_until(reader, child, None)
    os.close(reader)
    assert child.wait(HANG_LIMIT) == 0, shown[-800:]
    assert BAR in shown  # the codec and the options
    assert b"KiB" in shown or b"MiB" in shown  # bytes done

    piped = subprocess.run([sys.executable, "-m", "pvhlint", "fix", "--drop-obsolete-notes",
                            "-o", tmp_path / "b", original],
                           capture_output=True, timeout=HANG_LIMIT)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert b"re-compressing" not in piped.stdout + piped.stderr
    assert b"\x1b[" not in piped.stdout + piped.stderr  # no terminal control codes either
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


@pytest.mark.realworld
def test_ctrl_c_mid_recompression_writes_nothing(debian_image, tmp_path):
    source = debian_image("amd64")  # xz, about half a minute to re-compress
    original = tmp_path / "vmlinuz"
    original.write_bytes(source.read_bytes())
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    for output in (tmp_path / "out", None):  # to a new file, and in place
        where = ("-o", output) if output else ("--backup",)
        child, reader = spawn_on_pty("fix", "--drop-obsolete-notes", *where, original)
        read_until(reader, child, b"re-compressing")
        time.sleep(2)  # well inside the re-compression
        child.send_signal(signal.SIGINT)
        try:
            status = child.wait(HANG_LIMIT)
        finally:
            child.kill()
            os.close(reader)
        assert status == 130
        assert sorted(path.name for path in tmp_path.iterdir()) == ["vmlinuz"]
        assert hashlib.sha256(original.read_bytes()).hexdigest() == digest
