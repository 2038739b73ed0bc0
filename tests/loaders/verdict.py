"""The result type shared by every loader harness."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoaderVerdict:
    """What a real boot loader said about one image.

    loader:      which harness produced it: "qemu", "xen-pvh", "xen-pv" or "grub-file".
    accept:      True when the loader took the image.
    path:        which way the loader took it. QEMU: "linux", "multiboot" or "pvh" (from the
                 option ROM it installed). libxenguest: the loader that probed OK,
                 "multiboot-binary", "hvm-generic", "bzimage" or "elf". grub-file: the kind
                 that was asked for. None when rejected or unknown.
    message:     the one line that explains the verdict (an error text, "Found PVH image", …).
    detail:      the whole raw log (stderr, monitor output) for debugging.
    exit_status: the tool's exit status (negative = killed by that signal), if it exited.
    guest_type:  libxenguest guest type ("hvm-3.0-x86_32", "xen-3.0-x86_64", …), if any.
    key_lines:   the log lines the verdict was derived from, verbatim.
    """

    loader: str
    accept: bool
    path: str | None = None
    message: str = ""
    detail: str = ""
    exit_status: int | None = None
    guest_type: str | None = None
    key_lines: tuple[str, ...] = ()
