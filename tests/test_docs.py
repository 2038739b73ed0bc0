"""Documentation that is generated or quoted from the tool stays true: the rule reference
(docs/rules.md), README's captured output, its API example and signatures, its
configuration keys, and the local links of the Markdown files."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from fixtures.catalogue import catalogue
from pvhlint import api
from pvhlint.config import KEYS
from pvhlint.docgen import COMMAND, rules_markdown
from pvhlint.rule import DOC_SECTIONS, discover_rules
from tests import readme_output

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "rules.md"
README = ROOT / "README.md"


def test_rule_reference_is_fresh():
    assert RULES_MD.read_text() == rules_markdown(), f"docs/rules.md is stale: run `{COMMAND}`"


def _plain(inline: Token) -> str:
    """An inline token's text as written in a docstring: code spans keep their backticks."""
    parts = []
    for child in inline.children or []:
        if child.type == "code_inline":
            parts.append(f"{child.markup}{child.content}{child.markup}")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(child.content)
    return "".join(parts)


def _words(text: str) -> str:
    return " ".join(text.split())


def _rendered_sections(markdown: str) -> dict[str, dict[str, str]]:
    """rule id -> {"title", "severity", "targets", "what", ...} as a Markdown reader sees them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    found: dict[str, dict[str, str]] = {}
    rule = heading = None
    for index, token in enumerate(tokens):
        if token.type != "inline":
            if token.type == "fence" and rule and heading:
                found[rule][heading] = token.content.rstrip("\n")
            continue
        opener = tokens[index - 1]
        if opener.tag == "h2":
            rule, heading = token.content, None
            found[rule] = {}
        elif opener.tag == "h3" and rule:
            heading = token.content.lower()
        elif (
            rule
            and heading is None
            and opener.type == "paragraph_open"
            and "title" not in found[rule]
        ):
            found[rule]["title"] = _plain(token)
        elif rule and heading is None and opener.type == "paragraph_open":
            key, _, value = _plain(token).partition(": ")
            found[rule][key] = value
        elif rule and heading:
            found[rule][heading] = _plain(token)
    return found


def test_rule_reference_renders_each_docstring_faithfully():
    rendered = _rendered_sections(rules_markdown())
    rules = discover_rules()
    assert list(rendered) == [rule.id for rule in rules]
    for rule in rules:
        page = rendered[rule.id]
        assert page["title"] == rule.title, rule.id
        assert page["severity"] == rule.severity
        assert page["targets"] == ", ".join(f"`{target}`" for target in rule.targets)
        sections = {name: textwrap.dedent(text).strip() for name, text in rule.sections().items()}
        assert set(sections) == set(DOC_SECTIONS), f"{rule.id} lacks a section"
        for name in ("what", "why", "fix"):
            assert _words(page[name]) == _words(sections[name]), (rule.id, name)
        assert page["example"] == sections["example"], rule.id


def test_markup_in_a_docstring_is_escaped():
    from pvhlint.docgen import prose

    text = "N = (a+1)*512 +\n+ 1) * 16, [x, y) <path> __xen_guest `a*b <c>`\n12. done\n# no"
    (paragraph,) = [t for t in MarkdownIt("commonmark").parse(prose(text)) if t.type == "inline"]
    assert _words(_plain(paragraph)) == _words(text)


@pytest.mark.realworld
def test_readme_output_is_fresh(debian_image):
    image = debian_image("amd64")
    text = README.read_text()
    fresh = readme_output.refresh(text, readme_output.blocks(image))
    assert readme_output.normalise(text) == readme_output.normalise(fresh), (
        "README.md's captured output is stale: run `python -m tests.readme_output`"
    )


def _python_blocks(section: str) -> list[str]:
    text = README.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def test_readme_api_example_runs(tmp_path):
    example = _python_blocks("Python API")[0]
    image = tmp_path / "arch" / "x86" / "boot" / "bzImage"
    image.parent.mkdir(parents=True)
    image.write_bytes(catalogue()["bzimage-xz"].data)
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "True True []"
    assert "error xen-obsolete-pv-note" in done.stdout
    assert "written to bzImage.pvh" in done.stdout and (tmp_path / "bzImage.pvh").is_file()


def _signature(function: object) -> str:
    """`name(a, *, b=(), c="x")`, as the README spells it."""
    parts, star = [], False
    for parameter in inspect.signature(function).parameters.values():  # type: ignore[arg-type]
        if parameter.kind is parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        default = parameter.default
        if default is parameter.empty:
            parts.append(parameter.name)
        else:
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            parts.append(f"{parameter.name}={shown}")
    return f"{function.__name__}({', '.join(parts)})"  # type: ignore[attr-defined]


def test_readme_signatures_are_the_api():
    listed = _words(_python_blocks("Python API")[1]).replace("( ", "(")
    for function, returned in ((api.check, "pvhlint.Report"), (api.fix, "pvhlint.FixResult")):
        assert f"pvhlint.{_signature(function)} -> {returned}" in listed


def test_readme_configuration_keys_are_the_real_ones():
    text = README.read_text().split("\n## Configuration\n", 1)[1]
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    settings = tomllib.loads(block[1])["tool"]["pvhlint"]
    assert set(settings) == set(KEYS)


@pytest.mark.parametrize("document", ["README.md", "contrib/README.md", "docs/rules.md",
                                      "docs/check-json.md"])  # fmt: skip
def test_local_links_resolve(document):
    path = ROOT / document
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{document} links to missing {target}"


def test_readme_says_what_the_test_command_installs():
    """Newcomer set-up (issue 15): a virtualenv or pipx, the Python version pyproject.toml
    requires, and every package tests/run.sh installs."""
    quick = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "python3 -m venv .venv" in quick and "pipx install ." in quick
    assert "externally-managed-environment" in quick
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required == ">=3.11" and "Python 3.11 or later" in quick
    script = (ROOT / "tests" / "run.sh").read_text()
    packages = re.search(r'APT_PACKAGES="([^"]*)"', script)[1].split()
    missing = [package for package in packages if package not in quick]
    assert not missing, f"README's Quick start does not name: {missing}"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["test"]  # fmt: skip
    for requirement in extras:
        assert re.match(r"[\w-]+", requirement)[0] in quick, requirement
