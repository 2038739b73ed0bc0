"""Rule modules, one file per rule, grouped by family: pvhlint/rules/<family>/<rule>.py.

pvhlint.rule.discover_rules finds every module with a `RULE` anywhere below this package;
the code rules share lives in pvhlint/rulekit.py (CONTRIBUTING.md: "Adding a rule").
"""
