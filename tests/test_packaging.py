"""The rules in pvhlint/rules/<family>/ are found from a wheel install and an editable one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = (
    "import pvhlint, pvhlint.rules, pvhlint.codecs.zstd; from pvhlint.rule import discover_rules; "
    "print(pvhlint.__file__); print(pvhlint.rules.__path__[0]); "
    "print(','.join(r.id for r in discover_rules())); print(pvhlint.codecs.zstd.__file__)"
)


def _install(tmp_path: Path, editable: bool) -> Path:
    python = _environment(tmp_path / ("editable" if editable else "wheel"))
    target = ["-e", str(REPO)] if editable else [str(REPO)]
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", *target],
        check=True,
        capture_output=True,
    )
    return python


def _environment(env_dir: Path) -> Path:
    """A virtual environment without pvhlint: its python."""
    # The running interpreter's packages supply typer, rich, ...: only pvhlint itself is
    # installed here. system_site_packages reaches the base Python's; when the tests run in
    # a virtualenv, its site-packages come from a .pth file (a .pth inside them is not run,
    # so an editable pvhlint installed there stays out of sight).
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    nested = subprocess.run([python, "-c", where], check=True, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    outer = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    Path(nested, "outer-site-packages.pth").write_text("".join(f"{path}\n" for path in outer))
    return python


@pytest.mark.parametrize("editable", [False, True], ids=["pip-install", "editable"])
def test_rules_are_discovered(tmp_path, editable):
    python = _install(tmp_path, editable)
    done = subprocess.run([python, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    package_file, rules_dir, rule_ids, codec_file = done.stdout.split("\n")[:4]
    if editable:
        assert Path(package_file).parent == REPO / "pvhlint"
        assert Path(rules_dir) == REPO / "pvhlint" / "rules"
    else:
        assert str(tmp_path) in package_file and str(tmp_path) in rules_dir
        assert str(tmp_path) in codec_file  # a subpackage found by packages.find
    assert len(rule_ids.split(",")) == len(_rule_modules()) > 50
    assert "bzimage-crc" in rule_ids.split(",")
    script = python.parent / "pvhlint"
    shown = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert shown.returncode == 0 and "inspect" in shown.stdout


def _rule_modules() -> set[str]:
    return {p.stem for p in (REPO / "pvhlint" / "rules").rglob("*.py")
            if "\nRULE = Rule(" in p.read_text()}  # fmt: skip


def test_a_plain_checkout_runs_with_pythonpath(tmp_path):
    """No install at all: `PYTHONPATH=.` finds pvhlint and every rule (no package-dir map)."""
    python = _environment(tmp_path / "bare")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([python, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    package_file, rules_dir, rule_ids = done.stdout.split("\n")[:3]
    assert Path(package_file).parent == REPO / "pvhlint"
    assert Path(rules_dir) == REPO / "pvhlint" / "rules"
    assert len(rule_ids.split(",")) == len(_rule_modules()) > 50


def test_nested_environment_sees_the_running_interpreters_packages(tmp_path):
    """The suite runs inside a virtualenv (README: `python3 -m venv`); the nested one still
    imports typer, from wherever the running interpreter has it."""
    python = _install(tmp_path, editable=True)
    done = subprocess.run([python, "-c", "import typer, rich; print('ok')"], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_interpreter_is_supported():
    assert sys.version_info >= (3, 11)


def _system_python() -> str | None:
    """A Python outside any virtual environment (Debian's), as a newcomer has."""
    for candidate in ("/usr/bin/python3", shutil.which("python3") or ""):
        if not candidate or not Path(candidate).is_file():
            continue
        probe = subprocess.run([candidate, "-c", "import sys, venv; "
                                "print(sys.prefix == sys.base_prefix)"],
                               capture_output=True, text=True)  # fmt: skip
        if probe.stdout.strip() == "True":
            return candidate
    return None


def test_run_sh_installs_into_a_virtualenv(tmp_path):
    """tests/run.sh from a Python outside any virtualenv (Debian's refuses a system-wide
    `pip install`): it makes .venv, installs there and runs pytest with it. apt-get and
    dpkg are stubbed (the packages are the machine's business); pip is real."""
    python = _system_python()
    if python is None:
        pytest.skip("no Python outside a virtual environment on this machine")
    tree = tmp_path / "pvhlint"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tree / name)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for tool in ("apt-get", "dpkg", "sudo"):
        (stubs / tool).write_text("#!/bin/sh\nexit 0\n")
        (stubs / tool).chmod(0o755)
    (stubs / "python3").symlink_to(python)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}  # fmt: skip
    env["PATH"] = os.pathsep.join([str(stubs), "/usr/bin", "/bin"])
    done = subprocess.run(["bash", "tests/run.sh", "-q", "-p", "no:randomly",
                           "tests/test_packaging.py::test_interpreter_is_supported"],
                          cwd=tree, env=env, capture_output=True, text=True,
                          timeout=1800)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tree / ".venv" / "bin" / "pvhlint").is_file()
    assert "1 passed" in done.stdout
