"""Shared by the robustness tests and `python -m tests.fuzz`: the seed corpus, mutators
that aim at the fields readers trust, and `exercise`, which runs one input through every
reader and rule and fails on anything but a report or a clean one-line ImageError."""

from __future__ import annotations

import hashlib
import os
import random
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from pvhlint.bzimage import SETUP_FIELDS
from pvhlint.checker import Options, check_image
from pvhlint.codecs import DEFAULT_MAX_OUTPUT
from pvhlint.errors import ImageError, UsageError
from pvhlint.fixer.pipeline import fix
from pvhlint.fixer.request import FixRequest
from pvhlint.image import open_image_bytes
from pvhlint.model import Image
from pvhlint.rule import discover_rules

# Every in-process case must finish within this much CPU time (the issue: "never more than a
# few seconds"). CPU, not wall time: a machine busy with other jobs must not fail a case.
CASE_LIMIT = 5.0


def cpu_seconds() -> float:
    """CPU time of this process (every thread), unaffected by other processes' load."""
    return time.process_time()


def child_cpu_seconds() -> float:
    """CPU time of the child processes waited for so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


SMALL = 16 << 10
# The cap used in process: the real default (passed explicitly, so no configuration lookup).
CAP = DEFAULT_MAX_OUTPUT
INTERESTING = (0, 1, 2, 3, 4, 7, 8, 12, 0x10, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF, 0x8000,
               0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFC, 0xFFFFFFFF,
               1 << 32, 1 << 62, 1 << 63, (1 << 64) - 8, (1 << 64) - 1)  # fmt: skip


class Bug(AssertionError):
    """A reader or rule broke its contract on some input (the input is attached)."""

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(f"{message} [input sha256 {hashlib.sha256(data).hexdigest()[:16]}, "
                         f"{len(data)} bytes]")  # fmt: skip
        self.data = data


# --- the corpus ----------------------------------------------------------------------------


@cache
def corpus() -> tuple[tuple[str, bytes], ...]:
    """Every distinct fixture of the three catalogues, (name, bytes), in a fixed order."""
    from fixtures.catalogue import catalogue
    from fixtures.variants import variants
    from fixtures.variants_boot import BUILDERS, variant

    found: dict[bytes, tuple[str, bytes]] = {}
    named = [(f"catalogue/{n}", f.data) for n, f in catalogue().items()]
    named += [(f"variants/{n}", v.data) for n, v in variants().items()]
    named += [(f"variants_boot/{n}", variant(n)) for n in BUILDERS]
    for name, data in named:
        found.setdefault(hashlib.sha256(data).digest(), (name, data))
    return tuple(found.values())


def small_corpus() -> list[tuple[str, bytes]]:
    return [(name, data) for name, data in corpus() if len(data) <= SMALL]


# --- running one case ----------------------------------------------------------------------


@dataclass
class Outcome:
    """What one input gave: "report" (with the finding count) or "error" (the message)."""

    kind: str
    detail: str
    seconds: float


@dataclass
class Tally:
    """Cases run by a sweep, and the slowest one."""

    name: str
    cases: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_case: str = ""
    kinds: dict[str, int] = field(default_factory=dict)

    def add(self, label: str, outcome: Outcome) -> None:
        self.cases += 1
        self.seconds += outcome.seconds
        self.kinds[outcome.kind] = self.kinds.get(outcome.kind, 0) + 1
        if outcome.seconds > self.slowest:
            self.slowest, self.slowest_case = outcome.seconds, label

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.seconds += other.seconds
        for kind, count in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + count
        if other.slowest > self.slowest:
            self.slowest, self.slowest_case = other.slowest, other.slowest_case

    def line(self) -> str:
        return (f"{self.name}: {self.cases} cases in {self.seconds:.1f} s "
                f"({', '.join(f'{k} {v}' for k, v in sorted(self.kinds.items()))}); "
                f"longest {self.slowest * 1000:.1f} ms ({self.slowest_case})")  # fmt: skip


STATS: dict[str, Tally] = {}  # filled by the tests, printed at the end of the session


def record(tally: Tally) -> None:
    if tally.name in STATS:
        STATS[tally.name].merge(tally)
    else:
        STATS[tally.name] = tally


def _clean_error(exc: ImageError, name: str, data: bytes) -> str:
    text = str(exc)
    if "\n" in text or not text.startswith(name):
        raise Bug(f"ImageError is not one line naming the file: {text!r}", data)
    return exc.message


def _run_rules(image: Image) -> int:
    """`check` as the image claims its targets, then every rule whatever its `when`."""
    findings = len(check_image(image, Options()).findings)
    for rule in discover_rules():
        rule.run(image)
    return findings


def exercise(data: bytes, name: str = "fuzz-case", *, strict: bool = True) -> Outcome:
    """`check`'s path (lenient open, every rule) and, with `strict`, `inspect`'s (strict,
    full decode). Any exception but ImageError, or a case over CASE_LIMIT, is a Bug."""
    start = cpu_seconds()
    try:
        outcome = _exercise(data, name, strict)
    except ImageError as exc:
        outcome = Outcome("error", _clean_error(exc, name, data), 0.0)
    except Bug:
        raise
    except Exception as exc:
        raise Bug(f"{type(exc).__name__}: {exc}", data) from exc
    outcome.seconds = cpu_seconds() - start
    if outcome.seconds > CASE_LIMIT:
        raise Bug(f"took {outcome.seconds:.1f} s of CPU", data)
    return outcome


def _exercise(data: bytes, name: str, strict: bool) -> Outcome:
    image = open_image_bytes(data, name, lenient=True, max_output=CAP)
    findings = _run_rules(image)
    if strict:
        try:
            open_image_bytes(data, name, full=True, max_output=CAP)
        except ImageError as exc:
            _clean_error(exc, name, data)
    return Outcome("report", str(findings), 0.0)


# Bugs in files this harness's change could not touch, reported to their owners and pinned
# by a strict xfail in tests/test_robustness.py: (exception type, function it escapes from).
KNOWN_BUGS: set[tuple[str, str]] = set()


def _known(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and (type(exc).__name__, frames[-1].name) in KNOWN_BUGS


def exercise_fix(data: bytes, folder: Path) -> Outcome:
    """`fix --dry-run --drop-obsolete-notes` and `--set-note` in process, on a file."""
    path = folder / "fix-case"
    path.write_bytes(data)
    start = cpu_seconds()
    kinds = []
    phys32_entry = (("PHYS32_ENTRY", "0x100000"),)
    for request in (FixRequest(path, drop_obsolete=True, dry_run=True),
                    FixRequest(path, set=phys32_entry, dry_run=True)):  # fmt: skip
        try:
            result = fix(request)
            kinds.append("refused" if result.refused else "planned")
        except ImageError as exc:
            _clean_error(exc, str(path), data)
            kinds.append("error")
        except (UsageError, OSError):
            kinds.append("usage")
        except Exception as exc:
            if _known(exc):
                kinds.append("known-bug")
                continue
            raise Bug(f"fix: {type(exc).__name__}: {exc}", data) from exc
    if path.read_bytes() != data:
        raise Bug("fix --dry-run changed the file", data)
    seconds = cpu_seconds() - start
    if seconds > 2 * CASE_LIMIT:
        raise Bug(f"fix took {seconds:.1f} s of CPU", data)
    return Outcome("fix-" + "/".join(kinds), "", seconds)


# --- structures scaled to the loaders' caps -----------------------------------------------

MAX_PHNUM = 0xFFFF  # e_phnum is 16 bits (PN_XNUM aside); pvhlint's reader stops there too
MAX_NOTES = 1 << 16  # libelf's ELF_MAX_TOTAL_NOTE_COUNT


def _xen_note(note_type: int, desc: bytes) -> bytes:
    return struct.pack("<III", 4, len(desc), note_type) + b"Xen\0" + desc + bytes(-len(desc) % 4)


def _elf64(phdrs: list[bytes], body: bytes, sections: tuple[bytes, ...] = ()) -> bytes:
    """ELF64 header, program headers, `body` right after them, section headers last."""
    at = 64 + 56 * len(phdrs)
    shoff = -(-(at + len(body)) // 8) * 8 if sections else 0
    head = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x100000, 64, shoff, 0, 64, 56, len(phdrs), 64,
        len(sections) + 1 if sections else 0, 0)  # fmt: skip
    data = head + b"".join(phdrs) + body
    if sections:
        data += bytes(shoff - len(data)) + bytes(64) + b"".join(sections)
    return data


def _phdr(p_type: int, offset: int, vaddr: int, size: int, flags: int = 4) -> bytes:
    return struct.pack("<IIQQQQQQ", p_type, flags, offset, vaddr, vaddr, size, size, 4)


def scaling_cases() -> dict[str, bytes]:
    """Small files whose structure counts reach the loaders' caps: each walk over them must
    be indexed or capped (issue 16 item 9: each of these took minutes of CPU)."""
    entry = struct.pack("<I", 0x100000)
    pvh = _xen_note(6, b"linux\0") + _xen_note(18, entry)
    loads = MAX_PHNUM - 1
    body = b"".join(_xen_note(18, struct.pack("<I", 0x100000 + 0x1000 * (i % loads)))
                    for i in range(MAX_NOTES))  # fmt: skip
    at = 64 + 56 * MAX_PHNUM
    phys32_over_loads = _elf64([_phdr(4, at, 0, len(body))] + [
        _phdr(1, at, 0x100000 + 0x1000 * i, 0x1000, 5) for i in range(loads)], body)  # fmt: skip
    at = 64 + 56 * MAX_PHNUM
    note_segments = _elf64([_phdr(4, at, 0, len(pvh))] * loads + [_phdr(1, at, 0x100000,
                           len(pvh), 5)], pvh)  # fmt: skip
    duplicates = pvh + b"".join(_xen_note(100 + i // 2, b"abcd") for i in range(1 << 15))
    at = 64 + 56 * 2
    duplicated_types = _elf64([_phdr(4, at, 0, len(duplicates)),
                               _phdr(1, at, 0x100000, len(duplicates), 5)], duplicates)  # fmt: skip
    many = pvh + _xen_note(3, bytes(8)) + b"".join(_xen_note(7, b"v%d\0" % i)
                                                   for i in range(60000))  # fmt: skip
    many_notes = _elf64([_phdr(4, at, 0, len(many)), _phdr(1, at, 0x100000, len(many), 5)], many)
    small = pvh + _xen_note(3, bytes(8))
    at = 64 + 56
    section = struct.pack("<IIQQQQIIQQ", 0, 7, 2, 0, at, len(small), 0, 0, 4, 0)
    note_sections = _elf64([_phdr(1, at, 0x100000, len(small), 5)], small,
                           (section,) * (MAX_PHNUM - 1))  # fmt: skip
    return {"65536 PHYS32_ENTRY notes over 65534 PT_LOADs": phys32_over_loads,
            "65534 PT_NOTEs over one area": note_segments,
            "32768 duplicated unknown note types": duplicated_types,
            "60000 notes": many_notes,
            "65534 SHT_NOTE sections over one area": note_sections}  # fmt: skip


# --- where the structure is ----------------------------------------------------------------


def boundaries(data: bytes) -> list[int]:
    """Offsets where a header or layer starts or ends in the outermost file: the ELF header,
    program headers, note areas and each note, multiboot headers and tags, the setup
    header and each of its fields, the PE header, payload start and end, the CRC."""
    cuts: set[int] = {0, 1, 4, 16, 52, 64, 0x1F1, 0x202, 0x206, 0x208, 0x26C, 0x400, len(data)}
    try:
        image = open_image_bytes(data, "boundaries", lenient=True, max_output=CAP)
    except ImageError:
        return sorted(c for c in cuts if c <= len(data))
    elf = image.elf
    if elf is not None and elf.layer == 0:
        cuts |= {elf.phoff, elf.phoff + elf.phentsize * len(elf.segments), elf.shoff}
        for seg in elf.segments:
            cuts |= {elf.phoff + seg.index * elf.phentsize, seg.offset, seg.offset + seg.filesz}
        for area in elf.note_areas:
            cuts |= {area.offset, area.offset + area.size}
            for note in area.notes:
                cuts |= {note.offset, note.offset + 12, note.desc_offset,
                         note.desc_offset + note.descsz}  # fmt: skip
    for header in image.multiboot:
        if header.layer == 0:
            cuts |= {header.offset, header.offset + 12, header.offset + 16,
                     header.offset + header.header_length}  # fmt: skip
            cuts |= {tag.offset for tag in header.tags} | {t.offset + 8 for t in header.tags}
    if image.setup is not None:
        cuts |= {offset for offset, _, _, _ in SETUP_FIELDS}
        cuts |= {offset + size for offset, size, _, _ in SETUP_FIELDS}
        cuts.add(image.setup.pm_offset)
        if image.setup.crc_end:
            cuts |= {image.setup.crc_end - 4, image.setup.crc_end}
        if image.setup.kernel_info:
            cuts.add(image.setup.kernel_info["offset"])
    if image.pe is not None:
        cuts |= {0x3C, 0x40, image.pe.offset, image.pe.offset + 24, image.pe.security_offset}
    for layer in image.layers[1:]:
        if layer.kind == "payload" and layer.size:
            cuts |= {layer.offset, layer.offset + 16, layer.offset + layer.size - 4,
                     layer.offset + layer.size}  # fmt: skip
    return sorted(c for c in cuts if 0 < c <= len(data))


def field_slots(data: bytes) -> list[tuple[int, int]]:
    """(offset, width) of every integer field the readers take from the file."""
    slots: list[tuple[int, int]] = []
    try:
        image = open_image_bytes(data, "slots", lenient=True, max_output=CAP)
    except ImageError:
        return [(0x3C, 4)]
    elf = image.elf
    if elf is not None and elf.layer == 0:
        slots += _elf_slots(elf.elf_class == 64, elf.phoff, elf.phentsize, len(elf.segments))
        slots += [(n.offset + at, 4) for a in elf.note_areas for n in a.notes for at in (0, 4, 8)]
        if elf.sections:
            wide = 8 if elf.elf_class == 64 else 4
            for sec in elf.sections:
                base = elf.shoff + sec.index * elf.shentsize
                slots += [(base + 4, 4), (base + 8 + 2 * wide, wide), (base + 8 + 3 * wide, wide)]
    for header in image.multiboot:
        if header.layer == 0:
            slots += [(header.offset + at, 4) for at in range(0, 48, 4)]
            slots += [(tag.offset + at, w) for tag in header.tags for at, w in ((0, 2), (4, 4))]
    if image.setup is not None:
        slots += [(offset, size) for offset, size, _, _ in SETUP_FIELDS]
    if image.pe is not None:
        slots += [(0x3C, 4), (image.pe.offset + 20, 2), (image.pe.security_offset, 4)]
    return [(at, width) for at, width in slots if at >= 0 and at + width <= len(data)]


def _elf_slots(wide: bool, phoff: int, phentsize: int, phnum: int) -> list[tuple[int, int]]:
    word = 8 if wide else 4
    header = [(4, 1), (5, 1), (16, 2), (18, 2), (24, word), (24 + word, word),
              (24 + 2 * word, word)]  # fmt: skip
    header += [(36 + 3 * (word - 4) + 2 * i, 2) for i in range(7)]  # e_ehsize .. e_shstrndx
    phdr = ([(0, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)] if wide
            else [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (28, 4)])  # fmt: skip
    rows = [(phoff + i * phentsize + at, w) for i in range(min(phnum, 64)) for at, w in phdr]
    return header + rows


# --- mutations -----------------------------------------------------------------------------


def set_field(data: bytes, offset: int, width: int, value: int) -> bytes:
    buf = bytearray(data)
    buf[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(buf)


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """A few of: a trusted field set to a hostile value, a byte flipped, a cut, a splice."""
    slots = _cached_slots(data)
    for _ in range(rounds):
        pick = rng.random()
        if pick < 0.55 and slots:
            offset, width = rng.choice(slots)
            value = rng.choice((*INTERESTING, len(data), len(data) - offset, rng.getrandbits(32)))
            data = set_field(data, offset, width, value)
        elif pick < 0.75 and data:
            at = rng.randrange(len(data))
            data = data[:at] + bytes([rng.getrandbits(8)]) + data[at + 1 :]
        elif pick < 0.85 and len(data) > 1:
            data = data[: rng.randrange(1, len(data))]
        elif data:
            start = rng.randrange(len(data))
            piece = data[start : start + rng.randrange(1, 64)]
            at = rng.randrange(len(data))
            data = data[:at] + piece + data[at:]
    return data or b"\0"


@lru_cache(maxsize=256)
def _cached_slots(data: bytes) -> list[tuple[int, int]]:
    return field_slots(data)


def rewrap_payload(bz: bytes, inner: bytes) -> bytes | None:
    """`bz` with its payload replaced by `inner` compressed with the same codec (in process),
    payload_length updated: hostile ELFs inside every codec."""
    from pvhlint.fixer.repack import COMPRESSORS

    try:
        image = open_image_bytes(bz, "rewrap", lenient=True, max_output=CAP)
    except ImageError:
        return None
    if len(image.layers) < 2 or image.layers[1].codec is None:
        return None
    layer = image.layers[1]
    assert layer.codec is not None and layer.size is not None
    stream = COMPRESSORS[layer.codec][0](inner)
    payload = stream + struct.pack("<I", len(inner))
    out = bz[: layer.offset] + payload + bz[layer.offset + layer.size :]
    return set_field(out, 0x24C, 4, len(payload))


def big_lz4_kernel(size: int) -> bytes:
    """A bzImage whose lz4 payload inflates to `size` bytes: an ELF64 with its notes (VIRT_BASE,
    PHYS32_ENTRY) and zeros; for memory measurements at the decompression cap."""
    from fixtures.catalogue import catalogue

    notes = (struct.pack("<III", 4, 8, 3) + b"Xen\0" + struct.pack("<Q", 0xFFFFFFFF80000000)
             + struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x1000000))  # fmt: skip
    elf = bytearray(size)
    elf[:64] = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 2, 64, 0, 0)  # fmt: skip
    elf[64:176] = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x1000000, 0x1000000, size, size, 1 << 21) + (
        struct.pack("<IIQQQQQQ", 4, 4, 0x1000, 0, 0, len(notes), len(notes), 4))  # fmt: skip
    elf[0x1000 : 0x1000 + len(notes)] = notes
    wrapped = rewrap_payload(catalogue()["bzimage-lz4"].data, bytes(elf))
    assert wrapped is not None
    return wrapped


def inner_elf(bz: bytes) -> bytes | None:
    try:
        image = open_image_bytes(bz, "inner", full=True, lenient=True, max_output=CAP)
    except ImageError:
        return None
    if len(image.layers) < 2 or image.elf is None or image.elf.layer != 1:
        return None
    blob = image.blobs[1]
    return blob.read(0, blob.read_all())


# --- the command line ----------------------------------------------------------------------


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stderr: str
    seconds: float  # CPU time of the command


def pvhlint_cli(*args: str | os.PathLike[str], timeout: float = 600) -> CliResult:
    """`timeout` is a hang limit, generous for a loaded machine."""
    start = child_cpu_seconds()
    done = subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    return CliResult([str(a) for a in args], done.returncode, done.stderr,
                     child_cpu_seconds() - start)  # fmt: skip


def cli_contract(result: CliResult, files: Iterable[Path]) -> list[str]:
    """What breaks the contract: exit 0/1/2; stderr only `pvhlint: FILE: message` lines, one
    per unreadable file, never a traceback or an internal error."""
    problems = []
    if result.returncode not in (0, 1, 2):
        problems.append(f"exit {result.returncode}")
    names = {str(path) for path in files}
    for line in result.stderr.splitlines():
        if "Traceback" in line or "internal error" in line:
            problems.append(f"stderr: {line}")
        elif not line.startswith("pvhlint: ") or line[9:].split(": ", 1)[0] not in names:
            problems.append(f"stderr line names no input file: {line!r}")
    if result.returncode == 2 and not result.stderr.strip():
        problems.append("exit 2 with nothing on stderr")
    return problems


def sample_points(size: int, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return sorted({rng.randrange(1, size + 1) for _ in range(count)})


# --- sweeps --------------------------------------------------------------------------------


@dataclass
class SweepJob:
    """Prefixes data[:cut] for each cut, under one tally name."""

    tally: str
    name: str
    data: bytes
    cuts: list[int]
    strict: bool = True


def run_sweep(job: SweepJob) -> tuple[Tally, list[str]]:
    """Every prefix of the job; returns the tally and the bugs met (cut: message)."""
    tally, bugs = Tally(job.tally), []
    for cut in job.cuts:
        try:
            tally.add(f"{job.name}[:{cut}]", exercise(job.data[:cut], strict=job.strict))
        except Bug as bug:
            bugs.append(f"{job.name}[:{cut}]: {bug}")
    return tally, bugs


def run_sweeps(jobs: list[SweepJob], workers: int | None = None) -> tuple[Tally, list[str]]:
    """Jobs across processes (forked, so the corpus is shared); tallies merged in order."""
    import multiprocessing

    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        results = [run_sweep(job) for job in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(run_sweep, jobs, chunksize=1)
    total, bugs = Tally(jobs[0].tally if jobs else "sweep"), []
    for tally, found in results:
        total.merge(tally)
        bugs += found
    return total, bugs
