"""Configuration as a user writes it: pvhlint.toml or [tool.pvhlint] in pyproject.toml,
found from the working directory upwards; command-line flags win; bad files are one line.

Every run uses bzimage-bad-crc, whose only linux-side finding is the bzimage-crc warning,
and looks at the JSON report: `required`/`required_from` show `require`, the findings show
`select`/`ignore`/`severity`, the exit status shows `fail-on`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue

IMAGE = "bzimage-bad-crc"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("image") / IMAGE
    path.write_bytes(catalogue()[IMAGE].data)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tmp/project/src/deep: a working directory two levels below the project root."""
    (tmp_path / "project" / "src" / "deep").mkdir(parents=True)
    return tmp_path / "project"


def run(cwd: Path, image: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", "check", "--format", "json",
                           *args, str(image)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def report(cwd: Path, image: Path, *args: str) -> tuple[int, dict]:
    done = run(cwd, image, *args)
    assert done.returncode in (0, 1), done.stderr
    [result] = json.loads(done.stdout)["images"]
    return done.returncode, result


def crc(result: dict) -> list[str]:
    """Severities of the bzimage-crc findings shown."""
    return [f["severity"] for f in result["findings"] if f["rule"] == "bzimage-crc"]


def pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f'[project]\nname = "kernels"\n\n[tool.pvhlint]\n{body}')
    return path


def pvhlint_toml(folder: Path, body: str) -> Path:
    path = folder / "pvhlint.toml"
    path.write_text(body)
    return path


# --- discovery ---------------------------------------------------------------------------------


def test_without_a_file_the_image_claims_its_targets(project, image):
    _, result = report(project / "src", image)
    assert result["required_from"] == "claimed"
    assert "linux" in result["required"]
    assert crc(result) == ["warning"]


def test_pyproject_is_found_from_a_subdirectory(project, image):
    pyproject(project, 'require = ["linux"]\n')
    _, result = report(project / "src" / "deep", image)
    assert (result["required"], result["required_from"]) == (["linux"], "option")


def test_pvhlint_toml_is_found_from_a_subdirectory(project, image):
    pvhlint_toml(project, 'require = ["xen-pvh"]\n')
    _, result = report(project / "src" / "deep", image)
    assert (result["required"], result["required_from"]) == (["xen-pvh"], "option")
    assert crc(result) == []  # bzimage-crc concerns linux, which is no longer required


def test_pvhlint_toml_wins_over_pyproject_in_the_same_folder(project, image):
    pyproject(project, 'require = ["linux"]\n')
    pvhlint_toml(project, 'require = ["xen-pvh"]\n')
    _, result = report(project / "src", image)
    assert result["required"] == ["xen-pvh"]


def test_the_nearest_file_wins(project, image):
    pvhlint_toml(project, 'require = ["xen-pvh"]\n')
    pyproject(project / "src", 'require = ["linux"]\n')
    _, result = report(project / "src" / "deep", image)
    assert result["required"] == ["linux"]


def test_a_pyproject_without_pvhlint_settings_ends_the_search(project, image):
    """A pyproject.toml marks the repository root: nothing above it is read (issue 16.15)."""
    pvhlint_toml(project, 'require = ["xen-pvh"]\n')
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    _, result = report(project / "src" / "deep", image)
    assert result["required_from"] == "claimed"


def test_the_search_stops_at_the_repository_root(project, image):
    """A file two folders above the repository (a shared workspace root) is not read."""
    pvhlint_toml(project, 'fail-on = "never"\nrequire = ["xen-pvh"]\n')
    repository = project / "src"
    (repository / ".git").mkdir()
    _, result = report(repository / "deep", image)
    assert result["required_from"] == "claimed"
    done = run(repository / "deep", image)
    assert json.loads(done.stdout)["config"] is None
    # Inside the repository, its own file is read, and named.
    inside = pvhlint_toml(repository, 'require = ["linux"]\n')
    done = run(repository / "deep", image)
    assert json.loads(done.stdout)["config"] == str(inside)


def test_a_folder_anyone_can_write_is_not_read(project, image):
    shared = project / "src"
    pvhlint_toml(shared, 'fail-on = "never"\nrequire = ["xen-pvh"]\n')
    shared.chmod(0o1777)
    try:
        _, result = report(shared / "deep", image)
    finally:
        shared.chmod(0o755)
    assert result["required_from"] == "claimed"


