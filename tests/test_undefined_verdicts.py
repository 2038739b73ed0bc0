"""Verdicts pvhlint calls undefined: the loader stops only by reading memory that is not the
image's, so what it does varies with the build and the run (measured, see each case). The
check says `undefined` instead of guessing, and fails a required target as a reject does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pvhlint.checker import Options, check_image
from pvhlint.image import open_image
from tests.difftest import Recipe, set_field


def _qemu_verdict(tmp_path: Path, p_align: int):  # type: ignore[no-untyped-def]
    # PT_NOTE 1 holds the PHYS32_ENTRY note; QEMU reads its entry at 12 + p_align past it
    recipe = Recipe("pvh64-notes-two-segments", (set_field("phdr[1].p_align", 0xA8, 8, p_align),))
    path = tmp_path / "kernel"
    path.write_bytes(recipe.build())
    return check_image(open_image(str(path), lenient=True), Options()).verdicts["qemu"]


@pytest.mark.parametrize("p_align", [0x1000, 0x100000])
def test_a_pvh_entry_past_the_files_mapping_is_undefined(tmp_path, p_align):
    """Measured on this image: p_align 0x1000, 0x2000, 0x10000: QEMU 7.2 boots, 10.0
    refuses; 0x100000: 7.2 crashes (SIGSEGV), 10.0 boots; 0x10000000: both crash."""
    verdict = _qemu_verdict(tmp_path, p_align)
    assert verdict.undefined and not verdict.accept
    assert verdict.rules == ["qemu-pvh-note"]
    assert verdict.to_dict()["undefined"] is True


def test_an_entry_in_the_last_pages_slack_reads_zero(tmp_path):
    """p_align 0x800 puts the entry past the file's 4592 bytes but inside its second page,
    which the mapping fills with zeros: both QEMUs refuse (measured), a defined reject."""
    verdict = _qemu_verdict(tmp_path, 0x800)
    assert not verdict.accept and not verdict.undefined
    assert verdict.message == "Error loading uncompressed kernel without PVH ELF Note"


def test_undefined_fails_a_required_target(tmp_path):
    from tests.test_cli import pvhlint

    recipe = Recipe("pvh64-notes-two-segments", (set_field("phdr[1].p_align", 0xA8, 8, 0x1000),))
    path = tmp_path / "kernel"
    path.write_bytes(recipe.build())
    done = pvhlint("check", "--require", "qemu", path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "undefined" in done.stdout
