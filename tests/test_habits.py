"""The command-line habits users of ruff, shellcheck and lintian expect (issue 15): --version,
shell completion, a man page, concise output, --quiet, --output-file, --statistics,
`rules --format json`, baseline and per-path suppressions, fixable markers, stdin, VCS
folders skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pvhlint
from fixtures.catalogue import catalogue
from pvhlint.rule import discover_rules

ROOT = Path(__file__).resolve().parents[1]
# xen-pvh boots these; --pvh-only makes bzimage-xz's five PV-era notes fixable errors.
PVH_ONLY = ("--pvh-only",)


def pvhlint_run(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)], cwd=cwd,
                          input=stdin, capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})  # fmt: skip
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(),
                                       done.stderr.decode())  # fmt: skip


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("habits")
    for name in ("bzimage-xz", "bzimage-bad-crc", "bzimage-v0207"):
        (folder / name).write_bytes(catalogue()[name].data)
    (folder / ".git").mkdir()  # the repository root: no configuration above is read
    return folder


def findings(done: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    return [(image["path"], f["rule"]) for image in json.loads(done.stdout)["images"]
            for f in image.get("findings", [])]  # fmt: skip


def test_version():
    done = pvhlint_run("--version")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert done.returncode == 0 and done.stdout == f"pvhlint {version}\n"
    assert pvhlint.__version__ == version


def test_shell_completion():
    # typer reads the shell from the process tree (shellingham) unless told not to: the
    # suite's parent may be sh or no shell at all ("Shell sh not supported.").
    script = pvhlint_run("--show-completion", "bash",
                         env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})  # fmt: skip
    assert script.returncode == 0 and "complete " in script.stdout
    assert "_PVHLINT_COMPLETE=complete_bash" in script.stdout
    # What bash runs when the user presses Tab after `pvhlint check --pvh`.
    done = pvhlint_run(env={"_PVHLINT_COMPLETE": "complete_bash",
                            "COMP_WORDS": "pvhlint check --pvh", "COMP_CWORD": "2"})  # fmt: skip
    assert done.stdout.split() == ["--pvh-only"]


def test_man_page_is_generated_and_renders():
    done = pvhlint_run("man")
    assert done.returncode == 0
    assert (ROOT / "docs" / "pvhlint.1").read_text() == done.stdout, (
        "docs/pvhlint.1 is stale: run `pvhlint man > docs/pvhlint.1`"
    )
    for command in ("inspect", "check", "fix", "extract", "rules", "explain"):
        assert f".SS pvhlint {command} " in done.stdout
    assert "\\-\\-pvh\\-only" in done.stdout and "\\-\\-output\\-format" in done.stdout
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    environment = {**os.environ, "MANWIDTH": "100"}
    shown = subprocess.run([man, "--warnings", "-l", str(ROOT / "docs" / "pvhlint.1")],
                           capture_output=True, text=True, timeout=120,
                           env=environment)  # fmt: skip
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert "pvhlint check [OPTIONS] IMAGES..." in shown.stdout


def test_concise_is_one_line_per_finding(images):
    as_json = pvhlint_run("check", *PVH_ONLY, "--format", "json", "bzimage-xz", "bzimage-bad-crc",
                          cwd=images)  # fmt: skip
    done = pvhlint_run("check", *PVH_ONLY, "--output-format", "concise", "bzimage-xz",
                       "bzimage-bad-crc", cwd=images)  # fmt: skip
    assert done.returncode == as_json.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == len(findings(as_json)) >= 6
    pattern = re.compile(r"(bzimage-xz|bzimage-bad-crc):(file|payload)(\+0x[0-9a-f]+)?: "
                         r"([a-z0-9-]+)( \[\*\])? (.+)")  # fmt: skip
    for line, (path, rule) in zip(lines, findings(as_json), strict=True):
        match = pattern.fullmatch(line)
        assert match and match[1] == path and match[4] == rule, line
        assert bool(match[5]) == (rule == "xen-obsolete-pv-note")


def test_piped_console_is_not_hard_wrapped(images, tmp_path):
    long_name = tmp_path / ("vmlinuz-" + "x" * 180)
    long_name.write_bytes((images / "bzimage-xz").read_bytes())
    done = pvhlint_run("check", *PVH_ONLY, long_name)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(str(long_name)) and lines[0].endswith("PVH-only)")
    obsolete = [line for line in lines if "xen-obsolete-pv-note" in line]
    assert len(obsolete) == 5 and all(line.endswith("guest") for line in obsolete)


def test_quiet(images):
    clean = pvhlint_run("check", "--quiet", "--require", "xen-pvh", "bzimage-xz", cwd=images)
    assert clean.returncode == 0 and clean.stdout == ""
    done = pvhlint_run("check", "-q", *PVH_ONLY, "bzimage-xz", cwd=images)
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and lines[0].startswith("bzimage-xz  bzimage")
    assert len(lines) == 6 and all(line.startswith("  error   xen-obsolete-pv-note [*]")
                                   for line in lines[1:])  # fmt: skip


def test_output_file(images, tmp_path):
    out = tmp_path / "report.sarif"
    done = pvhlint_run("check", *PVH_ONLY, "-f", "sarif", "--output-file", out, "bzimage-xz",
                       cwd=images)  # fmt: skip
    assert done.returncode == 1 and done.stdout == "" and done.stderr == ""
    log = json.loads(out.read_text())
    assert len(log["runs"][0]["results"]) == 5
    console = tmp_path / "report.txt"
    pvhlint_run("check", *PVH_ONLY, "-o", console, "bzimage-xz", cwd=images)
    text = console.read_text()
    assert "\x1b[" not in text and "xen-obsolete-pv-note [*]" in text
    missing = tmp_path / "no-such-folder" / "report.json"
    bad = pvhlint_run("check", "-o", missing, "bzimage-xz", cwd=images)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "No such file" in bad.stderr


def test_statistics(images):
    done = pvhlint_run("check", *PVH_ONLY, "--statistics", "bzimage-xz", "bzimage-bad-crc",
                       cwd=images)  # fmt: skip
    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert re.fullmatch(r" +10  xen-obsolete-pv-note +error +\[\*\] PV-era Xen note .*", lines[0])
    assert lines[-1] == "[*] 10 fixable with `pvhlint fix --drop-obsolete-notes IMAGE`"
    rows = json.loads(pvhlint_run("check", *PVH_ONLY, "--statistics", "-f", "json", "bzimage-xz",
                                  cwd=images).stdout)  # fmt: skip
    assert rows == [{"rule": "xen-obsolete-pv-note", "count": 5, "severity": "error",
                     "fix": "pvhlint fix --drop-obsolete-notes",
                     "title": "PV-era Xen note in a PVH-only kernel"}]  # fmt: skip


def test_rules_as_json():
    done = pvhlint_run("rules", "--format", "json")
    rules = json.loads(done.stdout)
    assert [rule["id"] for rule in rules] == [rule.id for rule in discover_rules()]
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["xen-obsolete-pv-note"]["fix"] == "pvhlint fix --drop-obsolete-notes"
    assert by_id["bzimage-crc"]["fix"] is None
    assert set(by_id["bzimage-crc"]["doc"]) == {"what", "why", "fix", "example"}


def test_fixable_findings_are_marked(images):
    done = pvhlint_run("check", *PVH_ONLY, "bzimage-xz", cwd=images)
    assert done.stdout.count("xen-obsolete-pv-note [*]") == 5
    assert "[*] 5 fixable with `pvhlint fix --drop-obsolete-notes IMAGE`" in done.stdout
    report = json.loads(pvhlint_run("check", *PVH_ONLY, "-f", "json", "bzimage-xz",
                                    cwd=images).stdout)  # fmt: skip
    assert {f["fix"] for f in report["images"][0]["findings"]} == {
        "pvhlint fix --drop-obsolete-notes"
    }


def test_baseline(images, tmp_path):
    baseline = tmp_path / "known.json"
    done = pvhlint_run("check", *PVH_ONLY, "--baseline", baseline, "--write-baseline",
                       "bzimage-xz", cwd=images)  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert len(json.loads(baseline.read_text())["findings"]) == 5
    again = pvhlint_run("check", *PVH_ONLY, "--baseline", baseline, "bzimage-xz", cwd=images)
    assert again.returncode == 0 and "xen-obsolete-pv-note" not in again.stdout
    # Another image's findings are new: the gate still fails on them.
    other = pvhlint_run("check", *PVH_ONLY, "--baseline", baseline, "-f", "json", "bzimage-xz",
                        "bzimage-bad-crc", cwd=images)  # fmt: skip
    assert other.returncode == 1
    assert {path for path, _ in findings(other)} == {"bzimage-bad-crc"}
    # A reject of a required target is never recorded, never dropped.
    refused = tmp_path / "refused.json"
    done = pvhlint_run("check", "-r", "xen-pvh", "--baseline", refused, "--write-baseline",
                       "bzimage-v0207", cwd=images)  # fmt: skip
    assert done.returncode == 1 and "bzimage-protocol" in done.stdout
    report = json.loads(pvhlint_run("check", "-r", "xen-pvh", "-f", "json", "--baseline",
                                    refused, "bzimage-v0207", cwd=images).stdout)  # fmt: skip
    rejecting = [f["message"] for f in report["images"][0]["findings"] if f["rejects"]]
    recorded = [entry["message"] for entry in json.loads(refused.read_text())["findings"]]
    assert rejecting and not set(rejecting) & set(recorded)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = pvhlint_run("check", "--baseline", broken, "bzimage-xz", cwd=images)
    assert bad.returncode == 2 and bad.stderr.startswith(f"pvhlint: {broken}: not a pvhlint")
    alone = pvhlint_run("check", "--write-baseline", "bzimage-xz", cwd=images)
    assert alone.returncode == 2 and "--write-baseline needs --baseline FILE" in alone.stderr


def test_per_path_ignores(images, tmp_path):
    project = tmp_path / "fleet"
    (project / "old").mkdir(parents=True)
    (project / "new").mkdir()
    for folder in ("old", "new"):
        shutil.copy(images / "bzimage-xz", project / folder / "vmlinuz-6.1")
    (project / "pyproject.toml").write_text(
        "[tool.pvhlint]\npvh-only = true\n[tool.pvhlint.per-path-ignores]\n"
        '"old/vmlinuz-*" = ["xen-obsolete-"]\n'
    )
    done = pvhlint_run("check", "-f", "json", "old", "new", cwd=project)
    assert {path for path, _ in findings(done)} == {"new/vmlinuz-6.1"}
    assert done.returncode == 1
    (project / "pyproject.toml").write_text(
        '[tool.pvhlint]\n[tool.pvhlint.per-path-ignores]\n"old/*" = ["xen-obsolete"]\n'
    )
    bad = pvhlint_run("check", "old", cwd=project)
    assert bad.returncode == 2
    assert "per-path-ignores: no rule matches 'xen-obsolete'; did you mean 'xen-obsolete-'" \
        in bad.stderr  # fmt: skip
    # Never a reject of a required target.
    shutil.copy(images / "bzimage-v0207", project / "old" / "vmlinuz-2.6")
    (project / "pyproject.toml").write_text(
        '[tool.pvhlint]\nrequire = ["xen-pvh"]\n[tool.pvhlint.per-path-ignores]\n'
        '"old/*" = ["bzimage-"]\n'
    )
    done = pvhlint_run("check", "-f", "json", "old/vmlinuz-2.6", cwd=project)
    assert ("old/vmlinuz-2.6", "bzimage-protocol") in findings(done) and done.returncode == 1


def test_stdin(images):
    data = (images / "bzimage-xz").read_bytes()
    done = pvhlint_run("check", *PVH_ONLY, "-f", "json", "-", stdin=data)
    from_file = pvhlint_run("check", *PVH_ONLY, "-f", "json", "bzimage-xz", cwd=images)
    assert done.returncode == from_file.returncode == 1
    report, expected = json.loads(done.stdout), json.loads(from_file.stdout)
    assert report["images"][0]["path"] == "-"
    assert report["images"][0]["findings"] == expected["images"][0]["findings"]
    console = pvhlint_run("check", *PVH_ONLY, "-", stdin=data)
    assert console.stdout.startswith("-  bzimage → elf64 (xz)")


def test_vcs_folders_are_skipped(images, tmp_path):
    tree = tmp_path / "tree"
    for folder in (".git/objects/pack", ".hg/store", ".svn/pristine", "boot"):
        (tree / folder).mkdir(parents=True)
        shutil.copy(images / "bzimage-v0207", tree / folder / "vmlinuz-old")
    shutil.copy(images / "bzimage-xz", tree / "boot" / "vmlinuz-6.1")
    done = pvhlint_run("check", "-r", "linux", "-f", "json", tree)
    paths = [image["path"] for image in json.loads(done.stdout)["images"]]
    assert paths == [str(tree / "boot" / "vmlinuz-6.1"), str(tree / "boot" / "vmlinuz-old")]
