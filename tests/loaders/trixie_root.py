"""A Debian 13 (trixie) chroot that runs Debian 13's real loaders on this (Debian 12) machine.

``debootstrap --variant=minbase trixie`` plus QEMU 10.0, GRUB 2.12 (grub-common, grub-pc-bin),
Xen 4.20's libxenguest (libxen-dev, libxenmisc4.20), gcc and pkg-config, from the same Debian
archive that apt-get uses. It lives in $PVHLINT_CACHE/trixie-root (default
~/.cache/pvhlint/trixie-root) and is built only when missing: in a temporary directory beside
it, renamed into place when complete, under an exclusive lock file, so two test runs starting
at once build it once and never see half a root.

    python -m tests.loaders.trixie_root          # build it if missing, print its path
    python -m tests.loaders.trixie_root --check  # exit 1 (and say why) if it is not built

Building needs root (debootstrap, chroot) and the Debian archive.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUITE = "trixie"
MIRROR = os.environ.get("PVHLINT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = (
    "qemu-system-x86",
    "grub-common",
    "grub-pc-bin",
    "libxen-dev",
    "libxenmisc4.20",
    "gcc",
    "libc6-dev",
    "pkg-config",
)
DONE = ".pvhlint-complete"  # written last: its presence means the root is usable
VERSIONS = ".pvhlint-versions"  # `dpkg-query` of PACKAGES, for reports
BUILD_TIMEOUT = 1800.0


class TrixieRootError(RuntimeError):
    """The chroot is missing and cannot be built (no root, no debootstrap, no network)."""


def cache_base() -> Path:
    return Path(os.environ.get("PVHLINT_CACHE") or Path.home() / ".cache" / "pvhlint")


def root_dir() -> Path:
    return cache_base() / f"{SUITE}-root"


def is_built(root: Path | None = None) -> bool:
    return ((root or root_dir()) / DONE).is_file()


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second builder waits here for the first
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], what: str, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        try:
            proc = subprocess.run(
                args, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, check=False
            )
        except FileNotFoundError:
            raise TrixieRootError(f"{args[0]} is not installed ({what})") from None
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-8:]
        raise TrixieRootError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def _install(tmp: Path, log: Path) -> None:
    """debootstrap, then apt-get inside the new root (no recommends: only what runs the tools)."""
    _run(
        ["debootstrap", "--variant=minbase", SUITE, str(tmp), MIRROR],
        f"debootstrap {SUITE} from {MIRROR}",
        log,
    )
    env = ["env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
    apt = ["apt-get", "-q", "-y", "-o", "APT::Install-Recommends=false"]
    _run(["chroot", str(tmp), *env, *apt, "install", *PACKAGES], "apt-get install", log)
    _run(["chroot", str(tmp), *env, "apt-get", "clean"], "apt-get clean", log)
    query = subprocess.run(
        ["chroot", str(tmp), "dpkg-query", "-W", *PACKAGES],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (tmp / VERSIONS).write_text(query.stdout)
    (tmp / DONE).write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))


def _remove_stale(base: Path) -> None:
    """Half-built roots of an interrupted build (we hold the lock, so nobody builds them)."""
    for stale in base.glob(f".{SUITE}-root.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def ensure(verbose: bool = False) -> Path:
    """The chroot's path, building it first when missing; raise TrixieRootError if that fails."""
    root = root_dir()
    if is_built(root):
        return root
    if os.geteuid() != 0:
        raise TrixieRootError(f"{root} is missing and building it needs root (debootstrap)")
    base = root.parent
    with _locked(base / f"{SUITE}-root.lock"):
        if is_built(root):  # built by the run we waited for
            return root
        _remove_stale(base)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=f".{SUITE}-root.tmp-"))
        log = base / f"{SUITE}-root.log"
        log.write_text("")
        if verbose:
            print(f"building the Debian 13 chroot in {tmp} (log: {log})", file=sys.stderr)
        try:
            _install(tmp, log)
            if root.exists():  # an incomplete root left by someone else: replace it
                shutil.rmtree(root)
            tmp.rename(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def versions(root: Path | None = None) -> dict[str, str]:
    """package -> version installed in the chroot."""
    text = ((root or root_dir()) / VERSIONS).read_text()
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if is_built():
            print(root_dir())
            return 0
        print(f"{root_dir()} is not built", file=sys.stderr)
        return 1
    start, reused = time.monotonic(), is_built()
    try:
        root = ensure(verbose=True)
    except TrixieRootError as exc:
        print(f"tests.loaders.trixie_root: {exc}", file=sys.stderr)
        return 2
    print(root)
    how = "reused" if reused else f"ready in {time.monotonic() - start:.0f} s"
    print(f"Debian 13 chroot {how}: {root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
