"""Harnesses that run the real boot loaders (QEMU, libxenguest, grub-file) on an image.

Each returns a ``LoaderVerdict``; see the submodules for what was observed with Debian 12's
QEMU 7.2.22, libxenguest 4.17 and grub-file 2.06. ``release=Release.DEBIAN13`` runs Debian 13's
QEMU 10.0, libxenguest 4.20 and GRUB 2.12 instead, in a chroot (``tests.loaders.trixie_root``).
"""

from .grub import grub_available, grub_file, grub_verdict
from .pvh_kernel import ElfNote, build_pvh_kernel, qemu_exit_status
from .qemu import BootResult, qemu_available, qemu_boot, qemu_verdict
from .releases import LOADER_VERSIONS, Release, ReleaseUnavailable
from .verdict import LoaderVerdict
from .xenguest import XenguestUnavailable, found_pvh, xen_verdict, xenguest_available

__all__ = [
    "LOADER_VERSIONS",
    "BootResult",
    "ElfNote",
    "LoaderVerdict",
    "Release",
    "ReleaseUnavailable",
    "XenguestUnavailable",
    "build_pvh_kernel",
    "found_pvh",
    "grub_available",
    "grub_file",
    "grub_verdict",
    "qemu_available",
    "qemu_boot",
    "qemu_exit_status",
    "qemu_verdict",
    "xen_verdict",
    "xenguest_available",
]
