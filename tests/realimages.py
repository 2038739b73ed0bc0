"""Real Debian images for tests: skip when the archive is unreachable, fail under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures import debian


def required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PVHLINT_REQUIRE_REALWORLD") == "1"


def real_image(name: str) -> Path:
    """Path of a real image by its fixtures.debian name, fetched on first use."""
    try:
        return debian.image(name)
    except debian.FetchError as exc:
        if required():
            pytest.fail(f"real-world image {name} unavailable: {exc}")
        pytest.skip(f"real-world image {name} unavailable: {exc}")
