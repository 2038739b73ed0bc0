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
