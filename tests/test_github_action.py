"""action.yml, the composite GitHub Action (issue 15): its shape, its check step run here
as the runner would run it, and the SARIF it hands to github/codeql-action/upload-sarif
checked against the schema and against what code scanning requires of an upload."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue

yaml = pytest.importorskip("yaml")  # installed with pre-commit, a test dependency

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def step(name: str) -> dict:
    return next(s for s in action()["runs"]["steps"] if s.get("id") == name or s["name"] == name)


def test_shape():
    spec = action()
    assert spec["runs"]["using"] == "composite"
    assert spec["inputs"]["images"]["required"] is True
    assert spec["inputs"]["require"]["default"] == "xen-pvh"
    for item in spec["runs"]["steps"]:
        assert "run" in item or "uses" in item
        if "run" in item:
            assert item["shell"] == "bash"  # a composite action's run step must name it
            assert "${{" not in item["run"]  # inputs reach scripts as env, never pasted in
        if "uses" in item:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", item["uses"]), item["uses"]
    upload = step("Upload to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    # Every expression names an input, a step output or a function that exists.
    text = ACTION.read_text()
    for expression in EXPRESSION.findall(text):
        for name in re.findall(r"inputs\.([\w-]+)", expression):
            assert name in spec["inputs"], name
        for name in re.findall(r"steps\.([\w-]+)\.outputs", expression):
            assert any(s.get("id") == name for s in spec["runs"]["steps"]), name
    assert spec["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_the_documented_workflow_uses_real_inputs():
    text = (ROOT / "contrib" / "README.md").read_text().split("## GitHub Actions", 1)[1]
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S)[1])
    steps = workflow["jobs"]["pvhlint"]["steps"]
    ours = [s for s in steps if "pvhlint" in s.get("uses", "")]
    assert len(ours) == 1 and set(ours[0]["with"]) <= set(action()["inputs"])
    assert workflow["permissions"]["security-events"] == "write"


def run_check_step(workspace: Path, **inputs: str) -> tuple[int, Path]:
    """The `check` step's script under bash, with the environment the runner gives it."""
    spec, check = action(), step("check")
    values = {name: item.get("default", "") for name, item in spec["inputs"].items()}
    values.update(inputs)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for key, expression in check["env"].items():
        env[key] = values[EXPRESSION.fullmatch(expression)[1].removeprefix("inputs.")]
    output = workspace / "github-output"
    output.write_text("")
    env["GITHUB_OUTPUT"] = str(output)
    # `pvhlint` on PATH, as the install step leaves it.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    subprocess.run(["bash", "-e", "-c", check["run"]], cwd=workspace, env=env, check=True,
                   timeout=600)  # fmt: skip
    status = int(dict(line.split("=", 1) for line in output.read_text().splitlines())["exit-code"])
    return status, workspace / values["sarif-file"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    boot = tmp_path / "arch" / "x86" / "boot"
    boot.mkdir(parents=True)
    (boot / "bzImage").write_bytes(catalogue()["bzimage-xz"].data)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "vmlinuz-2.6").write_bytes(catalogue()["bzimage-v0207"].data)
    return tmp_path


def test_check_step_passes_a_good_image(workspace):
    status, sarif = run_check_step(workspace, images="arch/x86/boot/bzImage")
    assert status == 0
    assert json.loads(sarif.read_text())["runs"][0]["results"] == []


def test_check_step_uploads_what_code_scanning_accepts(workspace):
    status, sarif = run_check_step(workspace, images="arch/x86/boot/bzImage old",
                                   flags="--pvh-only --fail-on warning")  # fmt: skip
    assert status == 1  # the last step fails the job with it
    log = json.loads(sarif.read_text())
    if SCHEMA.is_file():
        import jsonschema

        schema = json.loads(SCHEMA.read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(log)
    elif os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"the SARIF schema is missing: {SCHEMA}")
    [run] = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"xen-obsolete-pv-note", "bzimage-protocol"}
    # What code scanning requires of an upload (docs.github.com, "SARIF support for code
    # scanning"): a rule for each result, a message, a location in a repository file,
    # relative to the checkout, with a region that has a start line.
    for result in results:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and (workspace / uri).is_file()
        assert physical["region"]["startLine"] == 1
        assert "partialFingerprints" in result
    assert len(results) <= 25_000 and sarif.stat().st_size < 10 << 20


def test_check_step_with_bad_input(workspace):
    status, sarif = run_check_step(workspace, images="arch/x86/boot/bzImage missing.img")
    assert status == 2
    log = json.loads(sarif.read_text())
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False
