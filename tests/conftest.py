"""Shared test setup: the real-world tier's Debian images (see tests/realimages.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.realimages import real_image


@pytest.fixture(scope="session")
def debian_image() -> Callable[[str], Path]:
    """debian_image("amd64") -> path of Debian's current amd64 bzImage, fetched on first use."""
    return real_image
