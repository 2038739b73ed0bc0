"""One module per real loader, each modelling the loader's checks in its own order, from
the image model (never from bytes): `xen` (libxenguest and libelf), `qemu` (`-kernel`),
`grub` (its Multiboot 1, Multiboot 2 and Linux commands), `rust_vmm` (linux-loader).
Each has an error enum and `run(image) -> Outcome`, which walks its checks in the loader's
order (`outcome.walk`); `common` holds what they share.
"""

from __future__ import annotations

from ..model import Image
from .common import cached_fact
from .outcome import ErrorCode, LoaderError, Outcome


@cached_fact("outcomes")
def run_all(image: Image) -> tuple[Outcome, ...]:
    """Every loader model's run over `image`, once per image."""
    from . import grub, qemu, rust_vmm, xen

    return tuple(module.run(image) for module in (xen, qemu, grub, rust_vmm))


@cached_fact("loader-errors")
def loader_errors(image: Image) -> tuple[LoaderError, ...]:
    """Every loader's errors, loader by loader, each in its loader's order."""
    return tuple(error for outcome in run_all(image) for error in outcome.errors)


@cached_fact("errors-by-code")
def errors_by_code(image: Image) -> dict[ErrorCode, list[LoaderError]]:
    """The same errors by code (rules ask for theirs)."""
    found: dict[ErrorCode, list[LoaderError]] = {}
    for error in loader_errors(image):
        found.setdefault(error.code, []).append(error)
    return found
