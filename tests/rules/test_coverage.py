"""Every rule is tested: each fires in at least one case of tests/rules/test_<family>.py, in
the file of its own family, and every boot-protocol image has its expected findings."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from fixtures.variants_boot import BUILDERS
from pvhlint.rule import discover_rules

FAMILIES = sorted(path.name for path in (Path(__file__).parents[2] / "pvhlint" / "rules").iterdir()
                  if (path / "__init__.py").is_file())  # fmt: skip


def _cases() -> dict[str, dict[str, list]]:
    """family -> {image name: expectations}, BOOT_CASES and NAMED_CASES together."""
    found = {}
    for family in FAMILIES:
        name = f"tests.rules.test_{family}"
        module = importlib.import_module(name) if importlib.util.find_spec(name) else None
        found[family] = getattr(module, "BOOT_CASES", {}) | getattr(module, "NAMED_CASES", {})
    return found


def test_every_rule_fires_in_its_familys_tests():
    cases = _cases()
    fired = {(family, e.rule) for family, table in cases.items()
             for expects in table.values() for e in expects}  # fmt: skip
    wanted = {(rule.family, rule.id) for rule in discover_rules()}
    assert wanted - fired == set(), "rules no case of their family's tests fires"


def test_every_boot_image_has_expectations():
    named = {name for table in _cases().values() for name in table}
    missing = {f"boot/{name}" for name in BUILDERS} - named
    assert missing == set(), "boot-protocol images without expected findings"


def test_every_loader_error_is_explained_by_exactly_one_rule():
    """A loader model's error codes (pvhlint.loaders.*: one enum per loader) each become the
    findings of one rule: a code no rule explains would refuse with no finding to show, one
    two rules explain would show twice."""
    from pvhlint.loaders import grub, qemu, rust_vmm, xen

    enums = (xen.XenError, qemu.QemuError, grub.GrubError, rust_vmm.RustVmmError)
    rules = discover_rules()
    explainers = {code: [rule.id for rule in rules if code in rule.explains]
                  for enum in enums for code in enum}  # fmt: skip
    assert {str(code): ids for code, ids in explainers.items() if len(ids) != 1} == {}
    assert set(explainers) >= {code for rule in rules for code in rule.explains}


def test_only_loader_errors_refuse():
    """Every refusal is a loader model's error (its rule explains it): no rule's own check
    names a target it refuses, over every image of every family's cases."""
    from tests.rules import registry

    names = sorted({name for table in _cases().values() for name in table})
    refusing = set()
    for name in names:
        image = registry.image(name)
        for rule in discover_rules():
            refusing |= {(rule.id, name) for hit in rule.check(image) if hit.rejects}
    assert refusing == set()


def test_error_codes_name_the_targets_they_refuse():
    """A code's `targets` (its rule's by default) are targets of its own loader, and over every
    registered image each error the loader models report refuses only its code's targets and
    its explaining rule's: a finding never rejects a target its rule does not concern."""
    from pvhlint.loaders import grub, loader_errors, qemu, rust_vmm, xen
    from pvhlint.profiles import LOADER_OF, Loader, targets_of
    from tests.rules import registry

    enums = {
        Loader.XEN: xen.XenError,
        Loader.QEMU: qemu.QemuError,
        Loader.GRUB: grub.GrubError,
        Loader.LINUX_LOADER: rust_vmm.RustVmmError,
    }
    assert {
        str(code): code.targets
        for loader, enum in enums.items()
        for code in enum
        if not code.targets or {LOADER_OF[t] for t in code.targets} != {loader}
    } == {}
    rule_of = {code: rule for rule in discover_rules() for code in rule.explains}
    outside = set()
    for name in sorted(registry.IMAGES):
        for error in loader_errors(registry.image(name)):
            refused = targets_of(error.refuses)
            if not refused <= set(error.code.targets) & set(rule_of[error.code].targets):
                outside.add((name, str(error.code), tuple(sorted(refused))))
    assert outside == set()


def test_a_rule_concerns_every_target_its_errors_refuse():
    """Rules that state their targets (their own check concerns more, or their order differs)
    still name each target of the errors they explain."""
    from pvhlint.rule import refused_by

    assert {
        rule.id: refused_by(rule.explains)
        for rule in discover_rules()
        if not set(refused_by(rule.explains)) <= set(rule.targets)
    } == {}
