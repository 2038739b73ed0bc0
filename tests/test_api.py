"""The Python API (`pvhlint.check`, `pvhlint.fix`): the same answers as the command line,
because the command line runs it; typed errors; `import pvhlint` stays cheap."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import pvhlint
from fixtures.catalogue import catalogue
from pvhlint import api

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("bzimage-xz", "bzimage-bad-crc", "bzimage-v0207", "gzip-elf64-pvh", "elf32-mb1",
          "flat-mb1-inside", "elf64-pvh")  # fmt: skip


def pvhlint_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("api-images")
    every = catalogue()
    for name in IMAGES:
        (folder / name).write_bytes(every[name].data)
    return folder


# (CLI flags, the same as API keyword arguments)
CASES = [
    ([], {}),
    (["--require", "xen-pvh"], {"require": "xen-pvh"}),
    (["-r", "xen-pvh,qemu", "--ignore", "xen-obsolete-"], {"require": ("xen-pvh", "qemu"),
                                                          "ignore": ["xen-obsolete-"]}),
    (["--select", "bzimage-", "--severity", "bzimage-crc=info", "--fail-on", "info"],
     {"select": "bzimage-", "severity": {"bzimage-crc": "info"}, "fail_on": "info"}),
    (["--fail-on", "never", "-r", "linux"], {"fail_on": "never", "require": ["linux"]}),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "kwargs"), CASES, ids=lambda case: repr(case)[:40])
def test_api_report_is_the_cli_json(images, monkeypatch, flags, kwargs):
    names = [*IMAGES, "missing-file"]
    done = pvhlint_cli("check", "--format", "json", *flags, *names, cwd=images)
    assert "Traceback" not in done.stderr, done.stderr
    monkeypatch.chdir(images)
    report = pvhlint.check(names, **kwargs)
    assert report.to_dict() == json.loads(done.stdout)
    assert report.exit_code == done.returncode == 2  # the missing file
    served = pvhlint.check(names[:-1], **kwargs)
    assert served.exit_code == pvhlint_cli("check", *flags, *names[:-1], cwd=images).returncode


def test_directory_and_parallel_jobs_match(images, monkeypatch):
    monkeypatch.chdir(images)
    serial = pvhlint.check(".", require="xen-pvh")
    parallel = pvhlint.check([Path(".")], require=["xen-pvh"], jobs=3)
    assert serial.to_dict() == parallel.to_dict()
    assert [r.path for r in serial.results] == [f"./{name}" for name in sorted(IMAGES)]


def test_report_reads_naturally(images):
    seen: list[tuple[int, int]] = []
    report = pvhlint.check(images / "bzimage-xz", pvh_only=True,
                           progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert isinstance(report, pvhlint.Report) and seen == [(1, 1)]
    result = report.results[0]
    assert isinstance(result, pvhlint.ImageResult) and result.error is None
    assert isinstance(result.verdicts["xen-pvh"], pvhlint.Verdict)
    assert result.verdicts["xen-pvh"].accept and result.verdicts["xen-pvh"].required
    assert not result.verdicts["multiboot1"].accept
    assert result.verdicts["multiboot1"].rules == ["mb1-no-header"]
    assert result.verdicts["qemu"].path == "linux"
    assert {f.rule for f in result.findings} == {"xen-obsolete-pv-note"}
    assert all(isinstance(f, pvhlint.Finding) for f in result.findings)
    assert report.exit_code == 1 and result.to_dict() == report.to_dict()["images"][0]
    assert result.required == ("xen-pvh", "linux") and result.pvh_only


def test_require_xen_pvh_is_not_pvh_only(images):
    """Booting as PVH is what --require asks; the PV-era notes are errors only for --pvh-only."""
    report = pvhlint.check(images / "bzimage-xz", require="xen-pvh")
    result = report.results[0]
    assert "xen-obsolete-pv-note" not in {f.rule for f in result.findings}
    assert report.exit_code == 0 and result.verdicts["xen-pvh"].accept


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"require": "xen-hvm"}, "unknown target 'xen-hvm'"),
    ({"severity": {"no-such-rule": "info"}}, "unknown rule 'no-such-rule'"),
    ({"severity": {"bzimage-crc": "fatal"}}, "severity 'fatal'"),
    ({"select": "xen"}, "--select: no rule matches 'xen'; did you mean 'xen-'"),
    ({"per_path_ignores": {"old/*": ["bzimage-crcc"]}}, "did you mean 'bzimage-crc'"),
    ({"pvh_only": True, "require": "xen-pv"}, "--pvh-only contradicts requiring xen-pv"),
    ({"fail_on": "sometimes"}, "--fail-on takes one of"),
    ({"jobs": 0}, "jobs must be at least 1"),
])  # fmt: skip
def test_bad_options_raise(images, kwargs, words):
    with pytest.raises(pvhlint.OptionsError, match=words):
        pvhlint.check(images / "bzimage-xz", **kwargs)
    assert issubclass(pvhlint.OptionsError, ValueError)


def test_unreadable_images_are_results_not_exceptions(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    report = pvhlint.check([tmp_path / "empty", tmp_path / "absent"])
    assert [r.error is not None for r in report.results] == [True, True]
    assert report.exit_code == 2


def test_fix_writes_what_the_cli_writes(images, tmp_path):
    source = images / "bzimage-xz"
    result = pvhlint.fix(source, output=tmp_path / "api", drop_obsolete_notes=True)
    assert isinstance(result, pvhlint.FixResult)
    assert result.refused is None and result.exit_code == 0
    assert result.written == tmp_path / "api" and result.required == ("xen-pvh", "qemu")
    assert result.after is not None and result.after.verdicts["xen-pvh"].accept
    done = pvhlint_cli("fix", "--drop-obsolete-notes", "-o", tmp_path / "cli", source,
                       cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "api").read_bytes() == (tmp_path / "cli").read_bytes()
    assert source.read_bytes() == catalogue()["bzimage-xz"].data
    assert pvhlint.check(tmp_path / "api", require="xen-pvh").exit_code == 0


def test_fix_set_drop_and_dry_run(images, tmp_path):
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes((images / "elf64-pvh").read_bytes())
    planned = pvhlint.fix(kernel, set_notes={"PHYS32_ENTRY": 0x1000080}, dry_run=True)
    assert planned.written is None and kernel.read_bytes() == (images / "elf64-pvh").read_bytes()
    pvhlint.fix(kernel, set_notes={18: 0x1000080}, drop_notes="LOADER", backup=True)
    notes = {n.type: n.value for n in pvhlint.open_image(kernel).elf.xen_notes}
    assert notes[18] == 0x1000080 and 8 not in notes
    assert (tmp_path / "vmlinux.orig").read_bytes() == (images / "elf64-pvh").read_bytes()


def test_fix_errors(images, tmp_path):
    kernel = images / "elf64-pvh"
    with pytest.raises(pvhlint.OptionsError, match="unknown target"):
        pvhlint.fix(kernel, drop_obsolete_notes=True, require="nope")
    with pytest.raises(pvhlint.UsageError, match="nothing to do"):
        pvhlint.fix(kernel)
    with pytest.raises(pvhlint.UsageError, match="unknown Xen note"):
        pvhlint.fix(kernel, drop_notes=["NOT_A_NOTE"])
    with pytest.raises(pvhlint.OptionsError, match="int or a string"):
        pvhlint.fix(kernel, set_notes={"PHYS32_ENTRY": True})
    with pytest.raises(pvhlint.ImageError):
        pvhlint.fix(tmp_path / "absent", drop_obsolete_notes=True)


def test_names_stay_the_functions_after_the_modules_load():
    from pvhlint.checker import Options  # loads the module pvhlint/checker.py
    from pvhlint.fixer.request import FixRequest  # and pvhlint/fixer/request.py

    assert pvhlint.check is api.check and pvhlint.fix is api.fix
    assert Options is pvhlint.Options and FixRequest.__module__ == "pvhlint.fixer.request"
    assert sys.modules["pvhlint.checker"].check_paths is not None
    for name in pvhlint.__all__:
        assert getattr(pvhlint, name) is not None, name
    with pytest.raises(AttributeError):
        _ = pvhlint.no_such_name


def _calls_in(tree: ast.Module, function: str) -> set[str]:
    """Dotted names called inside a top-level function of cli.py."""
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return {ast.unparse(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}


def test_cli_source_calls_the_api():
    source = (ROOT / "pvhlint" / "cli.py").read_text()
    tree = ast.parse(source)
    assert "api.check" in _calls_in(tree, "_run_check")
    assert "_run_check" in _calls_in(tree, "check") | _calls_in(tree, "_check_with_progress")
    assert "api.fix" in _calls_in(tree, "fix_command")
    for engine in ("check_paths", "check_image", "FixRequest", "import fix\n"):
        assert engine not in source, f"cli.py reaches past the API: {engine}"


def test_cli_runs_the_api_at_run_time(images, tmp_path):
    """Traced, not patched: the CLI's check and fix commands enter api.check and api.fix."""
    from typer.testing import CliRunner

    from pvhlint.cli import app

    entered: list[str] = []
    codes = {api.check.__code__: "check", api.fix.__code__: "fix"}

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "call" and frame.f_code in codes:
            entered.append(codes[frame.f_code])

    runner = CliRunner()
    sys.setprofile(trace)
    try:
        checked = runner.invoke(app, ["check", "-f", "json", "--require", "xen-pv",
                                      str(images / "bzimage-xz")])  # fmt: skip
        fixed = runner.invoke(app, ["fix", "--drop-obsolete-notes", "-o", str(tmp_path / "out"),
                                    str(images / "bzimage-xz")])  # fmt: skip
    finally:
        sys.setprofile(None)
    assert checked.exit_code == 1 and fixed.exit_code == 0, (checked.output, fixed.output)
    assert '"rule": "xen-pv-parse"' in checked.output
    assert entered == ["check", "fix"]


def _imported(code: list[str], cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", *code], cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}  # fmt: skip


def test_import_pvhlint_is_cheap(tmp_path):
    loaded = _imported(["-c", "import pvhlint; pvhlint.__version__"], tmp_path)
    assert "pvhlint" in loaded
    assert not {name for name in loaded if name.startswith("pvhlint.")}, loaded


@pytest.mark.parametrize("output_format", ["json", "console"])
def test_check_path_imports_nothing_heavy(images, output_format):
    """Off a terminal (here a pipe) the console report is plain lines: no rich either."""
    loaded = _imported(["-m", "pvhlint", "check", "--format", output_format, "elf64-pvh"],
                       images)  # fmt: skip
    assert {"pvhlint.api", f"pvhlint.output.check_{output_format}"} <= loaded
    heavy = {name for name in loaded if name.split(".")[0] in ("rich", "lief", "pydantic")}
    assert not heavy, heavy
    assert not loaded & {"pvhlint.fixer", "pvhlint.docgen", "pvhlint.fixer.plan"}
