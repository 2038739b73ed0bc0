"""contrib/pvhlint.mk and contrib/Kbuild.pvhlint on a toy kernel tree: `make` runs pvhlint
on arch/x86/boot/bzImage after building it, and fails when Xen PVH would refuse it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pvhlint
from fixtures.catalogue import catalogue

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = ROOT / "contrib" / "pvhlint.mk"
KBUILD = ROOT / "contrib" / "Kbuild.pvhlint"
PVHLINT = f"{sys.executable} -m pvhlint"

# The fragment is included before the tree's first target: it must not become the default.
TOY_MAKEFILE = f"""\
include {FRAGMENT}

all: vmlinux

vmlinux:
\t@echo "  LD      vmlinux"

bzImage: vmlinux
\tmkdir -p arch/x86/boot
\tcp $(FIXTURE) arch/x86/boot/bzImage
"""

# Kbuild's printing macros, reduced from Linux 6.1's scripts/Kbuild.include, and
# arch/x86/boot/Makefile's bzImage rule with the line contrib/Kbuild.pvhlint asks for.
TOY_KBUILD = f"""\
squote := '
escsq = $(subst $(squote),'\\$(squote)',$1)
quiet ?= quiet_
echo-cmd = $(if $($(quiet)cmd_$(1)),echo '  $(call escsq,$($(quiet)cmd_$(1)))';)
cmd = @set -e; $(echo-cmd) $(cmd_$(1))
.DELETE_ON_ERROR:
obj := arch/x86/boot

include {KBUILD}

$(obj)/bzImage: FORCE
\t@mkdir -p $(obj) && cp $(FIXTURE) $@
\t$(call cmd,pvhlint)
\t@echo 'Kernel: $@ is ready'

FORCE:
"""


@pytest.fixture(scope="module")
def make() -> str:
    found = shutil.which("make")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("make is not installed (tests/run.sh installs it)")
        pytest.skip("make is not installed")
    return found


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """good: a bzImage Xen boots as PVH, without PV-only notes (made by pvhlint fix);
    bad: protocol 2.07, too old for Xen's bzImage loader."""
    folder = tmp_path_factory.mktemp("contrib-images")
    every = catalogue()
    (folder / "built").write_bytes(every["bzimage-xz"].data)
    (folder / "bad").write_bytes(every["bzimage-v0207"].data)
    fixed = pvhlint.fix(folder / "built", output=folder / "good", drop_obsolete_notes=True)
    assert fixed.written == folder / "good"
    return {"good": folder / "good", "bad": folder / "bad", "obsolete": folder / "built"}


