"""Rule modules, one file per rule, grouped by family: pvhlint/rules/<family>/<rule>.py.

pvhlint.rule.discover_rules finds every module with a `RULE` anywhere below this package;
a family's shared code lives in its `helpers.py` (CONTRIBUTING.md: "Adding a rule").
"""
