"""Speed and memory of `pvhlint check`, measured side by side with the tools a build
step would otherwise run. Prints medians and ratios; `--runs N` per command.

    python -m benchmarks.bench            # fetches Debian 12's images like the tests do

Each comparison alternates the two commands (A B A B ...) so machine drift affects both,
takes wall time and the peak RSS of each finished process from wait4(2), and reports
the median of A/B pair by pair. Targets (issue 6):

| work | target |
|---|---|
| check on Debian's amd64 bzImage (xz, 8 MB) | ≤ 1.0× grub-file --is-x86-xen-dom0, ≤ 64 MiB |
| same, full rule set, JSON output | same |
| check on the ELF vmlinux (66 MB) | ≤ 0.20 s wall |
| check DIR over 200 images, 2 cores | ≥ 1.8× the throughput of --jobs 1 |
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures import debian

PVHLINT = [sys.executable, "-m", "pvhlint"]


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one run, output discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def pair(a: list[str], b: list[str], runs: int) -> dict[str, float]:
    run(a), run(b)  # warm-up: page cache, bytecode
    rows = [(run(a), run(b)) for _ in range(runs)]
    return {
        "a_wall": statistics.median(r[0][0] for r in rows),
        "b_wall": statistics.median(r[1][0] for r in rows),
        "a_peak": max(r[0][1] for r in rows),
        "ratio": statistics.median(r[0][0] / r[1][0] for r in rows),
    }


def alone(command: list[str], runs: int) -> dict[str, float]:
    run(command)
    rows = [run(command) for _ in range(runs)]
    return {"wall": statistics.median(r[0] for r in rows), "peak": max(r[1] for r in rows)}


def readelf_after_full_decode(vmlinuz: Path, folder: str) -> list[str]:
    """What a build step does without pvhlint: decompress the whole payload, readelf -n."""
    data = vmlinuz.read_bytes()
    start = data.index(b"\xfd7zXZ\x00")  # as scripts/extract-vmlinux finds the stream
    script = (f"tail -c +{start + 1} '{vmlinuz}' | xz -dc --single-stream > '{folder}/vmlinux.x'"
              f" && readelf -n '{folder}/vmlinux.x' > /dev/null")  # fmt: skip
    return ["sh", "-c", script]


def tree_of(images: list[Path], count: int, folder: Path) -> Path:
    """`count` links to the real images, round robin: a build tree's worth of kernels."""
    folder.mkdir()
    for index in range(count):
        source = images[index % len(images)]
        target = folder / f"{index:03d}-{source.name}"
        try:
            os.link(source, target)
        except OSError:  # another file system: a symbolic link reads the same
            os.symlink(source, target)
    return folder


def compile_bytecode() -> None:
    """What `pip install .` does: without it, an editable checkout under
    PYTHONDONTWRITEBYTECODE=1 compiles every changed module again on each run."""
    import compileall

    import pvhlint.rules  # binds pvhlint too

    for package in (pvhlint, pvhlint.rules):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    compile_bytecode()
    bz = debian.image("amd64")
    with tempfile.TemporaryDirectory(prefix="pvhlint-bench-") as tmp:
        vmlinux = Path(tmp) / "vmlinux"
        subprocess.run([*PVHLINT, "extract", str(bz), "-o", str(vmlinux)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        grub = ["grub-file", "--is-x86-xen-dom0", str(bz)]
        rows = []
        result = pair([*PVHLINT, "check", str(bz)], grub, args.runs)
        rows.append(("check amd64 bzImage vs grub-file", result, "≤ 1.0×, ≤ 64 MiB"))
        result = pair([*PVHLINT, "check", "--format", "json", "--require", "xen-pvh", str(bz)],
                      grub, args.runs)  # fmt: skip
        rows.append(("check --format json (all rules) vs grub-file", result, "≤ 1.0×, ≤ 64 MiB"))
        result = pair([*PVHLINT, "check", str(bz)], readelf_after_full_decode(bz, tmp), args.runs)
        rows.append(("check amd64 bzImage vs xz -dc + readelf -n", result, "-"))
        elf = alone([*PVHLINT, "check", str(vmlinux)], args.runs)
        names = ("cloud", "xen", "gnumach", "gnumach-xen", "grub-i386-xen", "grub-i386-xen_pvh",
                 "grub-x86_64-xen")  # fmt: skip
        tree = tree_of([debian.image(name) for name in names], 200, Path(tmp) / "tree")
        many = pair([*PVHLINT, "check", "--format", "json", "--jobs", "1", str(tree)],
                    [*PVHLINT, "check", "--format", "json", "--jobs", "2", str(tree)],
                    max(3, args.runs // 2))  # fmt: skip
    print(f"pvhlint benchmark, {args.runs} alternating runs per pair, {os.cpu_count()} cores\n")
    print(f"{'comparison':<48} {'A median':>9} {'B median':>9} {'A/B':>6} {'A peak':>8}  target")
    for label, row, target in rows:
        print(f"{label:<48} {row['a_wall']:>8.3f}s {row['b_wall']:>8.3f}s "
              f"{row['ratio']:>6.2f} {row['a_peak']:>6.1f}MiB  {target}")  # fmt: skip
    print(f"{'check ELF vmlinux (66 MB)':<48} {elf['wall']:>8.3f}s {'':>9} {'':>6} "
          f"{elf['peak']:>6.1f}MiB  ≤ 0.20 s")  # fmt: skip
    # A is --jobs 1, B --jobs 2: A/B is the throughput gained by the second core.
    print(f"{'check DIR of 200 images, --jobs 1 vs --jobs 2':<48} {many['a_wall']:>8.3f}s "
          f"{many['b_wall']:>8.3f}s {many['ratio']:>6.2f}x throughput  ≥ 1.8×")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
