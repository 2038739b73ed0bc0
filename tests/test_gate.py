"""`check` as a CI gate (issue 15): it never passes a broken image, a selector that matches
nothing, a file that is no kernel, or an output it could not write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fixtures.catalogue import catalogue
from tests.conftest import as_unprivileged

ROOT = Path(__file__).resolve().parents[1]


def pvhlint(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)], cwd=cwd,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})  # fmt: skip


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gate")
    for name in ("bzimage-xz", "bzimage-v0207", "elf64-pvh"):
        (folder / name).write_bytes(catalogue()[name].data)
    return folder


@pytest.mark.parametrize(("flags", "words"), [
    (["--select", "xen"], "--select: no rule matches 'xen'; did you mean 'xen-'"),
    (["--select", "no-such-rule"], "--select: no rule matches 'no-such-rule'"),
    (["--ignore", "bzimage-crcc"], "--ignore: no rule matches 'bzimage-crcc'; did you mean "
                                   "'bzimage-crc'"),
])  # fmt: skip
def test_unknown_selector_is_an_error(images, flags, words):
    done = pvhlint("check", *flags, images / "bzimage-xz")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"pvhlint: {words}" or words in done.stderr.strip()
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_selector_in_the_configuration(images, tmp_path):
    (tmp_path / "pvhlint.toml").write_text('select = ["xen"]\n')
    done = pvhlint("check", images / "bzimage-xz", cwd=tmp_path)
    assert done.returncode == 2
    assert "pvhlint.toml: --select: no rule matches 'xen'; did you mean 'xen-'" in done.stderr


def test_selectors_never_hide_a_required_targets_reject(images):
    """Protocol 2.07 is too old for Xen: --select mb1- must not turn that into exit 0."""
    for flags in (["--select", "mb1-"], ["--ignore", "bzimage-"], ["--ignore", "bzimage-protocol"]):
        done = pvhlint("check", "--require", "xen-pvh", *flags, "--format", "json",
                       images / "bzimage-v0207")  # fmt: skip
        image = json.loads(done.stdout)["images"][0]
        assert image["verdicts"]["xen-pvh"]["verdict"] == "reject"
        shown = {f["rule"]: f["severity"] for f in image["findings"]}
        assert shown.get("bzimage-protocol") == "error", flags
        assert done.returncode == 1, flags
    # A finding that rejects no required target is still hidden as asked.
    done = pvhlint("check", "--require", "linux", "--ignore", "bzimage-", "--format", "json",
                   images / "bzimage-v0207")  # fmt: skip
    assert json.loads(done.stdout)["images"][0]["findings"] == []


def test_pvh_only_contradicts_requiring_xen_pv(images):
    done = pvhlint("check", "--pvh-only", "--require", "xen-pv", images / "bzimage-xz")
    assert done.returncode == 2 and "--pvh-only contradicts requiring xen-pv" in done.stderr


def test_pvh_only_from_the_configuration(images, tmp_path):
    (tmp_path / "pvhlint.toml").write_text('require = ["xen-pvh"]\n')
    plain = pvhlint("check", images / "bzimage-xz", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout
    (tmp_path / "pvhlint.toml").write_text('require = ["xen-pvh"]\npvh-only = true\n')
    done = pvhlint("check", images / "bzimage-xz", cwd=tmp_path)
    assert done.returncode == 1 and "xen-obsolete-pv-note" in done.stdout
    assert "required: xen-pvh (--require/config, PVH-only)" in done.stdout
    (tmp_path / "pvhlint.toml").write_text('pvh-only = "yes"\n')
    assert "pvh-only must be true or false" in pvhlint("check", images / "bzimage-xz",
                                                       cwd=tmp_path).stderr  # fmt: skip


def truncated(source: Path, size: int, destination: Path) -> Path:
    with source.open("rb") as image:
        destination.write_bytes(image.read(size))
    return destination


def test_truncated_bzimage_is_an_error_for_linux_and_qemu(images, tmp_path):
    whole = images / "bzimage-xz"
    cut = truncated(whole, 0x1400 + 0x80, tmp_path / "cut")  # payload: [0x1400, 0x152c)
    for require in ([], ["--require", "qemu"]):
        done = pvhlint("check", *require, "--format", "json", cut)
        image = json.loads(done.stdout)["images"][0]
        found = [f for f in image["findings"] if f["rule"] == "bzimage-payload-cut"]
        assert found and found[0]["severity"] == "error", require
        assert "decompressor cannot get past the cut" in found[0]["message"]
        # The loaders still load it: the verdicts stay theirs.
        assert image["verdicts"]["linux"]["verdict"] == "accept"
        assert image["verdicts"]["qemu"]["verdict"] == "accept"
        assert done.returncode == 1
    assert pvhlint("check", "--require", "linux,qemu", whole).returncode == 0


@pytest.mark.realworld
def test_truncated_debian_kernel_fails(debian_image, tmp_path):
    """The issue's case: `head -c 3000000` of Debian's 8 MB kernel."""
    cut = truncated(debian_image("amd64"), 3_000_000, tmp_path / "vmlinuz-cut")
    done = pvhlint("check", cut)
    assert done.returncode == 1 and "error   bzimage-payload-cut" in done.stdout


def test_non_kernels_claim_no_target(tmp_path):
    ls = shutil.which("ls")
    assert ls is not None
    done = pvhlint("check", ls)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{ls}: claims no boot target" in done.stderr
    folder = tmp_path / "bin"
    folder.mkdir()
    shutil.copy(ls, folder / "ls")
    (folder / "notes.txt").write_text("not a kernel\n")
    done = pvhlint("check", folder)
    assert done.returncode == 2
    assert f"{folder}: directory holds no kernel images (2 file(s) skipped" in done.stderr
    # With a kernel beside it, the folder is checked and the non-kernels skipped.
    (folder / "vmlinuz").write_bytes(catalogue()["bzimage-xz"].data)
    done = pvhlint("check", "--format", "json", folder)
    assert [image["path"] for image in json.loads(done.stdout)["images"]] == [
        str(folder / "vmlinuz")
    ]


def test_unreadable_file_is_one_line_and_the_rest_is_checked(images):
    """As a user who cannot read the file (root can read it: the test drops to nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="pvhlint-gate-"))
    try:
        folder.chmod(0o755)
        secret, kernel = folder / "secret", folder / "vmlinuz"
        secret.write_bytes(catalogue()["bzimage-xz"].data)
        secret.chmod(0)
        kernel.write_bytes(catalogue()["bzimage-xz"].data)
        kernel.chmod(0o644)
        command = as_unprivileged([sys.executable, "-m", "pvhlint", "check", "--format",
                                   "json", str(secret), str(kernel)])  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=folder,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"pvhlint: {secret}: permission denied\n"
    report = json.loads(done.stdout)["images"]
    assert report[0] == {"path": str(secret), "error": "permission denied"}
    assert report[1]["path"] == str(kernel) and report[1]["verdicts"]


