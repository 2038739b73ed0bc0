"""The result cache of `check` (issue 18): a re-check of an unchanged image answers from
it, anything that can change the answer is a miss, `--no-cache` turns it off, and two runs
writing at once leave a whole entry.

A hit is seen by tampering: the stored answer is replaced by a marker, so a run that
prints the marker answered from the cache, and one that prints the real report did not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import catalogue
from pvhlint import result_cache

MARKER = "ANSWERED FROM THE CACHE\n"
HANG_LIMIT = 120


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A bzImage old enough to cache (see SETTLE_SECONDS), and the environment of runs
    whose cache lives under tmp_path."""
    image = tmp_path / "work" / "vmlinuz"
    image.parent.mkdir()
    image.write_bytes(catalogue()["bzimage-xz"].data)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop(result_cache.NO_CACHE_ENV, None)
    settle()
    return image, env


def settle() -> None:
    time.sleep(result_cache.SETTLE_SECONDS + 0.2)


def check(env: dict[str, str], *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", "check", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=HANG_LIMIT)  # fmt: skip


def entries(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["XDG_CACHE_HOME"]) / "pvhlint" / "results").glob("*.json"))


def tamper(env: dict[str, str]) -> None:
    for path in entries(env):
        stored = json.loads(path.read_text())
        stored["stdout"] = MARKER
        path.write_text(json.dumps(stored))


def test_a_recheck_answers_from_the_cache_unless_told_not_to(setup):
    image, env = setup
    first = check(env, "-f", "json", image, cwd=image.parent)
    assert first.returncode in (0, 1) and first.stderr == ""
    assert len(entries(env)) == 1
    again = check(env, "-f", "json", image, cwd=image.parent)
    assert (again.stdout, again.returncode) == (first.stdout, first.returncode)
    tamper(env)
    hit = check(env, "-f", "json", image, cwd=image.parent)
    assert (hit.stdout, hit.returncode) == (MARKER, first.returncode)
    off = check(env, "--no-cache", "-f", "json", image, cwd=image.parent)
    assert off.stdout == first.stdout
    off = check({**env, result_cache.NO_CACHE_ENV: "1"}, "-f", "json", image, cwd=image.parent)
    assert off.stdout == first.stdout


def test_a_changed_image_is_a_miss(setup):
    image, env = setup
    honest = check(env, "--no-cache", image, cwd=image.parent).stdout
    check(env, image, cwd=image.parent)
    tamper(env)
    before = image.stat()
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))  # mtime
    settle()
    assert check(env, image, cwd=image.parent).stdout == honest
    tamper(env)
    with image.open("ab") as grown:  # size (the bytes past the payload change no verdict)
        grown.write(bytes(16))
    settle()
    assert check(env, image, cwd=image.parent).stdout == honest
    tamper(env)
    # Another file put in its place with the same size and mtime: only the inode tells.
    twin = image.with_name("twin")
    shutil.copy2(image, twin)
    os.replace(twin, image)
    settle()
    assert check(env, image, cwd=image.parent).stdout == honest


def test_a_freshly_written_image_is_not_cached(tmp_path):
    image = tmp_path / "vmlinuz"
    image.write_bytes(catalogue()["bzimage-xz"].data)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop(result_cache.NO_CACHE_ENV, None)
    check(env, image, cwd=tmp_path)
    assert entries(env) == []  # racily clean: a same-size rewrite this tick would keep its times


@pytest.mark.parametrize(
    ("options", "config", "environment"),
    [
        (("--loaders", "debian12"), None, {}),
        (("-f", "concise"), None, {}),
        (("--select", "xen-"), None, {}),
        (("--require", "xen-pvh", "--fail-on", "info"), None, {}),
        ((), 'loaders = "debian12"\nfail-on = "info"\n', {}),
        ((), None, {"PVHLINT_MAX_DECOMPRESSED": "1KiB"}),
    ],
    ids=["profile", "format", "select", "require", "config-file", "environment"],
)
def test_what_changes_the_answer_changes_the_key(setup, options, config, environment):
    image, env = setup
    check(env, image, cwd=image.parent)
    tamper(env)
    if config is not None:
        (image.parent / "pvhlint.toml").write_text(config)
    env = {**env, **environment}
    honest = check(env, "--no-cache", *options, image, cwd=image.parent)
    answer = check(env, *options, image, cwd=image.parent)
    assert (answer.stdout, answer.returncode) == (honest.stdout, honest.returncode)
    assert answer.stdout != MARKER


def test_another_version_is_a_miss(setup):
    image, env = setup
    check(env, image, cwd=image.parent)
    tamper(env)
    probe = ("import sys; from pvhlint import launch, result_cache; "
             "result_cache.__version__ = '99.0'; sys.argv = ['pvhlint', *sys.argv[1:]]; "
             "launch.main()")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", probe, "check", str(image)], capture_output=True,
                         text=True, env=env, cwd=image.parent, timeout=HANG_LIMIT)  # fmt: skip
    assert run.stdout == check(env, "--no-cache", image, cwd=image.parent).stdout


def test_runs_writing_at_once_leave_a_whole_entry(setup):
    image, env = setup
    command = [sys.executable, "-m", "pvhlint", "check", "-f", "json", str(image)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env,
                             cwd=image.parent) for _ in range(4)]  # fmt: skip
    outputs = {run.communicate(timeout=HANG_LIMIT)[0] for run in runs}
    assert len(outputs) == 1
    assert len(entries(env)) == 1
    assert check(env, "-f", "json", image, cwd=image.parent).stdout == outputs.pop()
    assert [path.name for path in entries(env)[0].parent.iterdir()] == [entries(env)[0].name]


WRITER = """
import sys
from pathlib import Path
from pvhlint import result_cache
entry = result_cache.Entry(Path(sys.argv[1]), "the key")
for _ in range(300):
    result_cache.store(entry, sys.argv[2] * 20000, 1)
"""


def test_a_reader_never_sees_a_torn_entry(tmp_path):
    """Two writers storing different answers under one key, a reader reading all along:
    every read is a miss or one writer's whole answer."""
    entry = result_cache.Entry(tmp_path / "results" / "entry.json", "the key")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(entry.path), letter])
               for letter in "ab"]  # fmt: skip
    seen = set()
    while any(writer.poll() is None for writer in writers):
        answer = result_cache.lookup(entry)
        seen.add(None if answer is None else answer)
    for writer in writers:
        assert writer.wait(HANG_LIMIT) == 0
    assert seen <= {None, ("a" * 20000, 1), ("b" * 20000, 1)}
    assert result_cache.lookup(entry) in {("a" * 20000, 1), ("b" * 20000, 1)}
    assert [path.name for path in entry.path.parent.iterdir()] == ["entry.json"]
