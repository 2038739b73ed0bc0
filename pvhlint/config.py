"""Configuration: `pvhlint.toml`, or `[tool.pvhlint]` in pyproject.toml, found from the
current directory upwards (the first file that has pvhlint settings wins), up to the
repository root: the first folder holding `.git` or `pyproject.toml`. Nothing above it is
read (a shared workspace root must not steer every run below it), nor a folder anyone may
write to, nor the folder an image is in.

    [tool.pvhlint]
    require = ["xen-pvh"]
    pvh-only = true                    # PVH-only: notes only Xen PV reads are errors
    select = ["xen-", "mb1-"]          # rule ids, or prefixes ending in "-"
    ignore = ["xen-note-string-unterminated"]
    [tool.pvhlint.per-path-ignores]    # glob = rule ids or prefixes hidden in matching images
    "old/vmlinuz-4.*" = ["xen-note-string"]
    fail-on = "warning"                # info | warning | error | never
    max-decompressed = "512MiB"        # cap on a decompressed payload (a bomb stops here)
    loaders = "debian13"               # loader versions: debian12 | debian13 | all
    [tool.pvhlint.severity]
    bzimage-crc = "error"

Command-line flags win over the file; lists given on the command line replace the file's.
$PVHLINT_MAX_DECOMPRESSED wins over `max-decompressed`; both apply to every command.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

KEYS = (
    "require",
    "pvh-only",
    "select",
    "ignore",
    "per-path-ignores",
    "severity",
    "fail-on",
    "max-decompressed",
    "loaders",
)


class ConfigError(Exception):
    pass


def config_folders(start: Path) -> Iterator[Path]:
    """`start` and its parents, up to and including the repository root. A folder anyone
    may write to (/tmp, a shared drop folder) ends the search unread: whoever planted a
    file there would steer the check."""
    for folder in (start.resolve(), *start.resolve().parents):
        if _writable_by_others(folder):
            return
        yield folder
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return


def _writable_by_others(folder: Path) -> bool:
    try:
        return bool(folder.stat().st_mode & stat.S_IWOTH)
    except OSError:
        return True  # cannot tell: do not trust it


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    for folder in config_folders(start):
        for name in ("pvhlint.toml", "pyproject.toml"):
            path = folder / name
            if path.is_file():
                settings = read_config(path)
                if settings is not None:
                    return path, settings
    return None


def read_config(path: Path) -> dict[str, Any] | None:
    """The pvhlint settings in `path` (None when it has none); ConfigError when invalid."""
    import tomllib  # here, not above: the result cache finds the files without parsing them

    from .codecs import parse_size

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    settings = data.get("tool", {}).get("pvhlint") if path.name == "pyproject.toml" else data
    if settings is None:
        return None
    unknown = set(settings) - set(KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(KEYS)}")  # fmt: skip
    for key in ("require", "select", "ignore"):
        value = settings.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key} must be a list of strings")
    ignores = settings.get("per-path-ignores", {})
    if not isinstance(ignores, dict) or not all(
        isinstance(rules, list) and all(isinstance(rule, str) for rule in rules)
        for rules in ignores.values()
    ):
        raise ConfigError(f"{path}: per-path-ignores must be a table of glob = [rule ids]")
    severity = settings.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{path}: severity must be a table of rule = level")
    if "pvh-only" in settings and not isinstance(settings["pvh-only"], bool):
        raise ConfigError(f"{path}: pvh-only must be true or false")
    for key in ("fail-on", "loaders"):
        if key in settings and not isinstance(settings[key], str):
            raise ConfigError(f"{path}: {key} must be a string")
    if "max-decompressed" in settings:
        try:
            parse_size(settings["max-decompressed"])
        except ValueError as exc:
            raise ConfigError(f"{path}: max-decompressed: {exc}") from None
    return settings


def configured_max_output(start: Path) -> int | None:
    """`max-decompressed` in bytes from the configuration found from `start`, if set.
    Asked once per image opened: files are parsed again only when they change."""
    for folder in config_folders(start):
        for name in ("pvhlint.toml", "pyproject.toml"):
            try:
                info = os.stat(folder / name)
            except OSError:
                continue
            settings = _cached_config(str(folder / name), info.st_mtime_ns, info.st_size)
            if settings is not None:
                from .codecs import parse_size

                value = settings.get("max-decompressed")
                return None if value is None else parse_size(value)
    return None


@lru_cache(maxsize=16)
def _cached_config(path: str, mtime_ns: int, size: int) -> dict[str, Any] | None:
    return read_config(Path(path))


def resolve_max_output(name: str, explicit: int | None = None) -> int:
    """The decompression cap for opening `name`: the caller's, else $PVHLINT_MAX_DECOMPRESSED,
    else `max-decompressed` in the configuration found from the current directory, else
    512 MiB. A malformed environment value is an ImageError naming `name`."""
    if explicit is not None:
        return explicit
    from .codecs import DEFAULT_MAX_OUTPUT, max_output_from_env
    from .errors import ImageError

    try:
        from_env = max_output_from_env()
    except ValueError as exc:
        raise ImageError(name, str(exc)) from None
    if from_env is not None:
        return from_env
    try:
        return configured_max_output(Path.cwd()) or DEFAULT_MAX_OUTPUT
    except (ConfigError, OSError):  # `check` reports a bad configuration itself
        return DEFAULT_MAX_OUTPUT
