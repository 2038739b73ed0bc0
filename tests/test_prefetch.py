"""`pvhlint check IMAGE` opens its image in a thread while the command line is imported
(pvhlint.prefetch). The checker must get exactly what opening the file itself gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from click import Option

from fixtures import catalogue
from pvhlint import check_line, prefetch
from pvhlint.checker import Options, check_image
from pvhlint.cli import app
from pvhlint.errors import ImageError
from pvhlint.image import open_image

FIXTURES = catalogue()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "bzImage"
    path.write_bytes(FIXTURES["bzimage-xz"].data)
    return path


@pytest.fixture(autouse=True)
def nothing_pending():
    yield
    prefetch._pending = None


def test_value_options_match_the_check_command():
    command = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    taking_values = {
        name
        for param in command.params
        if isinstance(param, Option) and not param.is_flag
        for name in (*param.opts, *param.secondary_opts)
    }
    assert taking_values == check_line.VALUE_OPTIONS


def test_lone_image_from_the_command_line(image: Path, tmp_path: Path):
    other = tmp_path / "other"
    other.write_bytes(b"x")
    spelled = f"{tmp_path}/./bzImage"
    assert prefetch.lone_image(["check", str(image)]) == str(image)
    assert prefetch.lone_image(["check", spelled]) == str(Path(spelled))  # as typer hands it on
    assert prefetch.lone_image(["check", "-r", "xen-pvh", "--format=json", str(image)]) == str(
        image
    )
    assert prefetch.lone_image(["check", "--", "--config"]) is None  # a file named so: absent
    assert prefetch.lone_image(["check", "-j", "2", "--", str(image)]) == str(image)


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "{image}"],
        ["check"],
        ["check", "{image}", "{image}"],
        ["check", "{image}", "{dir}"],
        ["check", "{dir}"],
        ["check", "{dir}/missing"],
        ["check", "--help", "{image}"],
        ["check", "--require", "{image}"],
        # A cap of the command's own (issue 16 item 11): a prefetch with the default cap
        # would be waited for, then thrown away.
        ["check", "--max-decompressed", "4MiB", "{image}"],
        ["check", "--max-decompressed=4MiB", "{image}"],
        ["check", "--config", "{dir}/pvhlint.toml", "{image}"],
        ["check", "--config={dir}/pvhlint.toml", "{image}"],
    ],
)
def test_nothing_to_prefetch(argv: list[str], image: Path):
    filled = [arg.format(image=image, dir=image.parent) for arg in argv]
    assert prefetch.lone_image(filled) is None
    prefetch.start(filled)
    assert prefetch._pending is None


def test_prefetched_model_checks_like_a_fresh_open(image: Path):
    prefetch.start(["check", str(image)])
    assert prefetch._pending is not None
    prefetched = prefetch.take(str(image))
    assert prefetched is not None
    fresh = open_image(str(image), lenient=True)
    assert check_image(prefetched, Options()).to_dict() == (check_image(fresh, Options()).to_dict())
    assert prefetch.take(str(image)) is None  # handed out once


def test_another_path_gets_nothing(image: Path):
    prefetch.start(["check", str(image)])
    assert prefetch.take(str(image) + ".other") is None
    assert prefetch._pending is None


def test_a_file_changed_meanwhile_is_opened_again(image: Path):
    prefetch.start(["check", str(image)])
    prefetch._pending.thread.join()
    image.write_bytes(FIXTURES["bzimage-gzip"].data)
    os.utime(image, ns=(1, 1))
    assert prefetch.take(str(image)) is None


def test_bad_input_raises_what_opening_raises(tmp_path: Path):
    junk = tmp_path / "junk"
    # bad input even to `check` (a damaged gzip gets verdicts now: no loader takes it)
    junk.write_bytes(b"")
    with pytest.raises(ImageError) as direct:
        open_image(str(junk), lenient=True)
    prefetch.start(["check", str(junk)])
    with pytest.raises(ImageError) as prefetched:
        prefetch.take(str(junk))
    assert str(prefetched.value) == str(direct.value)


PROBE = """
import sys
from pvhlint import launch, prefetch

taken = []
original = prefetch.take
prefetch.take = lambda *args: taken.append(original(*args)) or taken[-1]
sys.argv = ["pvhlint", *sys.argv[1:]]
try:
    launch.main()
finally:
    print("PREFETCHED", [image is not None for image in taken], file=sys.stderr)
"""


def test_the_command_uses_the_prefetched_image(image: Path):
    """Through the real entry point: the image is opened once, in the thread, and the JSON
    is the same as the library's."""
    run = subprocess.run([sys.executable, "-c", PROBE, "check", "--format", "json", str(image)],
                         capture_output=True, text=True, timeout=120, cwd=image.parent)  # fmt: skip
    assert "PREFETCHED [True]" in run.stderr, run.stderr
    import pvhlint

    expected = pvhlint.check([str(image)]).results[0]
    assert json.loads(run.stdout)["images"][0] == expected.to_dict()


def test_a_usage_error_while_the_thread_decodes_exits_cleanly(image: Path):
    run = subprocess.run([sys.executable, "-m", "pvhlint", "check", "--format", "nope", str(image)],
                         capture_output=True, text=True, timeout=120, cwd=image.parent)  # fmt: skip
    assert run.returncode == 2
    formats = "console, concise, json, sarif, github"
    assert run.stderr.strip() == f"pvhlint: --format takes one of {formats}"
    assert run.stdout == ""


def test_a_different_cap_is_opened_again(image: Path):
    prefetch.start(["check", str(image)])
    assert prefetch.take(str(image), 4096) is None  # --max-decompressed 4096: not what it used
    prefetch.start(["check", str(image)])
    assert prefetch.take(str(image), None) is not None
