"""Speed and memory of `pvhlint check` and `pvhlint fix`, measured side by side with the
tools a build step or a user would otherwise run. Prints medians, ratios and peaks.

    python -m benchmarks.bench                 # everything (the fix rows take minutes)
    python -m benchmarks.bench --no-fix        # the check rows only

Images come from the real-world tier (fixtures.debian): Debian 12's 6.1 kernel (xz) and
the zstd kernels of Debian 13 and unstable. Each comparison alternates the two commands
(A B A B ...) so machine drift affects both, takes wall time and the peak RSS of each
finished process (and the children it waited for) from wait4(2), and reports the median
of A/B pair by pair. Every pvhlint run but the cached row has PVHLINT_NO_CACHE=1.
Targets (issues 6 and 18):

| work | target |
|---|---|
| check Debian 12 bzImage (xz) | ≤ 1.0× grub-file --is-x86-xen-dom0 |
| check a zstd bzImage (Debian 13, unstable) | ≤ 0.8× zstd -dc + readelf -n, peak ≤ 1.3× B's |
| imports of `check` before the first finding | ≤ 60 ms (python -X importtime) |
| check ELF vmlinux (66 MB) | ≤ 0.20 s wall |
| check DIR over 200 images, 2 cores | ≥ 1.8× the throughput of --jobs 1 |
| fix a bzImage | ≤ 1.05× the build's compressor on the payload, peak ≤ B's + 100 MiB |
| re-check of an unchanged image (result cache) | ≤ 0.15× grub-file |
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures import debian

PVHLINT = [sys.executable, "-m", "pvhlint"]
UNCACHED = {**os.environ, "PVHLINT_NO_CACHE": "1"}
# Where each codec's stream starts (as scripts/extract-vmlinux finds it) and the command
# that decodes it; the build's compressor command for the fix rows (scripts/Makefile.lib,
# scripts/xz_wrap.sh of Linux 6.1 and 6.12).
DECODE = {
    "xz": (b"\xfd7zXZ\x00", "xz -dc --single-stream"),
    "zstd": (b"\x28\xb5\x2f\xfd", "zstd -dc"),
}
ENCODE = {"xz": "xz --check=crc32 --x86 --lzma2=,dict=32MiB -T1", "zstd": "zstd -22 --ultra"}


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one run, output discarded; a run that ends with
    an exit status past 1 (bad input, a refusal, a crash) stops the benchmark."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=UNCACHED if env is None else env)  # fmt: skip
    complaint = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)}: exit {code}: {complaint.decode()[-500:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def pair(a: list[str], b: list[str], runs: int, warm_up: bool = True,
         env: dict[str, str] | None = None) -> dict[str, float]:  # fmt: skip
    if warm_up:
        run(a, env), run(b, env)  # page cache, bytecode
    rows = [(run(a, env), run(b, env)) for _ in range(runs)]
    return {
        "a_wall": statistics.median(r[0][0] for r in rows),
        "b_wall": statistics.median(r[1][0] for r in rows),
        "a_peak": max(r[0][1] for r in rows),
        "b_peak": max(r[1][1] for r in rows),
        "ratio": statistics.median(r[0][0] / r[1][0] for r in rows),
    }


def alone(command: list[str], runs: int) -> dict[str, float]:
    run(command)
    rows = [run(command) for _ in range(runs)]
    return {"wall": statistics.median(r[0] for r in rows), "peak": max(r[1] for r in rows)}


def readelf_after_full_decode(vmlinuz: Path, folder: str, codec: str = "xz") -> list[str]:
    """What a build step does without pvhlint: decompress the whole payload, readelf -n.
    (`;`, not `&&`: zstd -dc complains of the size trailer after the frame it decoded.)"""
    magic, decoder = DECODE[codec]
    with vmlinuz.open("rb") as handle:  # the setup code is 20-30 KB; never the whole image:
        start = handle.read(1 << 20).index(magic)  # this process's size is every child's floor
    script = (f"tail -c +{start + 1} '{vmlinuz}' | {decoder} > '{folder}/vmlinux.x' 2>/dev/null;"
              f" readelf -n '{folder}/vmlinux.x' > /dev/null")  # fmt: skip
    return ["sh", "-c", script]


def import_ms(args: list[str], runs: int) -> float:
    """Median over `runs` of the time `pvhlint ARGS` spends importing (the sum of
    python -X importtime's self column), the output discarded."""
    totals = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pvhlint", *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=UNCACHED)  # fmt: skip
        totals.append(sum(int(line.split("|")[0].split(":")[1]) for line in
                          done.stderr.splitlines() if line.startswith("import time:") and
                          line.split("|")[0].split(":")[1].strip().isdigit()) / 1000)  # fmt: skip
    return statistics.median(totals)


def extract(image: Path, folder: Path) -> Path:
    """The decoded payload (the ELF and the build's relocation table): what the build
    compressed into the bzImage."""
    out = folder / f"{image.name}.payload"
    subprocess.run([*PVHLINT, "extract", str(image), "-o", str(out)], check=True, env=UNCACHED,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def compressor(codec: str, payload: Path) -> list[str]:
    return ["sh", "-c", f"{ENCODE[codec]} -c < '{payload}' > /dev/null"]


def zstd_kernels() -> list[tuple[str, Path]]:
    """(label, bzImage) of the zstd kernels the real-world tier can fetch here."""
    found = []
    for name, label in (("trixie-amd64", "Debian 13"), ("sid-amd64", "unstable")):
        try:
            found.append((label, debian.image(name)))
        except debian.FetchError as exc:
            print(f"({label}: {exc}; its rows are left out)", file=sys.stderr)
    return found


def version_of(image: Path) -> str:
    """The kernel release in the image's path (vmlinuz-6.12.117+deb13-amd64 -> 6.12)."""
    import re

    match = re.search(r"(\d+\.\d+)\.\d+", str(image))
    return match[1] if match else "?"


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
    parser.add_argument("--fix-runs", type=int, default=3, help="pairs per fix row")
    parser.add_argument("--no-fix", action="store_true", help="leave the fix rows out")
    args = parser.parse_args()
    compile_bytecode()
    bz = debian.image("amd64")
    zstd = zstd_kernels()
    rows: list[tuple[str, dict[str, float], str]] = []
    with tempfile.TemporaryDirectory(prefix="pvhlint-bench-") as tmp:
        folder = Path(tmp)
        vmlinux = extract(bz, folder)
        grub = ["grub-file", "--is-x86-xen-dom0", str(bz)]
        result = pair([*PVHLINT, "check", str(bz)], grub, args.runs)
        rows.append(("check Debian 12 6.1 (xz) vs grub-file", result, "≤ 1.0×"))
        result = pair([*PVHLINT, "check", "--format", "json", "--require", "xen-pvh", str(bz)],
                      grub, args.runs)  # fmt: skip
        rows.append(("  same, --format json, all rules", result, "≤ 1.0×"))
        result = pair([*PVHLINT, "check", str(bz)], readelf_after_full_decode(bz, tmp), args.runs)
        rows.append(("check Debian 12 6.1 (xz) vs xz -dc + readelf -n", result, "-"))
        for label, image in zstd:
            manual = readelf_after_full_decode(image, tmp, "zstd")
            result = pair([*PVHLINT, "check", str(image)], manual, args.runs)
            title = f"check {label} {version_of(image)} (zstd) vs zstd -dc + readelf -n"
            rows.append((title, result, f"≤ 0.8×, peak ≤ {1.3 * result['b_peak']:.0f}MiB"))
        cached_env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
        cached_env.pop("PVHLINT_NO_CACHE", None)
        result = pair([*PVHLINT, "check", str(bz)], grub, args.runs, env=cached_env)
        rows.append(("re-check Debian 12 (result cache) vs grub-file", result, "≤ 0.15×"))
        elf = alone([*PVHLINT, "check", str(vmlinux)], args.runs)
        imports = {fmt: import_ms(["check", "--format", fmt, str(image)], args.runs)
                   for fmt in ("console", "json") for image in (bz,)}  # fmt: skip
        names = ("cloud", "xen", "gnumach", "gnumach-xen", "grub-i386-xen", "grub-i386-xen_pvh",
                 "grub-x86_64-xen")  # fmt: skip
        tree = tree_of([debian.image(name) for name in names], 200, folder / "tree")
        many = pair([*PVHLINT, "check", "--format", "json", "--jobs", "1", str(tree)],
                    [*PVHLINT, "check", "--format", "json", "--jobs", "2", str(tree)],
                    max(3, args.runs // 2))  # fmt: skip
        fixes = [] if args.no_fix else fix_rows(bz, zstd, folder, args.fix_runs)
    print(f"pvhlint benchmark, {args.runs} alternating runs per pair ({args.fix_runs} for fix), "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end\n")  # fmt: skip
    print(f"{'comparison (A vs B)':<58} {'A median':>9} {'B median':>9} {'A/B':>6} "
          f"{'A peak':>9} {'B peak':>9}  target")  # fmt: skip
    for label, row, target in rows + fixes:
        print(f"{label:<58} {row['a_wall']:>8.3f}s {row['b_wall']:>8.3f}s {row['ratio']:>5.2f}x "
              f"{row['a_peak']:>6.1f}MiB {row['b_peak']:>6.1f}MiB  {target}")  # fmt: skip
    print(f"{'check ELF vmlinux (66 MB)':<58} {elf['wall']:>8.3f}s {'':>9} {'':>6} "
          f"{elf['peak']:>6.1f}MiB {'':>9}  ≤ 0.20 s")  # fmt: skip
    for fmt, total in imports.items():
        print(f"{'imports of check --format ' + fmt + ' (Debian 12 bzImage)':<58} "
              f"{total:>7.1f}ms {'':>9} {'':>6} {'':>9} {'':>9}  ≤ 60 ms")  # fmt: skip
    # A is --jobs 1, B --jobs 2: A/B is the throughput gained by the second core.
    print(f"{'check DIR of 200 images, --jobs 1 vs --jobs 2':<58} {many['a_wall']:>8.3f}s "
          f"{many['b_wall']:>8.3f}s {many['ratio']:>5.2f}x throughput{'':>10}  ≥ 1.8×")  # fmt: skip
    return 0


def fix_rows(bz: Path, zstd: list[tuple[str, Path]], folder: Path,
             runs: int) -> list[tuple[str, dict[str, float], str]]:  # fmt: skip
    """`fix --drop-obsolete-notes` against the build's own compressor on the same payload.
    No warm-up: each run is seconds of one encoder, and the page cache is warm already."""
    kernels = [("Debian 12 6.1", bz, "xz")]
    kernels += [(f"{label} {version_of(image)}", image, "zstd") for label, image in zstd[:1]]
    rows = []
    for label, shared, codec in kernels:
        image = folder / shared.name  # a copy of its own: no lock another run holds on it
        shutil.copyfile(shared, image)
        build = compressor(codec, extract(image, folder))
        profiles = (("", ()), (" --loaders debian12", ("--loaders", "debian12")))
        for note, profile in profiles if codec == "xz" else profiles[:1]:
            out = folder / "fixed"
            fix = [*PVHLINT, "fix", "--drop-obsolete-notes", *profile, "-o", str(out), str(image)]
            result = pair(["sh", "-c", f"rm -f '{out}'; exec {' '.join(fix)}"], build, runs,
                          warm_up=False)  # fmt: skip
            target = f"≤ 1.05×, peak ≤ {result['b_peak'] + 100:.0f}MiB"
            rows.append((f"fix{note} {label} ({codec}) vs {ENCODE[codec]}", result, target))
    return rows


if __name__ == "__main__":
    sys.exit(main())
