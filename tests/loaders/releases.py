"""Which Debian release's loaders a harness runs: Debian 12's on this machine, Debian 13's in
the chroot of ``tests.loaders.trixie_root``.

A ``Runner`` turns a command line into one that runs in the release's root and makes files
visible there: on the host it changes nothing (Debian 12 callers see exactly the commands
they always did); in the chroot the command is prefixed with ``chroot ROOT`` and each image is
hard-linked (or copied) into a private directory under ROOT/tmp for the duration of the call.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pvhlint.profiles import PROFILES, Loader, Profile


class Release(StrEnum):
    DEBIAN12 = "debian12"
    DEBIAN13 = "debian13"


DEFAULT_RELEASE = Release.DEBIAN12
# Upstream versions of the loaders each release ships: pvhlint's profile of the same name
# (pvhlint/profiles.py), checked against the installed packages by
# tests/test_loader_releases.py.
LOADER_VERSIONS: dict[Release, dict[str, str]] = {
    release: {
        "qemu": PROFILES[Profile(release)][Loader.QEMU],
        "xen": PROFILES[Profile(release)][Loader.XEN],
        "grub": PROFILES[Profile(release)][Loader.GRUB],
    }
    for release in Release
}


class ReleaseUnavailable(RuntimeError):
    """The release's loaders cannot run here (its chroot is not built)."""


@dataclass(frozen=True)
class Runner:
    """Runs a release's programs. ``root`` None: this machine's own programs."""

    release: Release
    root: Path | None = None

    def command(self, argv: list[str]) -> list[str]:
        return argv if self.root is None else ["chroot", str(self.root), *argv]

    def host_path(self, path: str | Path) -> Path:
        """Where an absolute path of the release's file system is on this machine."""
        return Path(path) if self.root is None else self.root / str(path).lstrip("/")

    def which(self, program: str) -> bool:
        """True when ``program`` is installed in the release's /usr/bin (or on PATH, host)."""
        if self.root is None:
            return shutil.which(program) is not None
        return any((self.root / d / program).is_file() for d in ("usr/bin", "usr/sbin", "bin"))

    @contextmanager
    def scratch(self, prefix: str) -> Iterator[tuple[Path, str]]:
        """A fresh temporary directory: (its path here, its path as the release's programs
        see it). Removed afterwards."""
        base = None if self.root is None else self.root / "tmp"
        with tempfile.TemporaryDirectory(prefix=prefix, dir=base) as tmp:
            yield Path(tmp), self.inside(tmp)

    def inside(self, host_path: str | Path) -> str:
        """The path the release's programs see for ``host_path`` (which must be in the root)."""
        if self.root is None:
            return str(host_path)
        return "/" + str(Path(host_path).relative_to(self.root))

    @contextmanager
    def visible(self, path: str | Path) -> Iterator[str]:
        """``path`` as the release's programs can open it, under the same file name."""
        if self.root is None:
            yield str(path)
            return
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(path)
        with self.scratch("pvhlint-image-") as (here, there):
            try:
                os.link(source, here / source.name)
            except OSError:  # another file system, or not ours to link
                shutil.copyfile(source, here / source.name)
            yield f"{there}/{source.name}"


HOST = Runner(Release.DEBIAN12)


def runner(release: Release | str = DEFAULT_RELEASE) -> Runner:
    """The Runner for ``release``; raise ReleaseUnavailable when its chroot is not built."""
    release = Release(release)
    if release is Release.DEBIAN12:
        return HOST
    from . import trixie_root  # not at import: `python -m tests.loaders.trixie_root` runs it

    root = trixie_root.root_dir()
    if not trixie_root.is_built(root):
        raise ReleaseUnavailable(
            f"Debian 13 chroot {root} is not built (python -m tests.loaders.trixie_root)"
        )
    return Runner(release, root)


def available(release: Release | str) -> bool:
    try:
        runner(release)
    except ReleaseUnavailable:
        return False
    return True