@pytest.mark.parametrize("output_format", ["console", "json", "sarif", "github"])
def test_full_output_is_one_line_exit_2(images, output_format):
    with open("/dev/full", "w") as full:
        done = pvhlint("check", "--format", output_format, images / "bzimage-xz", stdout=full)
    assert done.returncode == 2
    assert done.stderr == "pvhlint: cannot write the output: No space left on device\n"


def test_ascii_output_encoding(images):
    done = pvhlint("check", "-r", "xen-pvh", images / "bzimage-xz",
                   env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    assert "bzimage \\u2192 elf64 (xz)" in done.stdout


@pytest.mark.parametrize(("flags", "status"), [(["-r", "xen-pvh"], 0), (["--pvh-only"], 1)])
def test_closed_pipe_keeps_the_verdicts_status(images, flags, status):
    """`pvhlint check IMAGE | head -1`: the reader leaving does not change the status."""
    command = [sys.executable, "-m", "pvhlint", "check", *flags, str(images / "bzimage-xz")]
    script = f"{' '.join(command)} | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    # A report longer than a pipe's buffer, so the write really meets the closed pipe.
    many = [str(images / "bzimage-xz")] * 40
    script = script.replace(str(images / "bzimage-xz"), " ".join(many))
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.stdout.strip() == str(status), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["inspect"], ["inspect", "--json"], ["rules", "--markdown"]])
def test_other_commands_on_a_full_disk(images, args):
    with open("/dev/full", "w") as full:
        done = pvhlint(*args, *([images / "bzimage-xz"] if args[0] == "inspect" else []),
                       stdout=full)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "pvhlint: cannot write the output: No space left on device\n"


def test_inspect_keeps_its_status_when_the_reader_leaves(images):
    """A closed pipe does not hide that one of the images could not be read (exit 2)."""
    many = " ".join([str(images / "bzimage-xz")] * 30)
    script = (f"{sys.executable} -m pvhlint inspect {many} {images / 'missing'} | head -c 1 "
              ">/dev/null; echo ${PIPESTATUS[0]}")  # fmt: skip
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.stdout.strip() == "2", done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.realworld
def test_truncated_debian_kernel_never_boots_under_qemu(debian_image, tmp_path):
    """What bzimage-payload-cut says, checked with the real loader: QEMU loads the cut
    kernel, whose decompressor then resets the guest before the kernel prints anything;
    the whole kernel gets as far as "Linux version". 300 s is a hang limit, not a speed."""
    from tests.loaders.qemu import qemu_available, qemu_boot

    if not qemu_available():
        if os.environ.get("CI") == "true":
            pytest.fail("qemu-system-x86_64 is not installed (tests/run.sh installs it)")
        pytest.skip("qemu-system-x86_64 is not installed")
    whole = debian_image("amd64")
    cut = truncated(whole, 3_000_000, tmp_path / "vmlinuz-cut")
    console = "console=ttyS0 earlyprintk=ttyS0"
    booted = qemu_boot(whole, timeout=300, expect=b"Linux version", memory_mb=512,
                       append=console)  # fmt: skip
    assert booted.expect_seen, booted.serial[-500:]
    failed = qemu_boot(cut, timeout=300, expect=b"Linux version", memory_mb=512, append=console)
    assert not failed.expect_seen and not failed.timed_out, failed.serial[-500:]
    assert "error" not in failed.stderr.lower()  # QEMU itself loaded it without complaint
