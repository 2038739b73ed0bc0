"""Rule tests beside the rules: tests/rules/test_<family>.py for pvhlint/rules/<family>/, all
run by tests.rules.runner over the images of tests.rules.registry."""
