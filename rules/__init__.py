"""Rule modules, one file per rule, installed as the `pvhlint.rules` package.

pyproject.toml maps this top-level directory onto `pvhlint.rules`, so the same
discovery works from a wheel and from an editable install.
"""
