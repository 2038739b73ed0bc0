"""The typed model (issue 17, step 1): every ProblemCode the reader records is read by
someone, codes travel as the enum (never as string literals), and Xen note numbers as
XenNote members."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pvhlint
from pvhlint import rules
from pvhlint.model import ProblemCode
from pvhlint.multiboot import Mb2Tag
from pvhlint.xennotes import NOTE_KINDS, XenNote

SOURCES = sorted(
    {*Path(pvhlint.__file__).parent.rglob("*.py")}
    | {path for folder in rules.__path__ for path in Path(folder).rglob("*.py")}
)
# Codes that only `inspect` shows today: no rule, loader fact or fixer step reads them. A new
# code must be read somewhere or be named here (and this list shrinks as rules read them).
SHOWN_ONLY = {
    ProblemCode.ELF_CLASS,
    ProblemCode.PHDRS_PAST_EOF,
    ProblemCode.BAD_SECTION_HEADERS,
    ProblemCode.NOTE_SEGMENT_AT_ZERO,
    ProblemCode.TOO_MANY_NOTES,
    ProblemCode.PAYLOAD_NOT_ELF,
    ProblemCode.BAD_ALIGNMENT,
    ProblemCode.TOO_MANY_TAGS,
    ProblemCode.MALFORMED_TAG,
}
NOTES = {"note", "n"}  # what the code calls a Note
PRODUCERS = {"_problem", "append"}  # ElfReader/ImageReader._problem, note/header.problems


def _trees() -> Iterator[tuple[Path, ast.AST]]:
    for path in SOURCES:
        yield path, ast.parse(path.read_text(), str(path))


def _code_references(tree: ast.AST) -> Iterator[tuple[str, bool]]:
    """(member name, produced) for every `ProblemCode.NAME` in the tree: produced when it is
    an argument of a call that records a problem, else it is read."""
    produced = set()
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in PRODUCERS:
            produced.update(id(arg) for arg in node.args)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "ProblemCode"
        ):
            yield node.attr, id(node) in produced


def test_every_problem_code_is_produced_and_read():
    produced, read = set(), set()
    for _, tree in _trees():
        for name, is_produced in _code_references(tree):
            (produced if is_produced else read).add(ProblemCode[name])
    assert set(ProblemCode) - produced == set(), "codes nobody records"
    unread = set(ProblemCode) - read - SHOWN_ONLY
    assert unread == set(), "codes nobody reads: read them in a rule, or add to SHOWN_ONLY"
    assert SHOWN_ONLY & read == set(), "read now: drop them from SHOWN_ONLY"


def test_no_code_is_compared_as_a_string():
    values = {code.value for code in ProblemCode}
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare | ast.Set):
                for leaf in ast.walk(node):
                    if isinstance(leaf, ast.Constant) and leaf.value in values:
                        found.append(f"{path.name}:{leaf.lineno} {leaf.value!r}")
    assert found == []


def test_note_types_are_compared_by_name():
    """`note.type == 18` and `notes_of_type(18)` read as XenNote members instead."""
    numbers = set(NOTE_KINDS)
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            sides = []
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "notes_of_type":
                sides = [*node.args, node.func]
            if any(_is_note_type(side) for side in sides):
                for leaf in sides:
                    if isinstance(leaf, ast.Constant) and leaf.value in numbers:
                        found.append(f"{path.name}:{leaf.lineno} {leaf.value!r}")
    assert found == []


def test_multiboot2_tag_types_are_compared_by_name():
    """`tag.type == 2` reads as Mb2Tag.ADDRESS instead."""
    numbers = {int(tag) for tag in Mb2Tag}
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "type"
                   and isinstance(side.value, ast.Name) and side.value.id == "tag"
                   for side in sides):  # fmt: skip
                for side in sides:
                    for leaf in ast.walk(side):
                        if isinstance(leaf, ast.Constant) and leaf.value in numbers:
                            found.append(f"{path.name}:{leaf.lineno} {leaf.value!r}")
    assert found == []


def _is_note_type(node: ast.AST) -> bool:
    """`note.type`, `n.type` or `x.notes_of_type`."""
    if not isinstance(node, ast.Attribute):
        return False
    if node.attr == "notes_of_type":
        return True
    return node.attr == "type" and isinstance(node.value, ast.Name) and node.value.id in NOTES


def test_note_numbers_are_the_enum():
    assert [kind.number for kind in NOTE_KINDS.values()] == list(XenNote)
    assert all(kind.name == kind.number.name for kind in NOTE_KINDS.values())
