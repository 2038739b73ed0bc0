"""`fix` and `extract` against a hostile neighbour and a second run (issue 16, items 2, 3
and 16): no write through a link planted before or during the run, no backup that
overwrites anything, no lost update, and a refusal that names the real reason."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue
from pvhlint.fixer import request as request_stage
from pvhlint.fixer.pipeline import fix
from pvhlint.fixer.request import FixRequest
from tests.conftest import default_sigint

KERNEL = catalogue()["elf64-pvh"].data
BZIMAGE = catalogue()["bzimage-xz"].data
SET = ("--set-note", "GUEST_VERSION=pvhlint-safety")
PRECIOUS = b"root's precious file\n"


def pvhlint(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _kernel(folder: Path, name: str = "vmlinux", data: bytes = KERNEL) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _precious(folder: Path) -> Path:
    path = folder / "precious.txt"
    path.write_bytes(PRECIOUS)
    path.chmod(0o600)
    return path


def _one_line(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, done.stderr


def _during_the_run(monkeypatch: pytest.MonkeyPatch, action) -> None:  # type: ignore[no-untyped-def]
    """Run `action` once, after the input was read and before anything is written."""
    real = request_stage.check_image
    done: list[bool] = []

    def check(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not done:
            done.append(True)
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(request_stage, "check_image", check)


def test_a_symlink_swapped_in_during_the_run_is_not_followed(tmp_path, monkeypatch):
    kernel, precious = _kernel(tmp_path), _precious(tmp_path)

    def swap() -> None:
        kernel.unlink()
        kernel.symlink_to(precious)

    _during_the_run(monkeypatch, swap)
    with pytest.raises(OSError, match="replaced by another file or a link"):
        fix(FixRequest(kernel, set=(("GUEST_VERSION", "x"),)))
    assert precious.read_bytes() == PRECIOUS and (precious.stat().st_mode & 0o777) == 0o600
    assert kernel.is_symlink() and sorted(os.listdir(tmp_path)) == ["precious.txt", "vmlinux"]


def test_a_file_changed_during_the_run_is_not_overwritten(tmp_path, monkeypatch):
    """The lost update: another writer's change is refused, not silently replaced."""
    kernel = _kernel(tmp_path)
    _during_the_run(monkeypatch, lambda: kernel.write_bytes(KERNEL + b"another edit"))
    with pytest.raises(OSError, match="changed while pvhlint worked"):
        fix(FixRequest(kernel, set=(("GUEST_VERSION", "x"),)))
    assert kernel.read_bytes() == KERNEL + b"another edit"


def test_a_second_fix_while_one_holds_the_lock_is_refused(tmp_path):
    kernel = _kernel(tmp_path)
    with open(kernel, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = pvhlint("fix", *SET, kernel)
    _one_line(done, "another pvhlint fix holds its lock")
    assert kernel.read_bytes() == KERNEL
    assert pvhlint("fix", "--dry-run", *SET, kernel).returncode == 0  # a dry run needs no lock


def test_backup_never_follows_a_planted_link(tmp_path):
    kernel, precious = _kernel(tmp_path), _precious(tmp_path)
    (tmp_path / "vmlinux.orig").symlink_to(precious)
    done = pvhlint("fix", "--backup", *SET, kernel)
    _one_line(done, "vmlinux.orig exists already")
    assert precious.read_bytes() == PRECIOUS and (precious.stat().st_mode & 0o777) == 0o600
    assert kernel.read_bytes() == KERNEL


def test_a_second_backup_never_overwrites_the_first(tmp_path):
    kernel = _kernel(tmp_path)
    assert pvhlint("fix", "--backup", *SET, kernel).returncode == 0
    assert (tmp_path / "vmlinux.orig").read_bytes() == KERNEL
    done = pvhlint("fix", "--backup", "--set-note", "GUEST_VERSION=again", kernel)
    _one_line(done, "exists already")
    assert (tmp_path / "vmlinux.orig").read_bytes() == KERNEL


def test_backup_with_the_input_as_output_is_made(tmp_path):
    kernel = _kernel(tmp_path)
    done = pvhlint("fix", "--backup", *SET, "-o", kernel, kernel)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "vmlinux.orig").read_bytes() == KERNEL and kernel.read_bytes() != KERNEL


def test_backup_with_another_output_is_refused(tmp_path):
    kernel = _kernel(tmp_path)
    done = pvhlint("fix", "--backup", *SET, "-o", tmp_path / "out", kernel)
    _one_line(done, "--backup")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["fix", "extract"])
def test_an_output_that_is_a_link_is_refused(tmp_path, command):
    source = _kernel(tmp_path, data=KERNEL if command == "fix" else BZIMAGE)
    precious = _precious(tmp_path)
    out = tmp_path / "out"
    out.symlink_to(precious)
    args = SET if command == "fix" else ()
    done = pvhlint(command, *args, "-o", out, source)
    _one_line(done, "is a symbolic link")
    assert precious.read_bytes() == PRECIOUS


