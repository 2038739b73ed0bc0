"""``grub-file --is-…`` as a loader verdict (GRUB 2.06, Debian 12 ``grub-common``).

grub-file is silent: exit status 0 means yes, 1 means no. It opens the file with transparent
gzip/xz/lzop decompression, so ``xen-4.17-amd64.gz`` is a multiboot kernel to it. The multiboot
checks look only at magic and checksum (not flags, architecture or tags). A call takes ~5 ms;
``--is-x86-xen-dom0`` on the xz Debian kernel takes ~0.45 s (it unpacks the payload).
``release="debian13"`` runs Debian 13's grub-file 2.12 in the chroot of
``tests.loaders.trixie_root``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .releases import DEFAULT_RELEASE, Release, available, runner
from .verdict import LoaderVerdict

KINDS = (
    "x86-multiboot",
    "x86-multiboot2",
    "x86-linux",
    "x86-linux32",
    "x86-xen-dom0",
    "i386-xen-pae-domu",
    "x86_64-xen-domu",
)


def grub_available(release: Release | str = DEFAULT_RELEASE) -> bool:
    """True when grub-file is on PATH (in the release's root for Debian 13)."""
    if Release(release) is DEFAULT_RELEASE:
        return shutil.which("grub-file") is not None
    return available(release) and runner(release).which("grub-file")


def _option(kind: str) -> str:
    name = kind.removeprefix("--").removeprefix("is-")
    if name not in KINDS:
        raise ValueError(f"unknown grub-file kind {kind!r}; expected one of {KINDS}")
    return f"--is-{name}"


def grub_verdict(
    path: str | Path,
    kind: str,
    *,
    timeout: float = 30.0,
    release: Release | str = DEFAULT_RELEASE,
) -> LoaderVerdict:
    """Run ``grub-file --is-<kind> path``; ``path`` of the verdict is the option used."""
    option = _option(kind)
    if not Path(path).is_file():
        raise FileNotFoundError(path)  # grub-file would just answer "no" (exit 1)
    run = runner(release)
    with run.visible(path) as seen:
        proc = subprocess.run(
            run.command(["grub-file", option, seen]),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grub-file failed ({proc.returncode}): {proc.stderr.strip()}")
    accept = proc.returncode == 0
    message = f"{option}: {'yes' if accept else 'no'}"
    return LoaderVerdict("grub-file", accept, option, message, proc.stderr, proc.returncode)


def grub_file(path: str | Path, kind: str, release: Release | str = DEFAULT_RELEASE) -> bool:
    """True when ``grub-file --is-<kind>`` says yes. ``kind`` may be given with or without
    the ``--is-`` prefix, e.g. "x86-multiboot" or "--is-x86-multiboot"."""
    return grub_verdict(path, kind, release=release).accept
