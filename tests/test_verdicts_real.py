"""pvhlint's verdict per boot target equals the real loader's, on every fixture, every variant
and Debian's own images. What is compared to what: tests/verdict_table.py.

A test per (image, target), so a failure names the rule that is missing or wrong. The real
loaders run once per image content per session, concurrently (~3 s for the synthetic images).
At the end of the session the mismatch matrix is printed and the full table written to the
pytest cache (conftest.py's pytest_terminal_summary); `python -m tests.verdict_table` prints it
without pytest. docs/verdicts.md is a snapshot made that way, not checked here: it changes
whenever a rule lands or Debian updates a kernel.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from fixtures import debian, uki
from fixtures.compressors import missing_tools
from tests import verdict_table as vt
from tests.loaders import found_pvh, qemu_available, qemu_boot, xen_verdict, xenguest_available

if missing_tools():  # the catalogue's bzImages are built with the kernel compressors
    pytest.skip(f"compressor CLI missing: {', '.join(missing_tools())}", allow_module_level=True)

SYNTHETIC = list(vt.synthetic_images())
TARGETS = vt.COMPARED


@pytest.fixture(scope="session")
def synthetic_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vt.write_synthetic(tmp_path_factory.mktemp("verdict-images"))


@pytest.fixture(scope="session")
def prefetched(synthetic_paths: dict[str, Path], request: pytest.FixtureRequest) -> None:
    """Ask the real loaders about every synthetic image this session compares, all at once."""
    here = Path(__file__)
    wanted = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.path == here
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("name") in synthetic_paths
    }
    vt.prefetch(synthetic_paths[name] for name in sorted(wanted))


def _check(row: vt.Row, target: str) -> None:
    outcome = row.outcome(target)
    if outcome.status == "missing":
        pytest.skip(outcome.note)
    if outcome.status == "mismatch":
        pytest.fail(row.explain(target), pytrace=False)


@pytest.mark.usefixtures("prefetched")
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", SYNTHETIC)
def test_verdict_matches_real_loader(name: str, target: str, synthetic_paths) -> None:
    _check(vt.row(name, synthetic_paths[name]), target)


def _debian_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "verdict-debian"


@pytest.fixture(scope="session")
def debian_prefetched(tmp_path_factory: pytest.TempPathFactory, request) -> None:
    """Fetch the Debian images this session compares and ask the real loaders about them all
    at once (a missing image is left to its test, which skips or fails as realimages says)."""
    here = Path(__file__)
    wanted = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.path == here
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("name") in vt.DEBIAN_ROWS
    }
    paths = []
    for name in sorted(wanted):
        with contextlib.suppress(debian.FetchError, uki.BuildError):
            paths.append(vt.debian_path(name, debian.image, _debian_directory(tmp_path_factory)))
    vt.prefetch(paths)


@pytest.mark.realworld
@pytest.mark.usefixtures("debian_prefetched")
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", vt.DEBIAN_ROWS)
def test_debian_verdict_matches_real_loader(name, target, debian_image, tmp_path_factory) -> None:
    path = vt.debian_path(name, debian_image, _debian_directory(tmp_path_factory))
    _check(vt.row(name, path, vt.real_loaders_file(name, debian_image)), target)


# --- the harness itself ---------------------------------------------------------------------


@pytest.mark.usefixtures("prefetched")
@pytest.mark.parametrize("name", SYNTHETIC)
def test_grub_detection_matches_grub_file(name: str, synthetic_paths) -> None:
    """pvhlint's detection-level facts (the multiboot rules' starting point) answer exactly
    grub-file's question on every image, whatever the loader-level verdicts say."""
    row = vt.row(name, synthetic_paths[name])
    if row.error is not None:
        pytest.skip(f"pvhlint cannot read it: {row.error}")
    for target in ("multiboot1", "multiboot2"):
        if target not in row.real:
            pytest.skip("grub-file not installed")
        assert row.detected[target] == row.real[target].accept, (target, row.real[target])


def test_compare_rules() -> None:
    ok = vt.Real(True, "pvh", "pvh")
    assert vt.compare("x", "qemu", vt.Ours(True, "pvh"), ok, {}).status == "match"
    assert vt.compare("x", "qemu", vt.Ours(True, "multiboot"), ok, {}).status == "mismatch"
    assert vt.compare("x", "qemu", vt.Ours(False), vt.Real(False, "crash"), {}).status == "match"
    assert vt.compare("x", "xen-pv", None, vt.Real(False, "no"), {}).status == "mismatch"
    assert vt.compare("x", "linux", vt.Ours(True), None, {}).status == "missing"
    pair = next(iter(vt.GRUB_LOADER_ONLY))
    grub_yes = vt.Real(True, "grub-file --is-x86-multiboot2: yes")
    outcome = vt.compare(*pair, vt.Ours(False), grub_yes, {pair[1]: True})
    assert outcome.status == "match" and outcome.note


def test_variants_are_deterministic() -> None:
    from fixtures import variants as module

    first = {name: v.data for name, v in module.variants().items()}
    module._variants.cache_clear()
    assert {name: v.data for name, v in module.variants().items()} == first
    assert len(set(first.values())) == len(first)


def test_decoy_variant_splits_the_readers(synthetic_paths) -> None:
    """The decoy really is what its description says: QEMU (padding to 8) enters at the forged
    PHYS32_ENTRY, while libelf (padding to 4) reads the real one."""
    path = synthetic_paths["pvh64-gnu-property-decoy"]
    if not qemu_available() or not xenguest_available():
        pytest.skip("needs qemu-system-x86_64 and libxenguest")
    result = qemu_boot(path, timeout=10)
    assert (result.debugcon, result.exit_status) == (b"pad-8 reader\n", 33)
    xen = xen_verdict(path, "pvh")
    assert found_pvh(xen) and "xc: detail: ELF: note: PHYS32_ENTRY = 0x100000" in xen.detail
