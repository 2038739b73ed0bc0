"""The long fuzz run: `python -m tests.fuzz --minutes 30` (README, "Fuzzing").

CI runs a bounded, derandomized budget (tests/test_robustness.py); this runs the same
targets with fresh hypothesis seeds until the time is up, after the full sweeps:

1. every prefix of every fixture (the large ones too), then the structure-scaling cases
   (counts up to the loaders' caps) within the CPU budget per image;
2. the Debian images (fetched with apt-get download; skipped when unavailable): prefixes
   at every boundary plus 2000 seeded points each, the payload cut mid-stream, the vmlinux
   inside cut at its boundaries;
3. rounds of hypothesis targets: mutated fixtures, mutated kernels inside every codec,
   fix --dry-run on mutants, mutated Debian images (full decode);
4. the command line (one process per case) on every input that broke a contract and on
   --cli samples.

Inputs that break a contract are written to --out (default fuzz-findings/) with what
broke; the exit status is 1 if there was any, else 0. One line of counts per sweep.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzlib
from tests.fuzzlib import (
    Bug,
    SweepJob,
    Tally,
    boundaries,
    cli_contract,
    corpus,
    exercise,
    exercise_fix,
    inner_elf,
    mutate,
    pvhlint_cli,
    rewrap_payload,
    run_sweeps,
    sample_points,
)

REAL = ("amd64", "cloud", "amd64-signed", "xen", "xen-efi", "grub-i386-xen",
        "grub-i386-xen_pvh", "grub-x86_64-xen", "gnumach-xen", "gnumach")  # fmt: skip


class Run:
    def __init__(self, out: Path, deadline: float) -> None:
        self.out, self.deadline = out, deadline
        self.findings: list[Path] = []
        self.tallies: dict[str, Tally] = {}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def keep(self, data: bytes, why: str) -> None:
        """Write an input that broke a contract, and what the command line makes of it."""
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{hashlib.sha256(data).hexdigest()[:16]}.bin"
        path.write_bytes(data)
        result = pvhlint_cli("check", path)
        broken = cli_contract(result, [path])
        verdict = f"check: exit {result.returncode}; {broken or 'contract kept'}"
        path.with_suffix(".txt").write_text(f"{why}\n{verdict}\n{result.stderr}")
        self.findings.append(path)
        print(f"  FOUND {path}: {why.splitlines()[0][:160]}", flush=True)

    def tally(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally(name))

    def sweep(self, jobs: list[SweepJob]) -> None:
        if not jobs:
            return
        total, bugs = run_sweeps(jobs)
        self.tally(total.name).merge(total)
        for bug in bugs:
            print(f"  FOUND {bug[:200]}", flush=True)
        self.findings.extend(Path(bug.split(":")[0]) for bug in bugs)
        print(total.line(), flush=True)


def sweep_fixtures(run: Run) -> None:
    jobs = [SweepJob("every prefix of every fixture", name, data, list(range(1, len(data) + 1)))
            for name, data in sorted(corpus(), key=lambda item: -len(item[1]))]  # fmt: skip
    run.sweep(jobs)


def sweep_scaling(run: Run, folder: Path) -> None:
    """Structure counts at the loaders' caps, each within the CPU budget per image."""
    tally = run.tally("structure-scaling cases (CPU budget per image)")
    for name, data in fuzzlib.scaling_cases().items():
        for fixing in (False, True):
            try:
                tally.add(name, exercise_fix(data, folder) if fixing else exercise(data, name))
            except Bug as bug:
                run.keep(data, f"{name}: {bug}")
    print(tally.line(), flush=True)


def real_images() -> dict[str, bytes]:
    from fixtures import debian

    found = {}
    for name in REAL:
        try:
            found[name] = debian.image(name).read_bytes()
        except debian.FetchError as exc:
            print(f"  {name}: unavailable ({exc}); skipped", flush=True)
    return found


def sweep_real(run: Run, images: dict[str, bytes], seed: int) -> None:
    jobs = []
    for name, data in images.items():
        cuts = sorted(set(boundaries(data)) | set(sample_points(len(data), 2000, seed)))
        jobs += [SweepJob("real images: prefixes", name, data, cuts[i::2]) for i in (0, 1)]
        vmlinux = inner_elf(data) if data[0x202:0x206] == b"HdrS" else None
        if vmlinux is not None and name != "amd64-signed":
            inner = sorted(set(boundaries(vmlinux)) | set(sample_points(len(vmlinux), 300, seed)))
            jobs.append(SweepJob("real images: prefixes", f"{name}/vmlinux", vmlinux, inner))
    run.sweep(jobs)


