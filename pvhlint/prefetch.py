"""Overlap start-up with the one slow step of `pvhlint check IMAGE`: decoding the payload.

A build step runs `pvhlint check vmlinuz` once per kernel. Importing typer, rich and the
rules takes about 0.1 s; decoding Debian's xz payload up to its notes about 0.26 s. The two
do not depend on each other and the decoders release the GIL, so `start` opens the image in
a thread before the command line is even imported, and the checker `take`s the finished
model. The thread makes exactly the call the checker would make, so the result is the
same; a file changed in between is opened again.

Only a lone regular file is prefetched: several images go to the checker's process pool,
which forks, and a fork must not copy a thread in the middle of a decode.
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .check_line import parse_check

if TYPE_CHECKING:
    from .model import Image

# Options that choose the decompression cap: the thread would decode with another one.
CAP_OPTIONS = frozenset({"--max-decompressed", "--config"})


@dataclass
class _Opening:
    path: str
    identity: tuple[int, ...]
    thread: threading.Thread = field(init=False)
    image: Image | None = None
    error: Exception | None = None
    max_output: int | None = None  # the decompression cap it opened with

    def run(self) -> None:
        from .config import resolve_max_output  # imported already by `start`
        from .errors import ImageError
        from .image import open_image

        try:
            self.max_output = resolve_max_output(self.path)
            # As checker.check_one opens it when no --max-decompressed is given.
            self.image = open_image(self.path, lenient=True, max_output=self.max_output)
        except ImageError as exc:
            self.error = exc
        except Exception:  # anything else: the checker opens the file again and reports it
            pass


_pending: _Opening | None = None


def lone_image(argv: list[str]) -> str | None:
    """The image of `check IMAGE` when argv names exactly one, a regular file; else None."""
    found = _lone_file(argv)
    return found[0] if found is not None else None


def _lone_file(argv: list[str]) -> tuple[str, tuple[int, ...]] | None:
    """`lone_image`'s path with its `_identity`."""
    parsed = parse_check(argv)
    if parsed is None or parsed.options & CAP_OPTIONS:
        return None  # with a cap of its own the checker opens it; a prefetch would be waited for
    if len(parsed.positional) != 1:
        return None
    path = str(Path(parsed.positional[0]))  # the spelling typer hands the checker
    identity = _identity(path)
    return (path, identity) if identity is not None else None


def _identity(path: str) -> tuple[int, ...] | None:
    """Device, inode, size, modification and change times of a regular file; else None."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def start(argv: list[str]) -> None:
    """Begin opening the lone image of a `check` command line in the background."""
    global _pending
    found = _lone_file(argv)
    if found is None:
        return
    # Imported here, before the thread starts: two threads importing at once share one
    # interpreter lock and the decode would begin no sooner.
    from . import config, image  # noqa: F401

    opening = _Opening(*found)
    opening.thread = threading.Thread(target=opening.run, name="pvhlint-prefetch", daemon=True)
    opening.thread.start()
    _pending = opening


def take(path: str, max_output: int | None = None) -> Image | None:
    """The prefetched model of `path` opened with the cap `max_output` (None: the default
    one), once finished; None when there is none to use. Re-raises the ImageError the
    prefetch met, which opening it again would raise too."""
    global _pending
    opening, _pending = _pending, None
    if opening is None:
        return None
    opening.thread.join()
    if opening.path != path or _identity(path) != opening.identity:
        return None
    if _resolved_cap(path, max_output) != opening.max_output:
        return None
    if opening.error is not None:
        raise opening.error
    return opening.image


def _resolved_cap(path: str, explicit: int | None) -> int | None:
    from .config import resolve_max_output
    from .errors import ImageError

    try:
        return resolve_max_output(path, explicit)
    except ImageError:  # the checker's own open reports it
        return None
