"""Nothing pvhlint reads may crash or hang it: every outcome is a report or a clean one-line
error. In process, every prefix of every small fixture, prefixes of the real images at each
header and layer boundary plus sampled points, and hypothesis-driven mutants aimed at the
fields the readers trust (open_image, every rule, fix --dry-run); through the real command,
a sample of the same inputs. Counts and the longest case are printed at the session's end.

The long run is `python -m tests.fuzz --minutes 30` (README, "Fuzzing")."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzlib
from tests.fuzzlib import (
    CASE_LIMIT,
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
    record,
    rewrap_payload,
    run_sweeps,
    sample_points,
    small_corpus,
)

REAL_IMAGES = ("amd64", "cloud", "amd64-signed", "xen", "xen-efi", "grub-i386-xen",
               "grub-i386-xen_pvh", "grub-x86_64-xen", "gnumach-xen", "gnumach")  # fmt: skip
SAMPLED = 200  # sampled cut points per real image (the long run takes more)
CI_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                       suppress_health_check=list(HealthCheck))  # fmt: skip


def _assert_clean(tally: Tally, bugs: list[str]) -> None:
    record(tally)
    assert not bugs, "\n".join(bugs[:20])
    assert tally.slowest < CASE_LIMIT


# --- truncation sweeps -----------------------------------------------------------------------


def test_every_prefix_of_every_small_fixture():
    """Every distinct prefix of the ~130 distinct fixtures up to 16 KiB (~350 000; a prefix
    two fixtures share runs once): check's reading with every rule, and inspect's strict
    full reading."""
    items = sorted(small_corpus(), key=lambda item: item[1])
    jobs, previous = [], b""
    for name, data in items:
        shared = _common_prefix(previous, data)  # sorted: the longest shared with any other
        jobs.append(SweepJob("prefixes of every small fixture", name, data,
                             list(range(shared + 1, len(data) + 1))))  # fmt: skip
        previous = data
    jobs.sort(key=lambda job: -len(job.cuts))
    tally, bugs = run_sweeps(jobs)
    assert tally.cases == sum(len(job.cuts) for job in jobs) > 300_000
    _assert_clean(tally, bugs)


def _common_prefix(a: bytes, b: bytes) -> int:
    size = min(len(a), len(b))
    low, high = 0, size  # binary search on equal prefixes: bytes comparison runs in C
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def test_prefixes_of_the_larger_fixtures_at_boundaries():
    """The three fixtures past 16 KiB (payloads with 256 KiB of relocations): every boundary
    and 300 sampled cuts each."""
    big = [(name, data) for name, data in corpus() if len(data) > fuzzlib.SMALL]
    jobs = [SweepJob("prefixes of the larger fixtures", name, data,
                     sorted(set(boundaries(data)) | set(sample_points(len(data), 300, 7))))
            for name, data in big]  # fmt: skip
    _assert_clean(*run_sweeps(jobs))


def _payload_end(data: bytes) -> int | None:
    from pvhlint.image import open_image_bytes

    layers = open_image_bytes(data, "cuts", lenient=True, max_output=fuzzlib.CAP).layers
    if len(layers) < 2 or layers[1].kind != "payload" or not layers[1].size:
        return None
    return layers[1].offset + layers[1].size


def _payload_cuts(data: bytes, seed: int, count: int) -> list[bytes]:
    """The image with payload_length shortened to cut the compressed stream itself (a
    plain prefix cuts the file, and the payload is then simply past its end)."""
    end = _payload_end(data)
    if end is None:
        return []
    start = end - struct.unpack_from("<I", data, 0x24C)[0]
    size = end - start
    cuts = sorted({8, 16, 64, 512, size - 5} | set(sample_points(size, count, seed)))
    return [data[:0x24C] + struct.pack("<I", cut) + data[0x250 : start + cut] for cut in cuts]


# amd64-signed holds amd64's payload: its own sweep stays outside the payload.
SAME_PAYLOAD_AS = {"amd64-signed": "amd64"}


@pytest.mark.realworld
@pytest.mark.parametrize("name", REAL_IMAGES)
def test_prefixes_of_a_real_image(debian_image, name):
    """Prefixes at every header and layer boundary (ELF header, program headers, note area
    and each note, setup header fields, PE header, payload start and end, CRC) and SAMPLED
    seeded points; for a bzImage also its payload cut mid-stream, and the vmlinux inside it
    cut at its own boundaries. Past the payload's end every prefix decodes the same whole
    payload: there, only the full file gets inspect's strict full decode too."""
    data = debian_image(name).read_bytes()
    cuts = sorted(set(boundaries(data)) | set(sample_points(len(data), SAMPLED, 11)))
    end = _payload_end(data) or len(data) + 1
    title = "prefixes of the real images"
    inside = [c for c in cuts if c < end]
    jobs = [SweepJob(title, name, data, inside[half::2]) for half in (0, 1)]
    jobs += [SweepJob(title, name, data, [c for c in cuts if end <= c < len(data)], strict=False),
             SweepJob(title, name, data, [len(data)])]  # fmt: skip
    vmlinux = inner_elf(data) if name not in SAME_PAYLOAD_AS and end <= len(data) else None
    if vmlinux is not None:
        inner = sorted(set(boundaries(vmlinux)) | set(sample_points(len(vmlinux), 30, 17)))
        jobs += [SweepJob(title, f"{name}/vmlinux", vmlinux, inner[half::2]) for half in (0, 1)]
    tally, bugs = run_sweeps(jobs, workers=2)
    if name not in SAME_PAYLOAD_AS:
        for index, cut in enumerate(_payload_cuts(data, 13, 12)):
            try:
                tally.add(f"{name} payload cut {index}", exercise(cut, strict=index % 6 == 5))
            except fuzzlib.Bug as bug:
                bugs.append(f"{name} payload cut {index}: {bug}")
    _assert_clean(tally, bugs)


