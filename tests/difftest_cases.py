"""Mismatches the differential test found (tests/difftest.py), each minimised and kept as a
recipe (a parent fixture plus field edits), with the real loader's verdict and message as
recorded by `python -m tests.difftest`. tests/test_difftest.py checks that the real loader
still says so, and marks pvhlint's side xfail until the model agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.difftest import Recipe, class_key, recompress, set_field, splice, truncate, wrap

__all__ = ["CASES", "Case", "recompress", "set_field", "splice", "truncate", "wrap"]


@dataclass(frozen=True)
class Case:
    recipe: Recipe
    target: str
    real: str  # the real loader's word: "accept", "accept (linux)", "reject"
    message: str  # the real loader's message when recorded
    ours: str  # pvhlint's verdict when recorded (for the reader; not compared)

    @property
    def key(self) -> tuple[str, ...]:
        return class_key(self.target, self.ours, self.real, self.message)


CASES: tuple[Case, ...] = ()
