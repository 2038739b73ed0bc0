"""Rule modules: the contract every rule keeps (severity, targets, documentation sections),
the CLI that lists and explains them, and bzimage-crc on Debian's real images."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pvhlint.cli import app
from pvhlint.image import open_image
from pvhlint.rule import DOC_SECTIONS, SEVERITIES, TARGETS, discover_rules

RULES = discover_rules()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_contract(rule):
    assert rule.severity in SEVERITIES
    assert rule.targets and set(rule.targets) <= set(TARGETS)
    sections = rule.sections()
    assert list(sections) == list(DOC_SECTIONS)
    assert all(len(text) > 20 for text in sections.values())


def test_ids_are_unique():
    assert len({rule.id for rule in RULES}) == len(RULES)


def test_rules_and_explain_commands():
    """In-process (one interpreter, not one per rule): `rules` lists every id, `explain`
    prints each rule's documentation, and an unknown id is one line on stderr, exit 2."""
    runner = CliRunner()
    listed = runner.invoke(app, ["rules"])
    assert listed.exit_code == 0
    for rule in RULES:
        assert rule.id in listed.stdout
        shown = runner.invoke(app, ["explain", rule.id])
        assert shown.exit_code == 0
        head = f"{rule.id}: {rule.title}\nseverity: {rule.severity}; targets: "
        assert shown.stdout.startswith(head + ", ".join(rule.targets) + "\n")
        for name, text in rule.sections().items():
            assert f"\n{name.capitalize()}:\n{text}\n" in shown.stdout
    unknown = runner.invoke(app, ["explain", "no-such-rule"])
    assert unknown.exit_code == 2
    assert unknown.stderr == "pvhlint: no rule 'no-such-rule'; `pvhlint rules` lists them\n"


@pytest.mark.realworld
def test_bzimage_crc_accepts_debian_signed_and_unsigned(debian_image):
    rule = next(rule for rule in RULES if rule.id == "bzimage-crc")
    for name in ("amd64", "amd64-signed", "cloud"):
        assert rule.run(open_image(debian_image(name))) == []
