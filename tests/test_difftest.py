"""Differential testing in the suite (tests/difftest.py): a seeded batch of structured mutants
through the real loaders and pvhlint, and the registry of mismatches found so far
(tests/difftest_cases.py), each rebuilt from its recipe and run through both sides again.

A mismatch in the batch whose class is not in the registry fails the batch test with the list;
a registered mismatch is an xfail (strict=False) until the model agrees with the loader.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fixtures.compressors import missing_tools
from tests import difftest as dt
from tests import verdict_table as vt
from tests.difftest_cases import CASES, FIXED, UNDEFINED, Case
from tests.loaders.releases import Release

if missing_tools():  # the catalogue's bzImages are built with the kernel compressors
    pytest.skip(f"compressor CLI missing: {', '.join(missing_tools())}", allow_module_level=True)

CI_SEED = 12
CI_COUNT = 300


def _need_loaders(release: Release = Release.DEBIAN12) -> None:
    missing = set(vt.COMPARED) - dt._available(release)
    if missing:
        pytest.skip(f"{release} loaders missing here: {', '.join(sorted(missing))}")


# --- the generator ------------------------------------------------------------------------------


def test_recipes_are_reproducible() -> None:
    parents = dt.default_parents(False)
    first = dt.generate(CI_SEED, 60, parents)
    again = dt.generate(CI_SEED, 60, parents)
    assert first == again
    digests = [hashlib.sha256(recipe.build()).hexdigest() for recipe in first]
    assert digests == [hashlib.sha256(recipe.build()).hexdigest() for recipe in again]
    assert len(set(digests)) > 50, "the mutants are mostly distinct images"


def test_batch_covers_every_kind_of_edit() -> None:
    """The CI batch mutates every structure the issue names, not just a few."""
    labels = " ".join(
        edit.label for recipe in dt.generate(CI_SEED, CI_COUNT, dt.default_parents(False))
        for edit in recipe.edits
    )  # fmt: skip
    for needle in ("e_ident[EI_CLASS]", "e_machine", "e_phoff", "e_phnum", "e_phentsize",
                   "e_entry", "p_align", "p_filesz", "p_paddr", ".namesz", ".descsz", ".type",
                   "PHYS32_ENTRY", "mb1.", "mb2.", "bin.", "setup.version", "setup.setup_sects",
                   "setup.payload_length", "payload.size_trailer", "payload.codec",
                   "file.length", "file.wrapper"):  # fmt: skip
        assert needle in labels, needle


def test_layout_agrees_with_the_fixture_builders() -> None:
    """This module's own parsers find what the fixture generators say they wrote."""
    from fixtures.catalogue import catalogue

    for name, fixture in catalogue().items():
        expect, lay = fixture.expect, dt.layout(fixture.data)
        if expect["format"] in ("elf32", "elf64"):
            assert lay.elf_wide == (expect["format"] == "elf64"), name
            assert lay.header[3].value == expect["elf"]["phoff"], name
            assert len(lay.phdrs) == len(expect["elf"]["phdrs"]), name
            in_phdr = [n["offset"] for n in expect["notes"]
                       if expect["elf"]["note_areas"][n["area"]]["in_phdr"]]  # fmt: skip
            assert [note.offset for note in lay.notes][: len(in_phdr)] == in_phdr, name
        if expect["format"] != "gzip" and any(mb1["in_window"] for mb1 in expect["mb1"]):
            assert lay.mb1 == expect["mb1"][0]["offset"], name
        if expect["bzimage"] is not None and expect["bzimage"]["has_hdrs"]:
            bz = expect["bzimage"]
            if bz["breakage"] is None:
                assert lay.payload == (bz["payload_file_offset"], bz["payload_length"]), name


def test_binary_loader_parent_is_taken_by_libxenguest(tmp_path: Path) -> None:
    """The binary-loader images are what xg_dom_binloader.c takes: the PV probe finds the
    table and the parse succeeds (guest type from the PAE bits)."""
    from tests.loaders import xen_verdict, xenguest_available

    if not xenguest_available():
        pytest.skip("libxenguest probe unavailable")
    path = tmp_path / "bin.img"
    path.write_bytes(dt.parent_bytes("bin/flat-x86_64"))
    verdict = xen_verdict(path, "pv")
    assert (verdict.path, verdict.guest_type) == ("multiboot-binary", "xen-3.0-x86_64")
    path.write_bytes(dt.parent_bytes("bin/flat-table-8192"))
    assert xen_verdict(path, "pv").path != "multiboot-binary"


def test_codec_swap_keeps_a_decodable_payload() -> None:
    parent = dt.parent_bytes("bzimage-gzip")
    for codec in dt.SWAP_CODECS:
        swapped = dt.swap_payload_codec(parent, codec)
        assert swapped is not None, codec
        decoded = dt._decoded_payload(swapped) if codec != "raw" else None
        if decoded is not None:
            assert decoded[2] == dt._decoded_payload(parent)[2], codec


