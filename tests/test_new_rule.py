"""`python -m pvhlint.tools.new_rule` writes a rule module that discovery and the docs accept."""

from __future__ import annotations

import importlib.util

import pytest

from fixtures.catalogue import catalogue
from pvhlint.image import open_image_bytes
from pvhlint.rule import DOC_SECTIONS, declared
from pvhlint.tools.new_rule import main, scaffold


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scaffold_writes_a_rule_with_every_doc_section(tmp_path):
    path = scaffold("xen-note-scaffolded", targets=("xen-pvh", "xen-pv"), root=tmp_path)
    assert path == tmp_path / "xen" / "xen_note_scaffolded.py"
    assert (tmp_path / "xen" / "__init__.py").is_file()
    rule = declared(_load(path))  # as discovery reads it: the id is the module's name
    assert rule is not None
    assert (rule.id, rule.severity, rule.targets) == (
        "xen-note-scaffolded", "error", ("xen-pvh", "xen-pv"))  # fmt: skip
    assert set(rule.sections()) == set(DOC_SECTIONS)
    assert "xen-note-scaffolded" in rule.sections()["example"]
    image = open_image_bytes(catalogue()["elf64-pvh"].data, "elf64-pvh")
    assert rule.run(image) == []


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["xen-note-unknown", "--target", "xen-pvh"], "exists already"),
        (["Xen_Bad", "--target", "xen-pvh"], "is not a rule id"),
        (["zzz-new", "--target", "qemu"], "--family"),
        (["xen-new-one"], "--target"),
    ],
)
def test_scaffold_refuses(args, refusal, capsys):
    assert main(args) == 2
    assert refusal in capsys.readouterr().err