def test_a_file_beside_the_image_is_not_read(project, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    image = folder / IMAGE
    image.write_bytes(catalogue()[IMAGE].data)
    pvhlint_toml(folder, 'fail-on = "never"\nrequire = ["xen-pvh"]\n')
    (project / ".git").mkdir()
    done = run(project, image)
    assert json.loads(done.stdout)["config"] is None
    assert json.loads(done.stdout)["images"][0]["required_from"] == "claimed"


def test_the_report_names_the_file_used(project, image):
    used = pvhlint_toml(project, 'require = ["linux"]\n')
    done = subprocess.run([sys.executable, "-m", "pvhlint", "check", str(image)],
                          cwd=project / "src", capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.stdout.splitlines()[0] == f"config: {used}"
    sarif = run_format(project / "src", image, "sarif")
    assert sarif["runs"][0]["invocations"][0]["properties"]["config"] == str(used)
    plain = subprocess.run([sys.executable, "-m", "pvhlint", "check", str(image)],
                           cwd=project, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert plain.stdout.splitlines()[0] == f"config: {used}"
    (project / "pvhlint.toml").unlink()
    (project / ".git").mkdir()
    bare = subprocess.run([sys.executable, "-m", "pvhlint", "check", str(image)],
                          cwd=project, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert not bare.stdout.startswith("config:")


def run_format(cwd: Path, image: Path, output_format: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "pvhlint", "check", "--format", output_format,
                           str(image)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    return json.loads(done.stdout)


def test_config_option_names_the_file(project, image, tmp_path):
    elsewhere = pvhlint_toml(tmp_path, 'require = ["multiboot2"]\n')
    pvhlint_toml(project, 'require = ["xen-pvh"]\n')
    _, result = report(project, image, "--config", str(elsewhere))
    assert result["required"] == ["multiboot2"]


# --- every key, and the flag that beats it -----------------------------------------------------


def test_require(project, image):
    pvhlint_toml(project, 'require = ["xen-pvh", "xen-pv"]\n')
    _, result = report(project, image)
    assert result["required"] == ["xen-pvh", "xen-pv"]
    _, result = report(project, image, "--require", "linux")
    assert (result["required"], result["required_from"]) == (["linux"], "option")
    assert crc(result) == ["warning"]


def test_select(project, image):
    pvhlint_toml(project, 'require = ["linux"]\nselect = ["xen-"]\n')
    _, result = report(project, image)
    assert crc(result) == []
    _, result = report(project, image, "--select", "bzimage-")
    assert crc(result) == ["warning"]
    assert all(f["rule"].startswith("bzimage-") for f in result["findings"])


def test_ignore(project, image):
    pvhlint_toml(project, 'require = ["linux"]\nignore = ["bzimage-crc"]\n')
    _, result = report(project, image)
    assert crc(result) == []
    _, result = report(project, image, "--ignore", "xen-")  # the flag's list replaces the file's
    assert crc(result) == ["warning"]


def test_severity(project, image):
    pvhlint_toml(project, 'require = ["linux"]\nselect = ["bzimage-crc"]\n'
                          '[severity]\nbzimage-crc = "error"\n')  # fmt: skip
    code, result = report(project, image)
    assert (code, crc(result)) == (1, ["error"])
    code, result = report(project, image, "--severity", "bzimage-crc=info")
    assert (code, crc(result)) == (0, ["info"])


def test_severity_in_pyproject(project, image):
    pyproject(project, 'require = ["linux"]\n[tool.pvhlint.severity]\nbzimage-crc = "info"\n')
    _, result = report(project, image)
    assert crc(result) == ["info"]


@pytest.mark.parametrize(
    ("file_value", "flag", "code_from_file", "code_with_flag"),
    [("warning", "error", 1, 0), ("never", "warning", 0, 1), ("info", "never", 1, 0)],
)
def test_fail_on(project, image, file_value, flag, code_from_file, code_with_flag):
    pvhlint_toml(project, f'require = ["linux"]\nselect = ["bzimage-crc"]\n'
                          f'fail-on = "{file_value}"\n')  # fmt: skip
    code, result = report(project, image)
    assert crc(result) == ["warning"] and code == code_from_file
    code, _ = report(project, image, "--fail-on", flag)
    assert code == code_with_flag


# --- invalid files -----------------------------------------------------------------------------


def assert_one_line_naming(done: subprocess.CompletedProcess[str], path: Path) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0], lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


INVALID = {
    "unknown key": 'requires = ["linux"]\n',
    "list expected": 'require = "linux"\n',
    "strings expected": "select = [1, 2]\n",
    "table expected": 'severity = "error"\n',
    "string expected": "fail-on = 1\n",
    "bad toml": "require = [\n",
    "bad toml value": "require = linux\n",
}


@pytest.mark.parametrize("body", INVALID.values(), ids=INVALID.keys())
@pytest.mark.parametrize("kind", ["pvhlint.toml", "pyproject.toml"])
def test_invalid_file_is_exit_2_naming_it(project, image, kind, body):
    path = pvhlint_toml(project, body) if kind == "pvhlint.toml" else pyproject(project, body)
    assert_one_line_naming(run(project / "src", image), path)


def test_invalid_file_given_with_config(project, image, tmp_path):
    path = pvhlint_toml(tmp_path, "fail-on = [\n")
    assert_one_line_naming(run(project, image, "--config", str(path)), path)
    missing = tmp_path / "nope.toml"
    assert_one_line_naming(run(project, image, "--config", str(missing)), missing)


BAD_VALUES = {
    "unknown target": 'require = ["xen-hvm"]\n',
    "unknown fail-on": 'fail-on = "sometimes"\n',
    "unknown level": '[severity]\nbzimage-crc = "fatal"\n',
    "unknown rule": '[severity]\nno-such-rule = "error"\n',
}


@pytest.mark.parametrize("body", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_values_in_the_file_are_exit_2(project, image, body):
    pvhlint_toml(project, body)
    done = run(project, image)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("body", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_values_in_the_file_name_the_file(project, image, body):
    path = pvhlint_toml(project, body)
    assert_one_line_naming(run(project, image), path)
