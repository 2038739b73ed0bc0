"""Scaffold a rule: `python -m pvhlint.tools.new_rule ID [--family F] [--severity S] [--target T]`.

Writes pvhlint/rules/<family>/<id with underscores>.py with the docstring sections every rule
has (What/Why/Fix/Example, the text of `pvhlint explain ID` and docs/rules.md) and a `check`
that finds nothing yet, then says what is left to do (CONTRIBUTING.md: "Adding a rule").
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pvhlint.rule import SEVERITIES, TARGETS, discover_rules

RULES = Path(__file__).resolve().parents[1] / "rules"
ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)+")
# The family a new id's first word files it under; --family for anything else.
FAMILIES = {"bzimage": "bzimage", "linux": "bzimage", "elf": "elf", "grub": "elf",
            "mb1": "multiboot", "mb2": "multiboot", "pe": "pe", "qemu": "qemu",
            "rust": "rust_vmm", "xen": "xen"}  # fmt: skip
TEMPLATE = '''"""{title}

What:
  What the rule checks, in the loader's own order and terms.

Why:
  What the loader does with such an image, with its exact message and the source file
  and function it comes from.

Fix:
  How to change the image or its build so the loader takes it.

Example:
  vmlinux: {id}: the one-line message the rule prints
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """Read the model (never bytes); yield a Hit per problem, naming the targets it rejects."""
    return iter(())


RULE = Rule(
    title="{title}",
    severity="{severity}",
    targets=({targets}),
)
'''


def scaffold(rule_id: str, family: str | None = None, severity: str = "error",
             targets: tuple[str, ...] = (), root: Path = RULES) -> Path:  # fmt: skip
    """Write the new rule's module under `root` and return its path (ValueError if refused)."""
    if not ID.fullmatch(rule_id):
        raise ValueError(f"{rule_id!r} is not a rule id: lowercase words joined by '-'")
    if any(rule.id == rule_id for rule in discover_rules()):
        raise ValueError(f"{rule_id} exists already (`pvhlint explain {rule_id}`)")
    family = family or FAMILIES.get(rule_id.split("-", 1)[0])
    if family is None:
        raise ValueError(f"no family for {rule_id!r}: name one with --family")
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not targets or not set(targets) <= set(TARGETS):
        raise ValueError(f"name the boot targets it concerns with --target: {', '.join(TARGETS)}")
    path = root / family / f"{rule_id.replace('-', '_')}.py"
    if path.exists():
        raise ValueError(f"{path} exists already")
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
        (path.parent / "__init__.py").write_text(f'"""The {family} rules."""\n')
    names = ", ".join(f'"{target}"' for target in targets) + ("," if len(targets) == 1 else "")
    title = "One line: what is wrong, in the loader's terms"
    path.write_text(TEMPLATE.format(id=rule_id, title=title, severity=severity, targets=names))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pvhlint.tools.new_rule",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("id", help="the new rule's id, e.g. xen-note-foo")
    parser.add_argument("--family", help="pvhlint/rules/<family>/ (default: from the id)")
    parser.add_argument("--severity", default="error", choices=SEVERITIES)
    parser.add_argument("--target", action="append", choices=TARGETS,
                        help="a boot target the rule concerns (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        path = scaffold(args.id, args.family, args.severity, tuple(args.target or ()))
    except ValueError as exc:
        print(f"new_rule: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}\nnext: model the loader in check() and the docstring, add a fixture "
          f"and its expected finding to tests/rules/, then `pvhlint rules --markdown > "
          "docs/rules.md` (CONTRIBUTING.md: Adding a rule)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
