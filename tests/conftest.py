"""Shared test setup: the real-world tier's Debian images.

Real-world tests skip when the Debian archive cannot be reached, except under CI
(CI=true) or PVHLINT_REQUIRE_REALWORLD=1, where a missing image is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import debian


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PVHLINT_REQUIRE_REALWORLD") == "1"


@pytest.fixture(scope="session")
def debian_image() -> Callable[[str], Path]:
    """debian_image("amd64") -> path of Debian's current amd64 bzImage, fetched on first use."""

    def get(name: str) -> Path:
        try:
            return debian.image(name)
        except debian.FetchError as exc:
            if _required():
                pytest.fail(f"real-world image {name} unavailable: {exc}")
            pytest.skip(f"real-world image {name} unavailable: {exc}")

    return get
