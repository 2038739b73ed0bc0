"""Structure counts at the loaders' caps (issue 16 item 9): every walk is indexed or capped,
so each case stays within the fuzz harness's CPU budget per image (process time, not wall
time: the machine may be loaded). Before, these took 7 s to several minutes of CPU each."""

from __future__ import annotations

import pytest

from tests.fuzzlib import CASE_LIMIT, exercise, exercise_fix, scaling_cases

CASES = scaling_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_and_inspect_stay_within_the_cpu_budget(name):
    outcome = exercise(CASES[name], name)  # raises a Bug past CASE_LIMIT seconds of CPU
    assert outcome.kind in ("report", "error") and outcome.seconds <= CASE_LIMIT


@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_stays_within_the_cpu_budget(tmp_path, name):
    outcome = exercise_fix(CASES[name], tmp_path)  # two dry runs: plan, rewrite, verify
    assert outcome.seconds <= 2 * CASE_LIMIT


def test_the_console_report_of_many_findings_renders_within_the_budget(tmp_path):
    """Issue 16 item 16: one print per finding took 44 s for 65536 findings (11 s of CPU
    for these 32770 before; about 3 s now). Process time, not wall time."""
    import io
    import time

    from rich.console import Console

    from pvhlint.checker import Options, check_paths
    from pvhlint.output.check_console import RichOut, print_console

    image = tmp_path / "duplicates"
    image.write_bytes(CASES["32768 duplicated unknown note types"])
    report = check_paths([str(image)], Options())
    assert len(report.results[0].findings) >= 32768  # one xen-note-unknown per note
    out = io.StringIO()
    start = time.process_time()
    print_console(report, RichOut(Console(file=out, width=160, emoji=False)))
    assert time.process_time() - start < 6.0
    assert out.getvalue().count("xen-note-unknown") >= 32768


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_inspect_tree_of_a_hostile_file_stays_short(name):
    """65534 program headers, note areas or notes drew 2-19 MB of tree in 2-40 s of CPU;
    the tree shows ROWS_SHOWN of each list, counts the rest, and names the PT_NOTEs that
    cover the same bytes once. Process time, not wall time."""
    import io
    import time

    from rich.console import Console

    from pvhlint.image import open_image_bytes
    from pvhlint.output.inspect_tree import ROWS_SHOWN, image_tree

    image = open_image_bytes(CASES[name], name, lenient=True)
    out = io.StringIO()
    start = time.process_time()
    Console(file=out, width=160, emoji=False).print(image_tree(image))
    assert time.process_time() - start < CASE_LIMIT
    text = out.getvalue()
    assert len(text.splitlines()) < 8 * ROWS_SHOWN
    lists = [image.elf.segments, image.elf.note_areas, image.problems]
    lists += [area.notes for area in image.elf.note_areas]
    assert any(len(items) > ROWS_SHOWN for items in lists) == ("more" in text)
    if name == "65534 PT_NOTEs over one area":
        assert "and 65279 more program headers" in text
        assert "the same bytes as PT_NOTE 1, 2, 3, 4, 5, 6, 7, 8 and 65525 more" in text