def run_make(make: str, tree: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for inherited in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(inherited, None)
    command = [make, "--no-print-directory", f"PVHLINT={PVHLINT}", *map(str, args)]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def toy_tree(tmp_path: Path, makefile: str) -> Path:
    tree = tmp_path / "linux"
    tree.mkdir()
    (tree / "Makefile").write_text(makefile)
    return tree


def test_make_passes_a_good_pvh_image(make, images, tmp_path):
    tree = toy_tree(tmp_path, TOY_MAKEFILE)
    done = run_make(make, tree, f"FIXTURE={images['good']}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LD      vmlinux" in done.stdout  # `all` stayed the default goal
    assert "--require=xen-pvh arch/x86/boot/bzImage" in done.stdout
    assert "xen-pvh*    accept" in done.stdout and "0 error(s)" in done.stdout


def test_make_passes_a_stock_kernel_with_pv_notes(make, images, tmp_path):
    """Issue 15.3: a kernel Xen boots as PVH passes the default, though it still carries
    PV-era notes (as every stock distribution kernel does)."""
    tree = toy_tree(tmp_path, TOY_MAKEFILE)
    done = run_make(make, tree, f"FIXTURE={images['obsolete']}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "xen-pvh*    accept" in done.stdout and "xen-obsolete-pv-note" not in done.stdout


@pytest.mark.parametrize(("image", "flags", "rule", "message"), [
    ("bad", "", "bzimage-protocol", "boot protocol 2.07 at 0x206 is older than 2.08"),
    ("obsolete", "--pvh-only", "xen-obsolete-pv-note", "is obsolete for a PVH-only guest"),
])  # fmt: skip
def test_make_fails_on_an_image_xen_pvh_refuses(make, images, tmp_path, image, flags, rule,
                                                message):  # fmt: skip
    tree = toy_tree(tmp_path, TOY_MAKEFILE)
    done = run_make(make, tree, f"FIXTURE={images[image]}", f"PVHLINT_FLAGS={flags}")
    assert done.returncode == 2, done.stdout + done.stderr  # make's status for a failed recipe
    assert rule in done.stdout and message in done.stdout
    assert "pvhlint-check] Error 1" in done.stderr


def test_variables_steer_the_check(make, images, tmp_path):
    tree = toy_tree(tmp_path, TOY_MAKEFILE)
    bad = f"FIXTURE={images['bad']}"
    # Only what the image claims (linux, which accepts protocol 2.07).
    assert run_make(make, tree, bad, "PVHLINT_REQUIRE=").returncode == 0
    # Not part of `all`: the build passes, `make pvhlint-check` alone still fails.
    assert run_make(make, tree, bad, "PVHLINT_GOAL=").returncode == 0
    assert run_make(make, tree, "pvhlint-check", bad, "PVHLINT_GOAL=").returncode == 2
    done = run_make(make, tree, bad, "PVHLINT_FLAGS=--format github")
    assert done.returncode == 2 and "::error file=arch/x86/boot/bzImage,title=bzimage-protocol::" \
        in done.stdout  # fmt: skip
    assert run_make(make, tree, f"FIXTURE={images['good']}", "PVHLINT_REQUIRE=xen-pvh qemu",
                    "PVHLINT_FLAGS=--fail-on warning").returncode == 0  # fmt: skip


def test_fragment_alone_checks_an_image(make, images, tmp_path):
    """How packaging runs it after its own `make O=... bzImage`."""
    for name, status in (("good", 0), ("obsolete", 0), ("bad", 2)):
        done = run_make(make, tmp_path, "-f", FRAGMENT, "pvhlint-check", "PVHLINT_AFTER=",
                        f"PVHLINT_IMAGE={images[name]}")  # fmt: skip
        assert done.returncode == status, done.stdout + done.stderr


@pytest.mark.parametrize(("image", "status"), [("good", 0), ("obsolete", 0), ("bad", 2)])
def test_kbuild_hook(make, images, tmp_path, image, status):
    tree = toy_tree(tmp_path, TOY_KBUILD)
    done = run_make(make, tree, "arch/x86/boot/bzImage", f"FIXTURE={images[image]}")
    assert done.returncode == status, done.stdout + done.stderr
    assert "  PVHLINT arch/x86/boot/bzImage" in done.stdout
    report = tree / "arch/x86/boot/bzImage.pvhlint"
    if status == 0:
        assert "Kernel: arch/x86/boot/bzImage is ready" in done.stdout
        assert "0 error(s)" in report.read_text() and "0 error(s)" not in done.stdout
    else:
        assert "bzimage-protocol" in done.stdout and "bzimage-protocol" in report.read_text()
        assert not (tree / "arch/x86/boot/bzImage").exists()  # deleted on error
        assert "is ready" not in done.stdout


@pytest.mark.realworld
def test_fragment_passes_debians_stock_kernel(make, debian_image, tmp_path):
    """Issue 15.3: the defaults pass a stock distribution kernel, which Xen boots as PVH;
    --pvh-only fails it on the PV-era notes it still carries."""
    image = debian_image("amd64")
    done = run_make(make, tmp_path, "-f", FRAGMENT, "pvhlint-check", "PVHLINT_AFTER=",
                    f"PVHLINT_IMAGE={image}")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    strict = run_make(make, tmp_path, "-f", FRAGMENT, "pvhlint-check", "PVHLINT_AFTER=",
                      f"PVHLINT_IMAGE={image}", "PVHLINT_FLAGS=--pvh-only")  # fmt: skip
    assert strict.returncode == 2 and strict.stdout.count("xen-obsolete-pv-note [*]") == 4