def hypothesis_round(run: Run, name: str, target: Callable[..., None], examples: int) -> None:
    """One round of a target with a fresh seed; a failure (after shrinking) is kept."""
    tally = run.tally(name)
    start, before = time.monotonic(), tally.cases
    try:
        settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                 suppress_health_check=list(HealthCheck), print_blob=True)(target)()  # fmt: skip
    except Bug as bug:
        run.keep(bug.data, f"{name}: {bug}")
    except Exception as exc:  # the harness itself, or hypothesis reporting a flaky bug
        print(f"  {name}: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
    rate = (tally.cases - before) / max(time.monotonic() - start, 1e-9)
    print(f"  {name}: {tally.cases} cases so far ({rate:.0f}/s)", flush=True)


def targets(run: Run, images: dict[str, bytes], folder: Path) -> dict[str, Callable[..., None]]:
    seeds = list(corpus())
    bzimages = [(n, d) for n, d in seeds if d[0x202:0x206] == b"HdrS" and len(d) < 1 << 16]
    inners = {n: inner_elf(d) for n, d in bzimages}
    fixable = [(n, d) for n, d in seeds if b"Xen\0" in d and len(d) <= 1 << 16]

    @given(seed=st.sampled_from(seeds), rng=st.randoms(use_true_random=False),
           rounds=st.integers(1, 8))  # fmt: skip
    def fixtures(seed: tuple[str, bytes], rng: random.Random, rounds: int) -> None:
        run.tally("mutated fixtures").add(seed[0], exercise(mutate(seed[1], rng, rounds)))

    @given(seed=st.sampled_from(bzimages), rng=st.randoms(use_true_random=False),
           rounds=st.integers(1, 6))  # fmt: skip
    def payloads(seed: tuple[str, bytes], rng: random.Random, rounds: int) -> None:
        inner = inners[seed[0]]
        wrapped = rewrap_payload(seed[1], mutate(inner, rng, rounds)) if inner else None
        if wrapped is not None:
            run.tally("mutated kernels inside payloads").add(seed[0], exercise(wrapped))

    @given(seed=st.sampled_from(fixable), rng=st.randoms(use_true_random=False),
           rounds=st.integers(0, 6))  # fmt: skip
    def fixes(seed: tuple[str, bytes], rng: random.Random, rounds: int) -> None:
        data = mutate(seed[1], rng, rounds) if rounds else seed[1]
        run.tally("fix --dry-run on mutants").add(seed[0], exercise_fix(data, folder))

    found = {"mutated fixtures": fixtures, "mutated kernels inside payloads": payloads,
             "fix --dry-run on mutants": fixes}  # fmt: skip
    if images:

        @given(name=st.sampled_from(sorted(images)), rng=st.randoms(use_true_random=False),
               rounds=st.integers(1, 6))  # fmt: skip
        def real(name: str, rng: random.Random, rounds: int) -> None:
            run.tally("mutated real images").add(name, exercise(mutate(images[name], rng, rounds)))

        found["mutated real images"] = real
    return found


def cli_sample(run: Run, count: int, seed: int, folder: Path) -> None:
    """`pvhlint check` and `fix --dry-run`, one process per case, on mutants and prefixes."""
    rng = random.Random(seed)
    tally = run.tally("command line, one process per case")
    items = list(corpus())
    for index in range(count):
        if run.left() <= 0:
            break
        name, data = items[rng.randrange(len(items))]
        data = mutate(data, rng, rng.randint(1, 5)) if index % 2 else data[: rng.choice(
            boundaries(data))]  # fmt: skip
        path = folder / f"cli{index}.bin"
        path.write_bytes(data)
        command = ("check",) if index % 3 else ("fix", "--dry-run", "--drop-obsolete-notes")
        result = pvhlint_cli(*command, path)
        broken = cli_contract(result, [path])
        if broken:
            run.keep(data, f"{' '.join(command)}: {broken}")
        tally.add(name, fuzzlib.Outcome(f"exit {result.returncode}", "", result.seconds))
    print(tally.line(), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split(
        "\n\n")[0])  # fmt: skip
    parser.add_argument("--minutes", type=float, default=30.0, help="time budget (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="seed for sampled cut points")
    parser.add_argument("--cli", type=int, default=300, help="command-line cases (default 300)")
    parser.add_argument("--no-real", action="store_true", help="skip the Debian images")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args(argv)
    run = Run(args.out, time.monotonic() + 60 * args.minutes)
    images = {} if args.no_real else real_images()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("sweeping every prefix of every fixture", flush=True)
        sweep_fixtures(run)
        print("structure-scaling cases", flush=True)
        sweep_scaling(run, folder)
        if images and run.left() > 0:
            print("sweeping the real images", flush=True)
            sweep_real(run, images, args.seed)
        if run.left() > 0:
            cli_sample(run, args.cli, args.seed, folder)
        rounds = targets(run, images, folder)
        while run.left() > 0:
            for name, target in rounds.items():
                if run.left() <= 0:
                    break
                hypothesis_round(run, name, target, 20 if "real" in name else 500)
    print("\n".join(tally.line() for tally in run.tallies.values()))
    print(f"{len(run.findings)} input(s) broke a contract" + (f": see {args.out}/"
                                                              if run.findings else ""))  # fmt: skip
    return 1 if run.findings else 0


if __name__ == "__main__":
    sys.exit(main())
