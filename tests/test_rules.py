"""Rule modules: the contract every rule keeps, the CLI that lists and explains them,
and each rule's behaviour on fixtures and real images."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fixtures import catalogue
from pvhlint.image import open_image
from pvhlint.rule import DOC_SECTIONS, SEVERITIES, TARGETS, discover_rules

RULES = discover_rules()


def pvhlint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


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
    listed = pvhlint("rules")
    assert listed.returncode == 0
    for rule in RULES:
        assert rule.id in listed.stdout
        shown = pvhlint("explain", rule.id)
        assert shown.returncode == 0
        assert rule.sections()["why"].splitlines()[0].strip() in shown.stdout
    unknown = pvhlint("explain", "no-such-rule")
    assert unknown.returncode == 2 and "no-such-rule" in unknown.stderr


def _findings(tmp_path, name: str, rule_id: str):
    path = tmp_path / name
    path.write_bytes(catalogue()[name].data)
    rule = next(rule for rule in RULES if rule.id == rule_id)
    return rule.run(open_image(path))


def test_bzimage_crc_flags_only_the_broken_trailer(tmp_path):
    findings = _findings(tmp_path, "bzimage-bad-crc", "bzimage-crc")
    want = catalogue()["bzimage-bad-crc"].expect["bzimage"]
    assert [(f.layer, f.offset) for f in findings] == [(0, want["n"] - 4)]
    assert f"{want['crc_stored']:#010x}" in findings[0].message
    for good in ("bzimage-xz", "bzimage-lz4", "bzimage-xz-signed"):
        assert _findings(tmp_path, good, "bzimage-crc") == []


@pytest.mark.realworld
def test_bzimage_crc_accepts_debian_signed_and_unsigned(debian_image):
    rule = next(rule for rule in RULES if rule.id == "bzimage-crc")
    for name in ("amd64", "amd64-signed", "cloud"):
        assert rule.run(open_image(debian_image(name))) == []
