""".pre-commit-hooks.yaml, run by pre-commit itself in a temporary kernel repository.

pre-commit clones the hook repository at a commit and pip-installs pvhlint from it into
an environment of its own, so the working tree (committed or not) is snapshotted into a
temporary repository first. One environment is built for the whole module (it needs
PyPI, or the pip configuration's index); the test is skipped only when pre-commit itself
is not installed, and fails then under CI=true (tests/run.sh installs it)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pvhlint
from fixtures.catalogue import catalogue

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = {"GIT_AUTHOR_NAME": "pvhlint tests", "GIT_AUTHOR_EMAIL": "tests@pvhlint.invalid",
            "GIT_COMMITTER_NAME": "pvhlint tests", "GIT_COMMITTER_EMAIL": "tests@pvhlint.invalid",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def git(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, env={**os.environ, **IDENTITY},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def snapshot(destination: Path) -> str:
    """The working tree (tracked and new files, minus .gitignore's) committed in a fresh
    repository: what a commit of it would hold. Returns the commit id."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "pvhlint working tree", cwd=destination)
    return git("rev-parse", "HEAD", cwd=destination).strip()


class PreCommit:
    def __init__(self, home: Path, hooks: Path, rev: str) -> None:
        self.home, self.hooks, self.rev = home, hooks, rev

    def run(self, tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(self.home)}
        command = [sys.executable, "-m", "pre_commit", *args, "--color", "never"]
        return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True,
                              timeout=900)  # fmt: skip

    def kernel_tree(self, folder: Path, files: dict[str, bytes]) -> Path:
        """A git repository with the hooks configured and `files` added (not committed)."""
        folder.mkdir()
        git("init", "-q", cwd=folder)
        (folder / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {self.hooks}\n    rev: {self.rev}\n    hooks:\n"
            "      - id: pvhlint\n      - id: pvhlint-pvh\n      - id: pvhlint-pvh-only\n"
        )
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        git("add", "-A", cwd=folder)
        return folder


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> PreCommit:
    if importlib.util.find_spec("pre_commit") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pre-commit is not installed (pip install -e '.[test]' installs it)")
        pytest.skip("pre-commit is not installed")
    hooks = tmp_path_factory.mktemp("hooks")
    runner = PreCommit(tmp_path_factory.mktemp("pre-commit-home"), hooks, snapshot(hooks))
    tree = runner.kernel_tree(tmp_path_factory.mktemp("setup") / "tree", {})
    started = time.monotonic()
    built = runner.run(tree, "install-hooks")  # the one environment every test uses
    assert built.returncode == 0, built.stdout + built.stderr
    print(f"pre-commit environment built in {time.monotonic() - started:.0f} s")
    return runner


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    every = catalogue()
    folder = tmp_path_factory.mktemp("precommit-images")
    (folder / "built").write_bytes(every["bzimage-xz"].data)
    pvhlint.fix(folder / "built", output=folder / "good", drop_obsolete_notes=True)
    return {"good": (folder / "good").read_bytes(), "bad": every["bzimage-v0207"].data,
            "obsolete": every["bzimage-xz"].data}  # fmt: skip


# Files a kernel tree has beside its images, which the hooks must leave alone: a text file
# whose name matches (types: [binary] keeps it out) and a binary whose name does not.
# An EFI boot manager is a binary *.efi that is no kernel: the hooks leave it alone too.
BYSTANDERS = {"scripts/gdb/vmlinux-gdb.py": b"import linux\n", "firmware/x.bin": b"\0\1\2\3",
              "EFI/BOOT/BOOTX64.efi": b"MZ\x90\0" + bytes(60)}  # fmt: skip


def test_good_image_passes_both_hooks(pre_commit, images, tmp_path):
    files = {"arch/x86/boot/bzImage": images["good"], **BYSTANDERS}
    tree = pre_commit.kernel_tree(tmp_path / "linux", files)
    done = pre_commit.run(tree, "run", "--all-files", "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pvhlint (Xen PVH required)" in done.stdout and "Failed" not in done.stdout
    assert "arch/x86/boot/bzImage  bzimage → elf64 (xz)" in done.stdout
    assert "vmlinux-gdb.py" not in done.stdout and "x.bin" not in done.stdout
    assert "BOOTX64" not in done.stdout and "pvhlint (Xen PVH-only)" in done.stdout


def test_bad_image_fails_the_pvh_hook(pre_commit, images, tmp_path):
    files = {"arch/x86/boot/bzImage": images["bad"], **BYSTANDERS}
    tree = pre_commit.kernel_tree(tmp_path / "linux", files)
    done = pre_commit.run(tree, "run", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    # Claimed targets only (linux): protocol 2.07 is fine; Xen PVH required: it is not.
    assert "pvhlint (the boot targets each image claims)" in done.stdout
    passed, failed = done.stdout.split("pvhlint (Xen PVH required)")
    assert "Passed" in passed and "Failed" in failed
    assert "error   bzimage-protocol  file+0x206  boot protocol 2.07" in failed
    assert "exit code: 1" in failed


def test_untracked_build_output_with_files(pre_commit, images, tmp_path):
    """The build-step use: the image is not tracked, it is named with --files."""
    tree = pre_commit.kernel_tree(tmp_path / "linux", {})
    (tree / "vmlinuz-6.1-test").write_bytes(images["obsolete"])
    # Issue 15.3: Xen boots it as PVH, so the PVH hook passes; it is not PVH-only.
    done = pre_commit.run(tree, "run", "pvhlint-pvh", "--files", "vmlinuz-6.1-test")
    assert done.returncode == 0, done.stdout + done.stderr
    done = pre_commit.run(tree, "run", "pvhlint-pvh-only", "--files", "vmlinuz-6.1-test")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "xen-obsolete-pv-note" in done.stdout
