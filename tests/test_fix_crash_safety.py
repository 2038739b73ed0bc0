"""`fix` writes kernels people boot: a failure at any step of writing (creating the
temporary file, each write, its metadata, fsync, close, the rename, syncing the directory)
leaves the original byte-identical and no temporary file behind; a replaced file keeps its
mode, owner and timestamps; a read-only file or directory is a clear one-line error."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue
from pvhlint.errors import ImageError
from pvhlint.fixer.extract import extract
from pvhlint.fixer.pipeline import fix
from pvhlint.fixer.request import FixRequest
from pvhlint.fixer.write import write_atomically

STEPS = ("open", "write", "fchown", "fchmod", "utime", "fsync", "close", "replace")
CHUNK = 256  # writes are made short, so that each of several writes can fail
TIMES = (1_600_000_000_123_456_789, 1_500_000_000_987_654_321)  # atime, mtime (ns)
KERNEL = catalogue()["elf64-pvh"].data
BZIMAGE = catalogue()["bzimage-xz"].data


class Faults:
    """Counts calls to the os functions writing goes through and fails call `fail_at`
    (0: none) with `error`; records whether the rename over the target happened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int,
                 error: Callable[[], BaseException]) -> None:  # fmt: skip
        self.count, self.fail_at, self.error = 0, fail_at, error
        self.renamed = False
        for name in STEPS:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))

    def _wrap(self, name: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            self.count += 1
            if self.count == self.fail_at:
                raise self.error()
            if name == "write":
                fd, data = args
                return real(fd, memoryview(data)[:CHUNK])  # type: ignore[call-overload]
            result = real(*args, **kwargs)
            if name == "replace":
                self.renamed = True
            return result

        return call


def _target(folder: Path, data: bytes = KERNEL, mode: int = 0o640) -> Path:
    path = folder / "vmlinux"
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=TIMES)
    return path


def _read(path: Path) -> bytes:
    """The bytes, without updating the atime the tests compare."""
    handle = os.open(path, os.O_RDONLY | os.O_NOATIME)
    try:
        return os.read(handle, 1 << 24)
    finally:
        os.close(handle)


def _fingerprint(path: Path) -> tuple[bytes, int, int, int, int, int]:
    info = path.stat()
    return (_read(path), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
            info.st_atime_ns, info.st_mtime_ns)  # fmt: skip


def _untouched_of(
    fingerprint: tuple[bytes, int, int, int, int, int],
) -> tuple[bytes, int, int, int, int]:
    return fingerprint[:4] + fingerprint[5:]


def _untouched(path: Path) -> tuple[bytes, int, int, int, int]:
    """All but the atime, which pvhlint's own reading of the file may update."""
    content, mode, uid, gid, _, mtime = _fingerprint(path)
    return content, mode, uid, gid, mtime


ERRORS = {"EIO": lambda: OSError(errno.EIO, "injected I/O error"),
          "ENOSPC": lambda: OSError(errno.ENOSPC, "injected: no space left"),
          "interrupt": KeyboardInterrupt}  # fmt: skip


