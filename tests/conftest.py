"""Shared test setup: the real-world tier's Debian images (see tests/realimages.py), the
verdict comparison's end-of-session report (see tests/verdict_table.py), and the robustness
sweeps' counts (see tests/fuzzlib.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.realimages import real_image


def as_unprivileged(command: list[str]) -> list[str]:
    """`command` run as nobody when the tests run as root (root reads every file whatever
    its mode). Skips when nobody cannot import this Python's packages: they live under
    /root (a Python outside a virtual environment there, e.g. pyenv's)."""
    if os.geteuid() != 0:
        return command
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*nobody, sys.executable, "-c", "import typer, rich"],
                           capture_output=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip("user nobody cannot import this Python's packages (run in a virtualenv)")
    return [*nobody, *command]


@pytest.fixture(scope="session")
def debian_image() -> Callable[[str], Path]:
    """debian_image("amd64") -> path of Debian's current amd64 bzImage, fetched on first use."""
    return real_image


def pytest_terminal_summary(terminalreporter, config) -> None:  # type: ignore[no-untyped-def]
    """After tests that compared pvhlint's verdicts with the real loaders: the mismatch matrix,
    and where the full table (both sides, every image compared) was written."""
    module = sys.modules.get("tests.verdict_table")
    if module is not None:
        module.summary(terminalreporter, config)
    fuzz = sys.modules.get("tests.fuzzlib")
    if fuzz is not None and fuzz.STATS:
        terminalreporter.write_sep("-", "robustness: cases run and the longest single case")
        for tally in fuzz.STATS.values():
            terminalreporter.write_line(tally.line())


@pytest.fixture(autouse=True, scope="session")
def _no_result_cache() -> Iterator[None]:
    """Every command the tests run computes its answer: a cached one would skip the code a
    test means to run (tests/test_result_cache.py turns the cache on where it is tested)."""
    os.environ["PVHLINT_NO_CACHE"] = "1"
    yield
    os.environ.pop("PVHLINT_NO_CACHE", None)


def default_sigint() -> None:
    """preexec_fn for a child a test interrupts: SIGINT back to its default. A shell starts
    background jobs with SIGINT ignored, children inherit that, and Python then installs no
    KeyboardInterrupt handler, so a test run from such a job would never see Ctrl-C work."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
