"""Real Debian images, and the Debian 13 loaders' chroot, for tests: skip when the archive is
unreachable, fail under CI."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from fixtures import debian
from tests.loaders import trixie_root


def required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PVHLINT_REQUIRE_REALWORLD") == "1"


def real_image(name: str, release: str = "debian12") -> Path:
    """Path of a real image by its fixtures.debian name (with release "debian13", Debian 12's
    short name for the Debian 13 image), fetched on first use."""
    try:
        return debian.image(name, release)
    except debian.FetchError as exc:
        if required():
            pytest.fail(f"real-world image {name} unavailable: {exc}")
        pytest.skip(f"real-world image {name} unavailable: {exc}")


@functools.cache
def _debian13_root() -> Path | str:
    """The chroot's path, or why it cannot be built (tried once per process)."""
    try:
        return trixie_root.ensure()
    except trixie_root.TrixieRootError as exc:
        return str(exc)


def debian13_root() -> Path:
    """The Debian 13 loaders' chroot (built when missing); skip, or fail under CI, without it."""
    root = _debian13_root()
    if isinstance(root, Path):
        return root
    if required():
        pytest.fail(f"Debian 13 chroot unavailable: {root}")
    pytest.skip(f"Debian 13 chroot unavailable: {root}")