def _every_step(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> int:
    """How many counted calls a clean run makes."""
    with monkeypatch.context() as patch:
        faults = Faults(patch, 0, ERRORS["EIO"])
        run()
    return faults.count


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_a_failure_at_every_step_of_write_atomically(tmp_path, monkeypatch, error):
    new = bytes(range(256)) * 16  # 16 writes of CHUNK bytes
    target = _target(tmp_path)
    steps = _every_step(monkeypatch, lambda: write_atomically(target, new))
    assert steps > 16 + 6
    for fail_at in range(1, steps + 1):
        target = _target(tmp_path)
        before = _fingerprint(target)
        with monkeypatch.context() as patch:
            faults = Faults(patch, fail_at, ERRORS[error])
            with contextlib.suppress(OSError, KeyboardInterrupt):
                write_atomically(target, new)
        assert os.listdir(tmp_path) == ["vmlinux"], f"step {fail_at}: a temporary file is left"
        if faults.renamed:  # only the directory's fsync was left: the new file is whole
            assert _fingerprint(target) == (new, *before[1:])
        else:
            assert _fingerprint(target) == before, f"step {fail_at} touched the original"


@pytest.mark.parametrize("backup", [False, True], ids=["in-place", "with-backup"])
def test_a_failure_at_every_step_of_fix(tmp_path, monkeypatch, backup):
    """The whole of `fix` (backup included): each step fails once, in turn."""
    request = FixRequest(tmp_path / "vmlinux", set=(("GUEST_VERSION", "pvhlint-crash-test"),),
                         backup=backup)  # fmt: skip
    _target(tmp_path)
    steps = _every_step(monkeypatch, lambda: fix(request))
    fixed = _read(tmp_path / "vmlinux")
    assert fixed != KERNEL
    for fail_at in range(1, steps + 1):
        for leftover in tmp_path.iterdir():
            leftover.unlink()
        target = _target(tmp_path)
        before = _fingerprint(target)
        with monkeypatch.context() as patch:
            faults = Faults(patch, fail_at, ERRORS["EIO"])
            with contextlib.suppress(OSError, ImageError):  # ImageError: reading the input
                fix(request)
        names = sorted(os.listdir(tmp_path))
        assert names in (["vmlinux"], ["vmlinux", "vmlinux.orig"]), (fail_at, names)
        if "vmlinux.orig" in names:
            assert _fingerprint(tmp_path / "vmlinux.orig") == before
        if faults.renamed and _read(target) == fixed:
            assert _fingerprint(target)[1:] == before[1:]  # atime included: as before
        else:
            assert _untouched(target) == _untouched_of(before), f"step {fail_at} touched it"


def test_the_replaced_file_keeps_mode_and_timestamps(tmp_path):
    target = _target(tmp_path, mode=0o751)
    before = _fingerprint(target)
    result = fix(FixRequest(target, set=(("GUEST_VERSION", "kept"),), backup=True))
    after = _fingerprint(target)
    assert result.written == target and after[0] != before[0]
    assert after[1:] == before[1:]  # mode, uid, gid, atime, mtime
    assert _fingerprint(tmp_path / "vmlinux.orig") == before  # the backup: all of it


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_the_replaced_file_keeps_its_owner_and_group(tmp_path):
    target = _target(tmp_path)
    os.chown(target, 1234, 5678)
    os.utime(target, ns=TIMES)
    fix(FixRequest(target, set=(("GUEST_VERSION", "owned"),)))
    info = target.stat()
    assert (info.st_uid, info.st_gid) == (1234, 5678)
    assert (info.st_atime_ns, info.st_mtime_ns) == TIMES


def test_a_new_file_gets_the_umask_mode_or_the_inputs(tmp_path):
    source = _target(tmp_path, data=BZIMAGE, mode=0o604)
    out = tmp_path / "vmlinux.elf"
    old = os.umask(0o027)
    try:
        extract(source, out)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # 0666 less the umask, not 0600
    fixed = tmp_path / "fixed"
    kernel = tmp_path / "kernel"
    kernel.write_bytes(KERNEL)
    kernel.chmod(0o604)
    fix(FixRequest(kernel, output=fixed, set=(("GUEST_VERSION", "new"),)))
    assert stat.S_IMODE(fixed.stat().st_mode) == 0o604


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    real = _target(tmp_path)
    link = tmp_path / "vmlinuz"
    link.symlink_to(real.name)
    fix(FixRequest(link, set=(("GUEST_VERSION", "through-a-link"),)))
    assert link.is_symlink() and _read(real) != KERNEL


def pvhlint(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _refused(done: subprocess.CompletedProcess[str], name: Path, words: str) -> None:
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pvhlint: {name}: ") and words in lines[0]
    assert "Traceback" not in done.stderr


def test_a_read_only_file_is_refused_with_one_line(tmp_path):
    """Replacing by rename would succeed (the directory is writable, and root bypasses
    permissions anyway): the file's own write bit is honoured, for root too."""
    target = _target(tmp_path, mode=0o444)
    before = _fingerprint(target)
    done = pvhlint("fix", "--set-note", "GUEST_VERSION=x", "--backup", target)
    _refused(done, target, "read-only")
    assert _untouched(target) == _untouched_of(before) and os.listdir(tmp_path) == ["vmlinux"]


def test_a_file_in_a_read_only_directory_is_refused_with_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    target = _target(folder)
    before = _fingerprint(target)
    folder.chmod(0o555)
    try:
        done = pvhlint("fix", "--set-note", "GUEST_VERSION=x", target)
        _refused(done, target, "read-only")
        assert _untouched(target) == _untouched_of(before) and os.listdir(folder) == ["vmlinux"]
        done = pvhlint("extract", tmp_path / "missing", "-o", folder / "new")
        assert done.returncode == 2 and not (folder / "new").exists()
    finally:
        folder.chmod(0o755)


def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path):
    source = _target(tmp_path)
    done = pvhlint("fix", "--set-note", "GUEST_VERSION=x", "-o", "/dev/null", source)
    _refused(done, Path("/dev/null"), "not a regular file")


def test_the_temporary_file_cannot_be_created(tmp_path, monkeypatch):
    """What a user without write permission on the directory meets (root cannot: the mode
    check above answers first); the OS's refusal is a clean OSError, nothing left."""
    target = _target(tmp_path)
    before = _fingerprint(target)
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError):
        write_atomically(target, b"new")
    assert _fingerprint(target) == before and os.listdir(tmp_path) == ["vmlinux"]
