"""A small cache of `check` results: a re-check of an unchanged image answers from it,
before the command line, the rules or a decoder is even imported.

Only `check IMAGE` of one regular file, reported to stdout, is cached, and only a clean
answer (exit 0 or 1, nothing on stderr). The key is everything that can change the
output, so the cache never changes a verdict:

- the command line as typed and the current directory (options, profile, format; the
  configuration file is found from there);
- the bytes of every configuration file the search could read (pvhlint.config's folders),
  and of a file named by --config;
- the image's path, device, inode, size, modification and change times;
- pvhlint's version and the name, size and modification time of each of its source files
  (an edited checkout is another version), and the Python running it;
- the environment that reaches the output: PVHLINT_*, PYTHON*, the terminal and locale
  variables rich and Python read, and whether stdout is a terminal (and its size).

A file changed within SETTLE_SECONDS of the lookup is not cached: a rewrite of the same
size inside one tick of the file system's clock would otherwise keep its times (git calls
such a file "racily clean"). Entries are written to a temporary file and renamed into
place, so two runs writing at once leave one whole entry; a torn or foreign entry is a
miss. `--no-cache` (or PVHLINT_NO_CACHE=1) neither reads nor writes it.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import zlib
from pathlib import Path
from typing import NamedTuple

from . import __version__

NO_CACHE_OPTION = "--no-cache"
NO_CACHE_ENV = "PVHLINT_NO_CACHE"
SETTLE_SECONDS = 2.0  # FAT's 2 s timestamps are the coarsest a kernel image may sit on
MAX_ENTRIES = 256  # past this, the oldest entries go when one is added
_FORMAT = 1
# Options that send the report elsewhere or read another file: those runs are not cached.
_UNCACHED_OPTIONS = frozenset({"--output-file", "-o", "--baseline", "--write-baseline"})
_ENVIRONMENT = ("TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES",
                "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR", "CLICOLOR_FORCE",
                "JUPYTER_COLUMNS", "JUPYTER_LINES", "LANG", "LC_ALL", "LC_CTYPE",
                "XDG_CONFIG_HOME")  # fmt: skip


class Entry(NamedTuple):
    """Where a run's answer is kept: the file, and the key it must hold."""

    path: Path
    key: str


# The entry the launcher looked up and missed: `check` stores its answer there.
pending: Entry | None = None


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pvhlint" / "results"


def entry_for(argv: list[str]) -> Entry | None:
    """The cache entry of this command line, or None when it is not one to cache."""
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0") or NO_CACHE_OPTION in argv:
        return None
    from .check_line import parse_check

    parsed = parse_check(argv)
    if parsed is None or len(parsed.positional) != 1 or parsed.options & _UNCACHED_OPTIONS:
        return None
    path = parsed.positional[0]
    try:
        image = os.stat(path)
        if not stat.S_ISREG(image.st_mode):
            return None
        if time.time() - max(image.st_mtime, image.st_ctime) < SETTLE_SECONDS:
            return None  # racily clean: see the module's docstring
        parts = [
            ("format", _FORMAT),
            ("version", __version__),
            ("sources", _sources()),
            ("python", sys.version),
            ("argv", argv),
            ("cwd", os.getcwd()),
            ("image", [os.path.abspath(path), *_identity(image)]),
            ("config", _configuration(argv)),
            ("environment", _environment()),
            ("stdout", _terminal()),
        ]
    except (OSError, ValueError):
        return None
    key = json.dumps(parts, sort_keys=True, default=str)
    # The name only spreads entries out: the key inside is what must match.
    data = key.encode()
    return Entry(cache_folder() / f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}.json", key)


def lookup(entry: Entry) -> tuple[str, int] | None:
    """(stdout, exit status) of the cached run, or None."""
    try:
        stored = json.loads(entry.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != entry.key:
        return None
    output, status = stored.get("stdout"), stored.get("exit")
    if not isinstance(output, str) or status not in (0, 1):
        return None
    return output, status


def store(entry: Entry, output: str, status: int) -> None:
    """Keep a run's answer; any failure to write (a read-only home) just skips it."""
    import tempfile

    try:
        folder = entry.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"key": entry.key, "stdout": output, "exit": status})
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".entry-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(body)
            os.replace(temporary, entry.path)
        except BaseException:
            os.unlink(temporary)
            raise
        _prune(folder)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=_modified)
    for old in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        old.unlink(missing_ok=True)


def _modified(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _identity(image: os.stat_result) -> list[int]:
    return [image.st_dev, image.st_ino, image.st_size, image.st_mtime_ns, image.st_ctime_ns]


def _sources() -> list[tuple[str, int, int]]:
    """Name, size and mtime of every module of this pvhlint (the rules' too)."""
    found = []
    for module in ("pvhlint", "pvhlint.rules", "pvhlint.codecs"):
        folder = _package_folder(module)
        if folder is None:
            continue
        with os.scandir(folder) as entries:
            for item in entries:
                if item.name.endswith(".py"):
                    info = item.stat()
                    found.append((item.path, info.st_size, info.st_mtime_ns))
    return sorted(found)


def _package_folder(module: str) -> str | None:
    from importlib.util import find_spec

    spec = find_spec(module)
    locations = spec.submodule_search_locations if spec is not None else None
    return next(iter(locations), None) if locations else None


def _configuration(argv: list[str]) -> list[tuple[str, str]]:
    """The bytes of each file the configuration search could read, and of --config's."""
    from .config import config_folders

    named = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--config=")]
    named += [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--config"]
    candidates = [Path(name) for name in named]
    for folder in config_folders(Path.cwd()):
        candidates += [folder / "pvhlint.toml", folder / "pyproject.toml"]
    return [(str(path), _contents(path)) for path in candidates]


def _contents(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")  # small text files, kept whole in the key
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def _environment() -> list[tuple[str, str]]:
    return sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(("PVHLINT_", "PYTHON")) or name in _ENVIRONMENT
    )


def _terminal() -> list[object]:
    if not sys.stdout.isatty():
        return [False]
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return [True]
    return [True, size.columns, size.lines]
