"""rust-vmm's linux-loader 0.14 (tests/loaders/rust_vmm.py) on fixtures whose answers were
read off the real crate, and pvhlint's model of it (pvhlint/loaders/rust_vmm.py) giving the
same answer, message for message."""

from __future__ import annotations

from pathlib import Path

import pytest

from pvhlint.image import open_image
from pvhlint.loaders.rust_vmm import rust_vmm_pvh
from tests import verdict_table as vt
from tests.loaders.rust_vmm import MISSING_PVH, rust_vmm_unavailable_reason, rust_vmm_verdict

FAILED = "err Kernel Loader: failed to load ELF kernel image: Kernel Loader: "
# fixture -> the probe's line, as linux-loader 0.14 printed it.
ANSWERS = {
    "pvh64": "ok pvh 0x100000",
    "elf64-pvh": "ok pvh 0x1000040",
    # notes padded by 4 in a PT_NOTE with p_align 8: linux-loader pads by 4 regardless
    "elf64-notes-palign8": "ok pvh 0x1000040",
    # notes padded by 8: the 4-padded walk misses PHYS32_ENTRY
    "pvh64-notes-pad8": "ok no-pvh",
    # an ELF64 with EI_CLASS 0: linux-loader never reads EI_CLASS
    "elf64-class0": "ok pvh 0x100000",
    "elf64-notes-sections-only": "ok no-pvh",
    "pvh64-notes-two-segments": "ok no-pvh",  # the last PT_NOTE decides
    "elf32-pvh": FAILED + "Invalid program header size",
    "elf64-cut-in-half": FAILED + "Unable to read kernel image",
    "text-short": FAILED + "Unable to read elf header",
    "bzimage-no-hdrs": FAILED + "Invalid Elf magic number",
    "gzip-elf64-pvh": FAILED + "Invalid Elf magic number",
    "elf64-phoff-wraps": FAILED + "Unable to seek to program header",
    "elf64-phnum-past-eof": FAILED + "Unable to read program header",
    "elf64-note-truncated": FAILED + "Unable to read note header",
}


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("rust-vmm")
    images = vt.synthetic_images()
    found = {}
    for name in ANSWERS:
        found[name] = directory / f"{name}.bin"
        found[name].write_bytes(images[name][1])
    return found


@pytest.mark.parametrize("name", ANSWERS)
def test_linux_loader_answers(name: str, paths: dict[str, Path]) -> None:
    why_not = rust_vmm_unavailable_reason()
    if why_not is not None:
        pytest.skip(f"rust-vmm probe unavailable: {why_not}")
    verdict = rust_vmm_verdict(paths[name])
    assert verdict.key_lines == (ANSWERS[name],)
    assert verdict.accept is ANSWERS[name].startswith("ok pvh")
    if ANSWERS[name] == "ok no-pvh":
        assert verdict.message == MISSING_PVH


@pytest.mark.parametrize("name", ANSWERS)
def test_model_says_what_linux_loader_says(name: str, paths: dict[str, Path]) -> None:
    found = rust_vmm_pvh(open_image(str(paths[name]), lenient=True))
    if found.error is not None:
        said = f"err {found.error.text}"
    else:
        said = "ok no-pvh" if found.entry is None else f"ok pvh {found.entry:#x}"
    assert said == ANSWERS[name]
