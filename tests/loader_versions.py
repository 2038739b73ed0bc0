"""Where Debian 12's and Debian 13's real loaders disagree: every synthetic fixture
(``verdict_table.synthetic_images``) and the real Debian 12 and 13 images (fixtures.debian)
through both releases' QEMU (7.2 / 10.0), libxenguest (4.17 / 4.20), grub-file and GRUB's own
loaders booted in QEMU (2.06 / 2.12).

Per (image, target) the two answers are compared as ``verdict_table`` reads them (the same
``Real``: accept, message, QEMU's path), plus GRUB's loaders (tests/loaders/grub_boot.py) for
``grub-multiboot``, ``grub-multiboot2`` and ``grub-linux``, asked only when either release's
grub-file finds the header (otherwise both loaders just fail their scan). A difference is
asked again ``REPEATS`` times on both sides, uncached: when a loader answers differently from
run to run (QEMU's note walk on Debian's grub-i386-xen.bin crashes at random, in 7.2 and 10.0
alike), it is listed apart as unstable with every answer seen, not as a version difference.
Output: the verdict differences (accept or QEMU path differ), the message-only differences,
the unstable ones.

    python -m tests.loader_versions              # needs the chroot (tests/loaders/trixie_root)
    python -m tests.loader_versions --no-debian  # synthetic images only
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fixtures import debian
from fixtures.catalogue import catalogue
from fixtures.elfgen import (
    XEN_ELFNOTE_GUEST_OS,
    XEN_ELFNOTE_LOADER,
    XEN_ELFNOTE_PADDR_OFFSET,
    XEN_ELFNOTE_PHYS32_ENTRY,
    XEN_ELFNOTE_XEN_VERSION,
    Load,
    Note,
    NoteArea,
    build_elf,
    xen_num,
    xen_str,
)
from tests.loaders import LOADER_VERSIONS, Release, trixie_root
from tests.loaders.grub_boot import grub_load_verdict
from tests.loaders.pvh_kernel import DEFAULT_MESSAGE, guest_code
from tests.verdict_table import (
    _PROBES,
    COMPARED,
    DEBIAN_ROWS,
    GRUB_KINDS,
    Real,
    debian_path,
    real_verdicts,
    synthetic_images,
    write_synthetic,
)

RELEASES = (Release.DEBIAN12, Release.DEBIAN13)
GRUB_LOADERS = {
    "grub-multiboot": "multiboot",
    "grub-multiboot2": "multiboot2",
    "grub-linux": "linux",
}
GRUB_LOADER_GATE = {
    "grub-multiboot": "multiboot1",
    "grub-multiboot2": "multiboot2",
    "grub-linux": "linux",
}
# rust-vmm: one linux-loader (Debian unstable's 0.14) answers for both releases.
TARGETS = (*(target for target in COMPARED if target != "rust-vmm"), *GRUB_LOADERS)
REPEATS = 4

ENTRY = 0x100000


def pvh_elf(elf_class: int, extra: tuple[Note, ...] = (), memsz: int | None = None) -> bytes:
    """The PVH test kernel's code in one PT_LOAD at ENTRY with GUEST_OS, XEN_VERSION, LOADER,
    ``extra`` and PHYS32_ENTRY notes; ``memsz`` overrides the segment's p_memsz."""
    notes = [
        xen_str(XEN_ELFNOTE_GUEST_OS, "linux"),
        xen_str(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"),
        xen_str(XEN_ELFNOTE_LOADER, "generic"),
        *extra,
        xen_num(XEN_ELFNOTE_PHYS32_ENTRY, ENTRY, elf_class // 8),
    ]
    load = Load(ENTRY, ENTRY, guest_code(ENTRY, DEFAULT_MESSAGE), memsz=memsz)
    return build_elf(elf_class=elf_class, loads=[load], note_areas=[NoteArea(notes)]).data


def without_section_headers(data: bytes) -> bytes:
    """The ELF with e_shoff, e_shnum and e_shstrndx zeroed (no section header table)."""
    out = bytearray(data)
    if out[4] == 1:  # ELFCLASS32
        struct.pack_into("<I", out, 32, 0)
        struct.pack_into("<3H", out, 46, 0, 0, 0)
    else:
        struct.pack_into("<Q", out, 40, 0)
        struct.pack_into("<3H", out, 58, 0, 0, 0)
    return bytes(out)


# The known version differences (issue 13, and GRUB's section header check found here), built
# here because no fixture carries them yet.
VERSION_PROBES: dict[str, tuple[str, bytes]] = {
    "version-pvh64-paddr-offset-no-virt-base": (
        "ELF64 PVH kernel, PADDR_OFFSET 0, no VIRT_BASE (Xen b77ed96fce)",
        pvh_elf(64, (xen_num(XEN_ELFNOTE_PADDR_OFFSET, 0, 8),)),
    ),
    "version-pvh64-filesz-above-memsz": (
        "ELF64 PVH kernel whose PT_LOAD has p_memsz 0x10 < p_filesz",
        pvh_elf(64, memsz=0x10),
    ),
    "version-elf32-mb2-no-section-headers": (
        "the elf32-mb2 fixture with e_shoff, e_shnum and e_shstrndx zeroed",
        without_section_headers(catalogue()["elf32-mb2"].data),
    ),
}


@dataclass(frozen=True)
class Difference:
    image: str
    target: str
    old: Real  # Debian 12's loader
    new: Real  # Debian 13's loader
    # Every distinct answer seen when asked again, per release; more than one: unstable.
    seen: dict[Release, frozenset[Real]]

    @property
    def unstable(self) -> bool:
        return any(len(answers) > 1 for answers in self.seen.values())

    @property
    def verdict_differs(self) -> bool:
        return (self.old.accept, self.old.path) != (self.new.accept, self.new.path)


def _grub_loader(path: Path, command: str, release: Release) -> Real:
    verdict = grub_load_verdict(path, command, release=release)
    return Real(verdict.accept, verdict.message or "loaded")


def probe(target: str, path: Path, release: Release) -> Real:
    """One target's real answer, not cached."""
    if target in GRUB_LOADERS:
        return _grub_loader(path, GRUB_LOADERS[target], release)
    return _PROBES[target](path, release)


def _asked_again(
    target: str, path: Path, first: Real, release: Release, repeats: int
) -> frozenset[Real]:
    return frozenset([first, *(probe(target, path, release) for _ in range(repeats))])


def answers(path: Path, release: Release, headers: set[str]) -> dict[str, Real]:
    """target -> Real for one release; GRUB's loaders only for the grub-file ``headers``
    (targets of GRUB_KINDS) found by either release."""
    found = dict(real_verdicts(path, release))
    for target, command in GRUB_LOADERS.items():
        if GRUB_LOADER_GATE[target] in headers:
            found[target] = _grub_loader(path, command, release)
    return found


def compare_image(name: str, path: Path, repeats: int = REPEATS) -> list[Difference]:
    """Every target where the two releases' loaders answer differently (each asked
    ``repeats`` more times to tell a version difference from an unstable loader)."""
    headers = {
        kind
        for release in RELEASES
        for kind, real in real_verdicts(path, release).items()
        if kind in GRUB_KINDS and real.accept
    }
    both = {release: answers(path, release, headers) for release in RELEASES}
    old, new = both[Release.DEBIAN12], both[Release.DEBIAN13]
    return [
        Difference(
            name,
            target,
            old[target],
            new[target],
            {r: _asked_again(target, path, both[r][target], r, repeats) for r in RELEASES},
        )
        for target in TARGETS
        if target in old and target in new and old[target] != new[target]
    ]


def debian_images(directory: Path) -> list[tuple[str, Path]]:
    """Debian 12's rows as in verdict_table, then Debian 13's (fetched through the chroot)."""
    found = []
    for name in DEBIAN_ROWS:  # Debian 12's images, then Debian 13's
        try:
            found.append((name, debian_path(name, debian.image, directory)))
        except debian.FetchError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " / ")


def _answer(real: Real) -> str:
    word = "accept" if real.accept else "reject"
    return f"{word}: {_cell(real.detail)}"


def _table(title: str, rows: list[tuple[str, ...]], heads: tuple[str, str]) -> list[str]:
    lines = [f"## {title}: {len(rows)}", "", f"| image | target | {heads[0]} | {heads[1]} |"]
    lines.append("|---|---|---|---|")
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return [*lines, ""]


def report(differences: Iterable[Difference], images: int) -> str:
    items = list(differences)
    versions = " vs ".join(
        f"{release} (QEMU {v['qemu']}, Xen {v['xen']}, GRUB {v['grub']})"
        for release, v in LOADER_VERSIONS.items()
    )
    lines = [f"# Debian 12 vs Debian 13 loaders: {versions}", ""]
    stable = [d for d in items if not d.unstable]
    for title, chosen in (
        (
            "Verdict differences (accept, or QEMU's boot path)",
            [d for d in stable if d.verdict_differs],
        ),
        ("Same verdict, different message", [d for d in stable if not d.verdict_differs]),
    ):
        rows = [(d.image, d.target, _answer(d.old), _answer(d.new)) for d in chosen]
        lines += _table(title, rows, ("Debian 12", "Debian 13"))
    unstable = [
        (d.image, d.target, *("; ".join(sorted(map(_answer, d.seen[r]))) for r in RELEASES))
        for d in items
        if d.unstable
    ]
    title = f"Unstable: the answer changes from run to run ({REPEATS + 1} runs each)"
    lines += _table(title, unstable, ("Debian 12's answers", "Debian 13's answers"))
    lines.append(f"{len(items)} differences over {images} images and targets {', '.join(TARGETS)}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.loader_versions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--no-debian", action="store_true", help="synthetic images only")
    args = parser.parse_args(argv)
    try:
        trixie_root.ensure(verbose=True)
    except trixie_root.TrixieRootError as exc:
        print(f"tests.loader_versions: no Debian 13 chroot: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pvhlint-versions-") as tmp:
        images = list(write_synthetic(Path(tmp) / "synthetic").items())
        assert len(images) == len(synthetic_images())
        for name, (_, data) in VERSION_PROBES.items():
            (Path(tmp) / f"{name}.bin").write_bytes(data)
            images.append((name, Path(tmp) / f"{name}.bin"))
        if not args.no_debian:
            images += debian_images(Path(tmp) / "debian")
        with ThreadPoolExecutor(max_workers=2) as pool:
            found = pool.map(lambda item: compare_image(*item), images)
            differences = [d for per_image in found for d in per_image]
    sys.stdout.write(report(differences, len(images)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