# --- mutants -------------------------------------------------------------------------------


SEEDS = st.sampled_from(corpus())


@CI_SETTINGS
@given(seed=SEEDS, rng=st.randoms(use_true_random=False), rounds=st.integers(1, 6))
def test_mutated_fixtures_give_reports_or_clean_errors(seed, rng, rounds):
    name, data = seed
    tally = Tally("hypothesis: mutated fixtures")
    tally.add(name, exercise(mutate(data, rng, rounds)))
    record(tally)


BZIMAGES = [(name, data) for name, data in corpus()
            if data[0x202:0x206] == b"HdrS" and len(data) <= fuzzlib.SMALL]  # fmt: skip


@settings(CI_SETTINGS, max_examples=120)
@given(seed=st.sampled_from(BZIMAGES), rng=st.randoms(use_true_random=False),
       rounds=st.integers(1, 4))  # fmt: skip
def test_hostile_kernels_inside_every_codec(seed, rng, rounds):
    """The ELF inside a bzImage payload mutated and compressed again with the same codec."""
    name, data = seed
    inner = _inner(name)
    if inner is None:
        return
    wrapped = rewrap_payload(data, mutate(inner, rng, rounds))
    if wrapped is not None:
        tally = Tally("hypothesis: mutated kernels inside payloads")
        tally.add(name, exercise(wrapped))
        record(tally)


_INNER: dict[str, bytes | None] = {}


def _inner(name: str) -> bytes | None:
    if name not in _INNER:
        _INNER[name] = inner_elf(dict(corpus())[name])
    return _INNER[name]


FIXABLE = [(name, data) for name, data in corpus() if b"Xen\0" in data and len(data) <= 8192]


@settings(CI_SETTINGS, max_examples=150)
@given(seed=st.sampled_from(FIXABLE), rng=st.randoms(use_true_random=False),
       rounds=st.integers(0, 4))  # fmt: skip
