"""Peak memory of every command on a payload at the decompression cap (issue 16, item 11).

    python -m benchmarks.peak_memory [--mib 500]

Builds a bzImage whose lz4 payload inflates to MIB MiB (an ELF with its Xen notes, then
zeros: about 2 MB on disk, ~255x, under the bomb ratio), runs `check`, `inspect`,
`extract`, `fix --dry-run` and `fix -o` on it with `--max-decompressed` set to the
payload size, and prints each one's peak RSS (wait4) as a multiple of the payload. The
target: a small multiple of the cap in every command, no whole-payload copies beyond
what the command must hold (`fix`: the decoded kernel, its edited copy, the re-decoded
check of the result). `fix` may exit 1 here: the lz4 re-pack of a synthetic payload
need not fit its exact slot, and the refusal comes after the work that holds the memory.

Measured (2 cores, Python 3.11), 500 MiB payload, before -> after issue 16:
check 40 -> 39 MiB, inspect 531 -> 530, extract 1033 -> 565, fix 2042 -> 1049.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fuzzlib import big_lz4_kernel

PVHLINT = [sys.executable, "-m", "pvhlint"]


def run(command: list[str]) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS in MiB) of one run, output discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peak_memory")
    parser.add_argument("--mib", type=int, default=500, help="payload size (default 500)")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.mib << 20
    if args.build:
        args.build.write_bytes(big_lz4_kernel(size))
        return 0
    cap = ["--max-decompressed", f"{args.mib}MiB"]
    with tempfile.TemporaryDirectory(prefix="pvhlint-peak-") as tmp:
        kernel = Path(tmp) / "vmlinuz"
        # Built in another process: a child forked from this one would count its pages.
        subprocess.run([sys.executable, "-m", "benchmarks.peak_memory", "--mib", str(args.mib),
                        "--build", str(kernel)], check=True)  # fmt: skip
        commands = {
            "check": ["check", *cap, str(kernel)],
            "inspect": ["inspect", *cap, str(kernel)],
            "extract": ["extract", *cap, str(kernel), "-o", f"{tmp}/vmlinux"],
            "fix --dry-run": ["fix", "--dry-run", *cap, "--drop-note", "VIRT_BASE", str(kernel)],
            "fix -o": ["fix", *cap, "--drop-note", "VIRT_BASE", "-o", f"{tmp}/out", str(kernel)],
        }
        print(f"payload {args.mib} MiB (lz4), cap {args.mib} MiB; file {kernel.stat().st_size} B")
        print(f"{'command':<15} {'exit':>4} {'wall s':>7} {'peak MiB':>9} {'x payload':>9}")
        for name, command in commands.items():
            status, wall, peak = run([*PVHLINT, *command])
            print(f"{name:<15} {status:>4} {wall:>7.2f} {peak:>9.0f} {peak / args.mib:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
