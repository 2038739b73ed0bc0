"""README.md's quick-start output: `pvhlint check --require xen-pvh` on Debian 12's current
amd64 kernel, captured from the tool (console, and an excerpt of the JSON report).

    python -m tests.readme_output     # fetch the kernel, run pvhlint, rewrite the blocks

tests/test_docs.py re-runs the commands and fails when the README's text is stale. Debian
updates its kernel, so the comparison ignores the ABI number (6.1.0-NN) and offsets and
sizes, which move with every build; anything else that changes needs a refresh.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from fixtures import debian

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COMMAND = 'pvhlint check --require xen-pvh "$(python3 -m fixtures.debian amd64)"'
SHOWN_VERDICTS = ("xen-pvh", "qemu", "multiboot1")
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def run_check(image: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """As a build step runs it: not on a terminal, no colour, from a folder without
    configuration files."""
    env = {key: value for key, value in os.environ.items() if key != "FORCE_COLOR"}
    env.update(NO_COLOR="1", COLUMNS="160", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        return subprocess.run([sys.executable, "-m", "pvhlint", "check", "--require", "xen-pvh",
                               *flags, str(image)], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip


def shown_path(text: str) -> str:
    return text.replace(str(debian.CACHE), "~/.cache/pvhlint/debian")


def console_block(image: Path) -> str:
    done = run_check(image)
    assert done.stderr == "", done.stderr
    lines = [line.rstrip() for line in shown_path(done.stdout).splitlines()]
    return "\n".join(["```console", f"$ {COMMAND}", *lines, "$ echo $?",
                      str(done.returncode), "```"])  # fmt: skip


def json_block(image: Path) -> str:
    """The JSON report with one finding and a few verdicts: the shape, not all of it."""
    done = run_check(image, "--format", "json")
    report = json.loads(shown_path(done.stdout))
    entry = report["images"][0]
    findings, verdicts = len(entry["findings"]), len(entry["verdicts"])
    entry["findings"] = entry["findings"][:1]
    entry["verdicts"] = {t: entry["verdicts"][t] for t in SHOWN_VERDICTS}
    note = (f"(shortened: the first of {_count(findings)} findings and "
            f"{_count(len(SHOWN_VERDICTS))} of the {_count(verdicts)} verdicts)")  # fmt: skip
    return "\n".join(["```json", json.dumps(report, indent=2), "```", "", note])


def _count(number: int) -> str:
    return NUMBERS[number] if number < len(NUMBERS) else str(number)


def blocks(image: Path) -> dict[str, str]:
    return {"check-output": console_block(image), "check-json": json_block(image)}


def refresh(text: str, new: dict[str, str]) -> str:
    """`text` with each <!-- NAME:start --> ... <!-- NAME:end --> body replaced."""
    for name, body in new.items():
        pattern = re.compile(rf"(<!-- {name}:start[^>]*-->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no <!-- {name}:start --> ... :end --> markers")
        text = pattern.sub(lambda match, body=body: f"{match[1]}{body}\n{match[2]}", text)
    return text


def normalise(text: str) -> str:
    """What may change when Debian updates the kernel without changing what pvhlint says."""
    text = re.sub(r"6\.1\.0-\d+", "6.1.0-NN", text)
    text = re.sub(r"\b(file|payload|gzip)\+0x[0-9a-f]+", r"\1+0x…", text)
    text = re.sub(r'"(offset|size|length)": \d+', r'"\1": N', text)
    return text


def main() -> int:
    image = debian.image("amd64")
    README.write_text(refresh(README.read_text(), blocks(image)))
    print(f"README.md: output of {image.name} refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