def test_fix_dry_run_on_mutants(tmp_path_factory, seed, rng, rounds):
    name, data = seed
    folder = tmp_path_factory.mktemp("fix", numbered=True)
    tally = Tally("hypothesis: fix --dry-run on mutants")
    tally.add(name, exercise_fix(mutate(data, rng, rounds) if rounds else data, folder))
    record(tally)


@pytest.mark.realworld
@settings(CI_SETTINGS, max_examples=40)
@given(name=st.sampled_from(REAL_IMAGES), rng=st.randoms(use_true_random=False),
       rounds=st.integers(1, 4))  # fmt: skip
def test_mutated_real_images(debian_image, name, rng, rounds):
    """Debian's images with their headers mutated (check's reading: a full decode of a
    66 MB payload per example would not fit CI's budget; the long run does it)."""
    data = _real(debian_image, name)
    tally = Tally("hypothesis: mutated real images")
    tally.add(name, exercise(mutate(data, rng, rounds), strict=False))
    record(tally)


_REAL: dict[str, bytes] = {}


def _real(debian_image, name: str) -> bytes:  # type: ignore[no-untyped-def]
    if name not in _REAL:
        _REAL[name] = debian_image(name).read_bytes()
    return _REAL[name]


# --- the command line ------------------------------------------------------------------------


def _cli_sample(folder: Path, count: int, seed: int) -> list[Path]:
    """Prefixes at boundaries and mutants of the fixtures, written as files."""
    rng = random.Random(seed)
    items = list(corpus())
    paths = []
    for index in range(count):
        data = items[rng.randrange(len(items))][1]
        if index % 2:
            cuts = boundaries(data)
            case = data[: rng.choice(cuts)]
        else:
            case = mutate(data, rng, rng.randint(1, 5))
        path = folder / f"case{index:04d}.bin"
        path.write_bytes(case)
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    ("command", "seed"),
    [(("check",), 1), (("check", "--format", "json"), 2), (("inspect",), 3),
     (("inspect", "--json"), 4)],
)  # fmt: skip
def test_the_command_keeps_its_contract_on_a_sample(tmp_path, command, seed):
    """100 cases per command in one process each: exit 0, 1 or 2; every stderr line is
    `pvhlint: FILE: message` for one of the inputs; no traceback, no internal error."""
    paths = _cli_sample(tmp_path, 100, seed)
    result = pvhlint_cli(*command, *paths)
    assert not cli_contract(result, paths), cli_contract(result, paths)
    tally = Tally(f"command line: {' '.join(command)} (100 files per run)")
    tally.add(f"{len(paths)} files", fuzzlib.Outcome(f"exit {result.returncode}", "",
                                                     result.seconds))  # fmt: skip
    record(tally)


def test_fix_dry_run_keeps_its_contract_on_a_sample(tmp_path):
    """One process per case (fix takes one image): exit 0/1/2 and one clean stderr line."""
    tally = Tally("command line: fix --dry-run (one file per run)")
    for index, path in enumerate(_cli_sample(tmp_path, 16, 5)):
        before = path.read_bytes()
        args = ("--drop-obsolete-notes",) if index % 2 else ("--set-note", "GUEST_OS=linux")
        result = pvhlint_cli("fix", "--dry-run", *args, path)
        assert not cli_contract(result, [path]), (path, cli_contract(result, [path]))
        assert result.returncode != 2 or len(result.stderr.strip().splitlines()) == 1
        assert path.read_bytes() == before
        tally.add(path.name, fuzzlib.Outcome(f"exit {result.returncode}", "", result.seconds))
    record(tally)


def test_fix_edits_notes_padded_to_8(tmp_path):
    """A PT_NOTE with p_align 8: the edit keeps alignment or refuses, never crashes."""
    path = tmp_path / "pad8"
    path.write_bytes(dict(corpus())["variants/pvh64-notes-pad8"])
    result = pvhlint_cli("fix", "--dry-run", "--set-note", "PHYS32_ENTRY=0x100008", path)
    assert result.returncode in (0, 1) and "internal error" not in result.stderr