# --- the CI batch -------------------------------------------------------------------------------


@pytest.mark.parametrize("release", list(Release))
def test_seeded_batch_has_no_new_mismatch(tmp_path: Path, release: Release) -> None:
    """300 seeded mutants through each release's real loaders and pvhlint under the profile
    that models them; every mismatch must belong to a class already in
    tests/difftest_cases.py for that release."""
    _need_loaders(release)
    report = dt.ci_batch(CI_SEED, CI_COUNT, tmp_path, dt.Settings(release))
    assert report.mutants == CI_COUNT
    assert report.pairs + report.undecided == CI_COUNT * len(vt.COMPARED)
    # GRUB boots left undecided (still running at 15 s): a few percent on a loaded machine.
    assert report.undecided <= report.pairs // 10, "GRUB stalled on too many mutants to judge"
    known = {case.key for case in CASES if case.release is release}
    new = {key: items for key, items in report.classes.items() if key not in known}
    if new:
        lines = [report.text(), f"{len(new)} mismatch classes not in tests/difftest_cases.py:"]
        for key, items in sorted(new.items()):
            lines.append(f"- {len(items)}x {' | '.join(key)}\n  e.g. {items[0].line()}")
        lines.append("minimise and record them: python -m tests.difftest --count "
                     f"{CI_COUNT} --seed {CI_SEED} --no-debian --release {release}")  # fmt: skip
        pytest.fail("\n".join(lines), pytrace=False)


# --- the registry -------------------------------------------------------------------------------


def _case_id(case: Case) -> str:
    digest = hashlib.sha256(case.recipe.code().encode()).hexdigest()[:8]
    release = "" if case.release is Release.DEBIAN12 else f"{case.release}-"
    return f"{release}{case.target}-{case.recipe.parent}-{digest}"


def _available(case: Case) -> bool:
    try:
        dt.parent_bytes(case.recipe.parent)
    except dt.ParentUnavailable:
        return False
    return True


@pytest.fixture(scope="module")
def case_results(tmp_path_factory: pytest.TempPathFactory) -> dict[Case, dt.Result]:
    """Every registered case through both sides at once (the Debian-based ones when Debian's
    images can be fetched)."""
    _need_loaders()
    directory = tmp_path_factory.mktemp("difftest-cases")
    found: dict[Case, dt.Result] = {}
    for release in Release:
        cases = [case for case in CASES if case.release is release and _available(case)]
        if cases:
            _need_loaders(release)
            settings = dt.Settings(release)
            results = dt.run_batch([case.recipe for case in cases], directory, settings)
            found.update(zip(cases, results, strict=True))
    return found


def _result(case: Case, case_results: dict[Case, dt.Result]) -> dt.Result:
    if case not in case_results:
        pytest.skip(f"parent {case.recipe.parent} not available here")
    return case_results[case]


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    return [pytest.mark.realworld] if case.recipe.parent.startswith("debian-") else []


@pytest.mark.parametrize(
    "case", [pytest.param(case, marks=_marks(case)) for case in CASES], ids=_case_id
)
def test_recorded_case_real_loader_as_recorded(case: Case, case_results) -> None:
    """The real loader still says what the registry recorded (the fixture is honest)."""
    real = _result(case, case_results).real.get(case.target)
    if real is None:
        pytest.skip(f"{case.target}: the loader gave no answer in time (GRUB still running)")
    word = dt.Mismatch(case.recipe, case.target, case.ours, real).real_word
    if case.target == "qemu" and case.message.startswith("crash"):
        # QEMU 7.2's note walk reads past its buffer: SIGSEGV or an error, as ASLR decides
        # (tests/loaders/qemu.py); either is a reject.
        assert word == case.real, real.detail
        return
    assert (word, dt.normalise(real.detail)) == (case.real, dt.normalise(case.message))


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=_marks(case)
            if _case_id(case) in FIXED | UNDEFINED
            else [
                *_marks(case),
                pytest.mark.xfail(
                    strict=False,
                    reason=f"{case.target}: pvhlint {case.ours}; real {case.real}: {case.message}",
                ),
            ],
        )
        for case in CASES
    ],
    ids=_case_id,
)
def test_recorded_case_pvhlint_agrees(case: Case, case_results) -> None:
    result = _result(case, case_results)
    if case.target not in result.real:
        pytest.skip(f"{case.target}: the loader gave no answer in time (GRUB still running)")
    if _case_id(case) in UNDEFINED:  # the loader reads memory that is not the image's
        assert result.ours[case.target].undefined, result.ours[case.target]
        return
    found = [m for m in result.mismatches() if m.target == case.target]
    assert not found, found[0].line()
