"""The Python API: `pvhlint.check` and `pvhlint.fix`, the same functions the command line
runs (`pvhlint check` and `pvhlint fix` only parse options and merge the configuration).

    import pvhlint

    report = pvhlint.check("arch/x86/boot/bzImage", require="xen-pvh")
    if report.exit_code:
        for finding in report.results[0].findings:
            print(finding.rule, finding.severity, finding.message)

Neither function takes check settings (require, select, ...) from a configuration file:
only from its arguments. The exceptions are the command line's exit status 2:
`OptionsError` for arguments nothing could run with, `pvhlint.ImageError` for an image
that cannot be read, `UsageError` for a fix that does not apply to the image, `OSError`
when writing fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from .checker import Options, Report, check_paths, validate
from .profiles import DEFAULT_PROFILE, Profile

if TYPE_CHECKING:
    from .fixer.pipeline import FixResult
    from .fixer.repack import Watch
    from .model import Image

StrPath: TypeAlias = str | os.PathLike[str]
Names: TypeAlias = str | Iterable[str]  # one name, or several
NoteValue: TypeAlias = str | int


class OptionsError(ValueError):
    """Arguments no check or fix can run with: an unknown target, rule or severity level."""


def check(
    paths: StrPath | Iterable[StrPath],
    *,
    require: Names = (),
    select: Names = (),
    ignore: Names = (),
    severity: Mapping[str, str] | None = None,
    fail_on: str = "error",
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    max_output: int | None = None,
    pvh_only: bool = False,
    per_path_ignores: Mapping[str, Names] | None = None,
    loaders: str = DEFAULT_PROFILE,
) -> Report:
    """Run every rule on each image (directories are walked) and predict each target's verdict.

    `require`: targets that must accept (empty: those each image claims). `select` /
    `ignore`: rule ids or prefixes ending in "-" to show or hide (verdicts keep every
    rule). `severity`: rule id -> "info" | "warning" | "error". `fail_on`: the severity
    from which `Report.exit_code` is 1 ("never": 0). `jobs` > 1 checks images in that
    many processes, keeping the order; `progress(done, total)` is called as images finish.
    `max_output`: the cap in bytes on a decompressed payload (None: $PVHLINT_MAX_DECOMPRESSED,
    else `max-decompressed` in the configuration found from the current directory, else
    512 MiB). `pvh_only`: the image must boot as PVH (xen-pvh is required) and be PVH-only,
    so notes only Xen PV reads are errors. `per_path_ignores`: glob -> rule ids or prefixes
    hidden in the images whose path matches (never a reject of a required target).
    `loaders`: the loader versions modelled, "debian12", "debian13" (the default) or "all"
    (pvhlint/profiles.py); a required target given as "xen-pvh@4.17" is modelled at that
    version whatever the profile. Unreadable images do not raise: they are results with
    `error` set (exit code 2)."""
    profile = _profile(loaders)
    options = Options(
        require=_names(require),
        loaders=profile,
        select=_names(select),
        ignore=_names(ignore),
        severity=tuple(sorted((severity or {}).items())),
        fail_on=fail_on,
        max_output=max_output,
        pvh_only=pvh_only,
        per_path_ignores=tuple(
            (glob, _names(rules)) for glob, rules in (per_path_ignores or {}).items()
        ),
    )
    problem = validate(options) or (None if jobs >= 1 else f"jobs must be at least 1, not {jobs}")
    if problem:
        raise OptionsError(problem)
    return check_paths(_paths(paths), options, jobs, progress)


def fix(
    path: StrPath,
    *,
    output: StrPath | None = None,
    drop_obsolete_notes: bool = False,
    drop_notes: Names = (),
    set_notes: Mapping[str | int, NoteValue] | None = None,
    require: Names = (),
    dry_run: bool = False,
    backup: bool = False,
    break_signature: bool = False,
    max_output: int | None = None,
    force: bool = False,
    loaders: str = DEFAULT_PROFILE,
    watch: Watch | None = None,
) -> FixResult:
    """Edit the Xen notes of an ELF kernel or a bzImage byte-minimally, re-check the result,
    and write it (to `output`, else over `path`) unless a required target would stop accepting.

    `drop_obsolete_notes`: drop the five notes obsolete for a PVH-only kernel (and
    PADDR_OFFSET, unless VIRT_BASE is set, when xen-pvh is required at Xen 4.17: `loaders`
    "debian12" or `require` "xen-pvh@4.17"). `loaders`: as for `check`. `drop_notes`:
    note names or numbers to drop ("PHYS32_ENTRY", "XEN_ELFNOTE_VIRT_BASE", "18").
    `set_notes`: name or number -> value (an int, or the text `--set-note` takes).
    `require`: targets that must still accept (default for `drop_obsolete_notes`: xen-pvh,
    plus qemu and rust-vmm where they accepted before). `max_output`: as for `check`.
    `force`: write a result that no boot target accepts although one accepted before
    (refused otherwise). `watch`: called with a `pvhlint.fixer.repack.Step` as a bzImage's payload
    is re-compressed, from a worker thread (the command line's progress bar). A refusal is
    not an exception: `FixResult.refused` says why,
    nothing written."""
    from .config import resolve_max_output
    from .fixer.pipeline import fix as run_fix
    from .fixer.request import FixRequest

    required = _names(require)
    profile = _profile(loaders)
    problem = validate(Options(require=required, max_output=max_output, loaders=profile))
    if problem:
        raise OptionsError(problem)
    request = FixRequest(
        Path(path),
        Path(output) if output is not None else None,
        drop_obsolete_notes,
        _names(drop_notes),
        tuple((str(name), _note_text(value)) for name, value in (set_notes or {}).items()),
        required,
        dry_run,
        backup,
        break_signature,
        resolve_max_output(os.fspath(path), max_output),
        force,
        profile,
        watch,
    )
    return run_fix(request)


def open_image(path: StrPath, *, full: bool = False, max_output: int | None = None,
               lenient: bool = False) -> Image:  # fmt: skip
    """pvhlint.image.open_image with the decompression cap resolved as `check` resolves it
    (`max_output`, else $PVHLINT_MAX_DECOMPRESSED, else `max-decompressed` in the
    configuration found from the current directory, else 512 MiB)."""
    from .config import resolve_max_output
    from .image import open_image as open_with_cap

    name = os.fspath(path)
    return open_with_cap(name, full=full, max_output=resolve_max_output(name, max_output),
                         lenient=lenient)  # fmt: skip


def _profile(name: str) -> Profile:
    try:
        return Profile(name)
    except ValueError:
        raise OptionsError(
            f"unknown loader profile {name!r}; profiles are {', '.join(Profile)}"
        ) from None


def _names(value: Names) -> tuple[str, ...]:
    # A bare string is one name, not its characters.
    return (value,) if isinstance(value, str) else tuple(value)


def _paths(value: StrPath | Iterable[StrPath]) -> list[str]:
    if isinstance(value, str | os.PathLike):
        return [os.fspath(value)]
    return [os.fspath(item) for item in value]


def _note_text(value: NoteValue) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise OptionsError(f"a note value is an int or a string, not {value!r}")
    return hex(value) if isinstance(value, int) else value


__all__ = ["OptionsError", "check", "fix", "open_image"]