@pytest.mark.parametrize("command", ["fix", "extract"])
def test_replacing_an_existing_output_is_said(tmp_path, command):
    source = _kernel(tmp_path, data=KERNEL if command == "fix" else BZIMAGE)
    out = tmp_path / "out"
    out.write_bytes(b"old")
    args = SET if command == "fix" else ()
    done = pvhlint(command, *args, "-o", out, source)
    assert done.returncode == 0, done.stderr
    assert "replaced the existing file" in done.stdout


def test_a_hard_link_keeping_the_old_bytes_is_said(tmp_path):
    kernel = _kernel(tmp_path)
    os.link(kernel, tmp_path / "other-name")
    done = pvhlint("fix", *SET, kernel)
    assert done.returncode == 0, done.stderr
    assert "1 other hard link(s) keep the old bytes" in done.stdout
    assert (tmp_path / "other-name").read_bytes() == KERNEL


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"), reason="needs root, chattr")
def test_an_immutable_file_is_reported_as_such(tmp_path):
    kernel = _kernel(tmp_path)
    if subprocess.run(["chattr", "+i", kernel], capture_output=True).returncode:
        pytest.skip("this filesystem has no immutable attribute")
    try:
        done = pvhlint("fix", *SET, kernel)
    finally:
        subprocess.run(["chattr", "-i", kernel], check=True)
    _one_line(done, "immutable")
    assert "mode 0644" not in done.stderr and kernel.read_bytes() == KERNEL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_kill_during_the_write_leaves_no_temporary_file(tmp_path, signum):
    """Issue 16 item 5: SIGTERM around the write left `.vmlinux.*.pvhlint`, image-sized."""
    kernel = _kernel(tmp_path)
    script = f"""
import os, sys
real = os.write
def write(fd, data):
    os.write = real
    os.kill(os.getpid(), {int(signum)})  # the first write of the new file
    return real(fd, data)
os.write = write
from pvhlint.cli import app
sys.argv = ["pvhlint", "fix", "--set-note", "GUEST_VERSION=killed", {str(kernel)!r}]
app()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, preexec_fn=default_sigint)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert os.listdir(tmp_path) == ["vmlinux"] and kernel.read_bytes() == KERNEL


def test_a_stale_temporary_file_is_named_and_removed(tmp_path):
    kernel = _kernel(tmp_path)
    stale = tmp_path / ".vmlinux.0123abcd.pvhlint"
    stale.write_bytes(KERNEL)
    done = pvhlint("fix", "--dry-run", *SET, kernel)
    assert "left .vmlinux.0123abcd.pvhlint: a temporary file of an interrupted" in done.stdout
    assert stale.exists()
    done = pvhlint("fix", *SET, kernel)
    assert done.returncode == 0 and "removed .vmlinux.0123abcd.pvhlint" in done.stdout
    assert sorted(os.listdir(tmp_path)) == ["vmlinux"]


def _acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL as the kernel stores it in system.posix_acl_access (version 2)."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


def test_extended_attributes_and_acls_are_kept(tmp_path):
    """Issue 16 item 4: an in-place fix dropped user.* attributes, labels and ACLs."""
    kernel = _kernel(tmp_path)
    kernel.chmod(0o640)
    os.setxattr(kernel, "user.pvhlint-test", b"keep me")
    acl = _acl((1, 6, 0xFFFFFFFF), (2, 4, 65534), (4, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
               (0x20, 0, 0xFFFFFFFF))  # fmt: skip
    try:
        os.setxattr(kernel, "system.posix_acl_access", acl)
    except OSError:
        acl = b""  # no ACLs on this filesystem: the user attribute still counts
    done = pvhlint("fix", *SET, kernel)
    assert done.returncode == 0, done.stderr
    assert kernel.read_bytes() != KERNEL
    assert os.getxattr(kernel, "user.pvhlint-test") == b"keep me"
    if acl:
        assert os.getxattr(kernel, "system.posix_acl_access") == acl


def test_dry_run_wording_and_string_values(tmp_path):
    """Issue 16 item 8: a dry run said "removed"; a set string showed as raw hex."""
    kernel = _kernel(tmp_path)
    done = pvhlint("fix", "--dry-run", "--set-note", "GUEST_VERSION=6.1-test", kernel)
    assert done.returncode == 0, done.stderr
    assert "would add XEN_ELFNOTE_GUEST_VERSION (7) = '6.1-test'" in done.stdout
    done = pvhlint("fix", "--dry-run", "--drop-note", "GUEST_OS", kernel)
    assert "would remove XEN_ELFNOTE_GUEST_OS" in done.stdout and "removed" not in done.stdout


def test_a_bzimage_fix_reports_file_and_payload_bytes_apart(tmp_path):
    kernel = _kernel(tmp_path, data=BZIMAGE)
    done = pvhlint("fix", "--dry-run", "--drop-obsolete-notes", kernel)
    assert done.returncode == 0, done.stderr
    assert "kernel bytes touched (decompressed payload):" in done.stdout
    assert "file bytes rewritten: the " in done.stdout and "payload slot at" in done.stdout


def test_extract_to_standard_output(tmp_path):
    source = _kernel(tmp_path, data=BZIMAGE)
    done = subprocess.run([sys.executable, "-m", "pvhlint", "extract", str(source), "-o", "-"],
                          capture_output=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\x7fELF") and not (tmp_path / "-").exists()
