"""`pvhlint fix`: request -> plan -> repack -> verify -> write, each stage in its module.

Safety: the result is built in memory, re-opened and checked before anything is
written; a target the user requires must still accept afterwards or nothing is
written; writing goes to a temporary file beside the destination, is fsynced and
renamed over it, so the input is untouched on failure or when `-o` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..checker import ImageResult
from ..errors import EditError
from .plan import Plan, plan
from .repack import Repacked, repack
from .request import FixRequest, read_request
from .verify import verify, verify_plan
from .write import open_target, write

NOTHING_TO_CHANGE = "nothing to change: the notes are already as asked"


@dataclass
class FixResult:
    """What `pvhlint.fix` returns: the `plan` (the note changes and bytes touched), the check
    `before` and `after` (None when refused before re-checking) for the `required` targets,
    where the result was `written` (None for a dry run or a refusal) and the `backup`,
    `refused` (why nothing was written; `exit_code` 1), `notes` for the user, and for a
    bzImage how the payload was `repacked`."""

    plan: Plan | None
    before: ImageResult
    after: ImageResult | None
    required: tuple[str, ...]
    written: Path | None = None
    backup: Path | None = None
    refused: str | None = None  # why nothing was written (exit 1)
    notes: list[str] = field(default_factory=list)
    repacked: Repacked | None = None  # codec, options, stream sizes (bzImage)

    @property
    def exit_code(self) -> int:
        return 1 if self.refused else 0


def fix(request: FixRequest) -> FixResult:
    """Plan, verify and (unless refused or a dry run) write one fix."""
    with open_target(request) as target:
        result, data = _worked_out(request, target.original)
        # The checks come as `check`'s results do: without the images' bytes (the decoded
        # payload before the fix was released before re-compressing) or cached facts.
        for checked in (result.before, result.after):
            if checked is not None and checked.image is not None:
                checked.image.blobs.clear()
                checked.image.facts.clear()
        result.notes += target.notes
        if request.dry_run or data is None:
            return result
        written = write(target, data, request)
    result.written, result.backup = written.path, written.backup
    result.notes += written.notes
    return result


def _worked_out(request: FixRequest,
                original: bytes) -> tuple[FixResult, bytes | bytearray | None]:  # fmt: skip
    """The result (refused, or planned and verified) and the bytes to write (None: none)."""
    edit = read_request(request, original)
    result = FixResult(None, edit.before, None, edit.required)
    try:
        planned = result.plan = plan(edit)
        if planned.data == edit.kernel:  # nothing re-compressed for nothing
            result.notes += [*edit.notes, NOTHING_TO_CHANGE]
            return result, None
        verify_plan(edit.kernel, planned)
        edit = edit.released()
        _return_freed_heap()
        packed = repack(edit, planned)
        result.repacked = packed.repacked
        result.notes += [*packed.notes, *edit.notes]
        verified = verify(edit, planned, packed)
    except EditError as refusal:
        result.refused, result.after = str(refusal), refusal.after
        result.notes += refusal.notes
        return result, None
    result.after = verified.after
    result.notes += verified.notes
    return result, verified.data


def _return_freed_heap() -> None:
    """Give the heap's free pages back to the system before re-compressing. The payload was
    decoded in 1 MiB chunks, freed once joined into one buffer; glibc keeps them resident,
    and the encoder maps its own tables (370 MiB for the build's xz) on top. Measured in
    process: Debian 12's xz bzImage 618 -> 553 MiB of peak, Debian 13's zstd one 871 -> 815
    MiB (before the old kernel was released too). Not glibc: nothing to do."""
    import ctypes
    import gc

    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    if trim is not None:
        trim(0)


__all__ = ["FixRequest", "FixResult", "fix"]
