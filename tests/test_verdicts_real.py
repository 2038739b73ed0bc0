"""pvhlint's verdict per boot target equals the real loader's, on every fixture, every variant
and Debian 12's and 13's own images, through both releases' loaders (Debian 12's against the
debian12 profile, Debian 13's against debian13). What is compared to what:
tests/verdict_table.py.

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
from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from tests import verdict_table as vt
from tests.loaders import (
    Release,
    found_pvh,
    qemu_available,
    qemu_boot,
    xen_verdict,
    xenguest_available,
)
from tests.loaders.grub_boot import grub_load_verdict
from tests.loaders.releases import available
from tests.realimages import debian13_root

if missing_tools():  # the catalogue's bzImages are built with the kernel compressors
    pytest.skip(f"compressor CLI missing: {', '.join(missing_tools())}", allow_module_level=True)

SYNTHETIC = list(vt.synthetic_images())
TARGETS = vt.COMPARED
RELEASES = [pytest.param(release, id=str(release)) for release in vt.RELEASES]


def _release_available(release: Release) -> None:
    """Debian 13's chroot is built when missing; without it the test skips (fails under CI)."""
    if release is Release.DEBIAN13:
        debian13_root()


@pytest.fixture(scope="session")
def synthetic_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vt.write_synthetic(tmp_path_factory.mktemp("verdict-images"))


@pytest.fixture(scope="session")
def prefetched(synthetic_paths: dict[str, Path], request: pytest.FixtureRequest) -> None:
    """Ask the real loaders about every synthetic image this session compares, all at once."""
    here = Path(__file__)
    wanted: dict[Release, set[str]] = {}
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.path == here and params.get("name") in synthetic_paths:
            release = params.get("release", Release.DEBIAN12)
            wanted.setdefault(release, set()).add(params["name"])
    for release, names in wanted.items():
        if available(release):
            vt.prefetch((synthetic_paths[name] for name in sorted(names)), release=release)


def _check(row: vt.Row, target: str) -> None:
    outcome = row.outcome(target)
    if outcome.status == "missing":
        pytest.skip(outcome.note)
    if outcome.status == "mismatch":
        pytest.fail(row.explain(target), pytrace=False)


@pytest.mark.usefixtures("prefetched")
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", SYNTHETIC)
def test_verdict_matches_real_loader(name: str, target: str, release, synthetic_paths) -> None:
    _release_available(release)
    _check(vt.row(name, synthetic_paths[name], release=release), target)


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
            kernel = vt.real_loaders_file(name, debian.image)
            if kernel is not None:
                paths.append(kernel)
    for release in vt.RELEASES:
        if available(release):
            vt.prefetch(paths, release=release)


@pytest.mark.realworld
@pytest.mark.usefixtures("debian_prefetched")
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", vt.DEBIAN_ROWS)
def test_debian_verdict_matches_real_loader(
    name, target, release, debian_image, tmp_path_factory
) -> None:
    _release_available(release)
    path = vt.debian_path(name, debian_image, _debian_directory(tmp_path_factory))
    _check(vt.row(name, path, vt.real_loaders_file(name, debian_image), release), target)


GRUB_COMMANDS = {"multiboot1": "multiboot", "multiboot2": "multiboot2"}
# The booted GRUB loads gzio and xzio as grub-mkconfig does, not lzopio: it finds no header in
# an lzop file (grub-file, which reads through lzopio, does).
BOOTED = sorted(pair for pair in vt.GRUB_212_LOADER_ONLY if pair[0] != "mb-elf-lzop")


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize(("name", "target"), BOOTED)
def test_grub_loader_section_header_check(name, target, release, synthetic_paths) -> None:
    """Where grub-file cannot tell (GRUB_212_LOADER_ONLY), GRUB's own loader, booted in QEMU,
    answers as pvhlint's profile for the release says: 2.06 loads, 2.12 refuses."""
    _release_available(release)
    path = synthetic_paths[name]
    real = grub_load_verdict(path, GRUB_COMMANDS[target], release=release)
    result = check_image(open_image(path), Options(loaders=vt.PROFILE_OF[release]))
    assert result.verdicts[target].accept == real.accept, (real.message, result.verdicts[target])
    if not real.accept:
        assert "section header table" in (real.message or ""), real.message


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
    undefined = vt.Ours(False, rules=("mb1-address-fields",), undefined=True)
    assert vt.compare("x", "qemu", undefined, ok, {}).status == "undefined"
    assert vt.compare("x", "qemu", vt.Ours(False), vt.Real(False, "crash"), {}).status == "match"
    assert vt.compare("x", "xen-pv", None, vt.Real(False, "no"), {}).status == "mismatch"
    assert vt.compare("x", "linux", vt.Ours(True), None, {}).status == "missing"
    pair = next(iter(vt.GRUB_LOADER_ONLY))
    grub_yes = vt.Real(True, "grub-file --is-x86-multiboot2: yes")
    outcome = vt.compare(*pair, vt.Ours(False), grub_yes, {pair[1]: True})
    assert outcome.status == "match" and outcome.note
    # GRUB 2.12's section header check: detection level with Debian 13's GRUB only.
    pair = next(iter(vt.GRUB_212_LOADER_ONLY))
    new = vt.compare(*pair, vt.Ours(False), grub_yes, {pair[1]: True}, Release.DEBIAN13)
    assert new.status == "match" and new.note
    old = vt.compare(*pair, vt.Ours(False), grub_yes, {pair[1]: True}, Release.DEBIAN12)
    assert old.status == "mismatch"


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
