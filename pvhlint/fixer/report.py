"""What `pvhlint fix` prints: the change, where it landed, verdicts before and after."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..rule import TARGETS
from ..text import printable
from ..values import plain_value
from ..xennotes import NOTE_KINDS, ValueKind, note_label
from .pipeline import FixResult

VERBS = {
    False: {"remove": "removed", "change": "changed", "add": "added"},
    True: {"remove": "would remove", "change": "would change", "add": "would add"},
}


def _shown(note_type: int, desc: bytes) -> str:
    """A descriptor as its kind reads: a string quoted, a number in hex, else raw hex."""
    kind = NOTE_KINDS[note_type].kind if note_type in NOTE_KINDS else None
    if kind == ValueKind.STRING:
        return repr(desc.split(b"\0", 1)[0].decode("latin-1"))
    if kind == ValueKind.NUMBER and desc:
        return f"{int.from_bytes(desc, 'little'):#x}"
    return desc.hex()


def _describe(result: FixResult, dry_run: bool) -> list[str]:
    assert result.plan is not None
    lines, verb = [], VERBS[dry_run]
    for change in result.plan.changes:
        label = f"{note_label(change.type)} ({change.type})"
        new = _shown(change.type, change.desc or b"")
        if change.action == "remove" and change.note is not None:
            lines.append(f"{verb['remove']} {label} = {plain_value(change.note.value)} "
                         f"at {change.note.offset:#x}")  # fmt: skip
        elif change.action == "change" and change.note is not None:
            lines.append(f"{verb['change']} {label} at {change.note.offset:#x}: "
                         f"{plain_value(change.note.value)} -> {new}")  # fmt: skip
        else:
            lines.append(f"{verb['add']} {label} = {new}")
    for old_off, old_size, new_off, new_size in result.plan.areas:
        where = "moved to the end of the file at" if new_off != old_off else "rewritten in place at"
        lines.append(f"note area {old_off:#x} ({old_size:#x} bytes) {where} {new_off:#x} "
                     f"({new_size:#x} bytes)")  # fmt: skip
    info = result.repacked
    if info is not None:
        lines.append(f"payload re-compressed with {info.options}: {info.stream} bytes of "
                     f"{info.codec} + {info.padding} bytes of padding the kernel's "
                     f"decompressor skips + 4-byte size = the same {info.slot}-byte slot; "
                     f"{info.crc.value}")  # fmt: skip
    if result.plan.used_room:
        lines.append("grew into the free (zero) bytes right after the note area")
    if result.plan.moved:
        lines.append("PT_NOTE and its note sections now point there; the loaded bytes are as "
                     "they were")  # fmt: skip
    touched = sum(end - start for start, end in result.plan.touched)
    ranges = ", ".join(f"{s:#x}-{e:#x}" for s, e in result.plan.touched[:6])
    more = " ..." if len(result.plan.touched) > 6 else ""
    if info is not None:
        lines.append(f"kernel bytes touched (decompressed payload): {touched} ({ranges}{more})")
        crc = " and the 4-byte CRC32" if info.crc.written else ""
        lines.append(f"file bytes rewritten: the {info.slot}-byte payload slot at "
                     f"{info.offset:#x}{crc}")  # fmt: skip
    else:
        lines.append(f"bytes touched: {touched} ({ranges}{more})")
    return lines


def _verdict_lines(result: FixResult) -> list[str]:
    if result.after is None:
        return []
    lines = [f"{'target':<11} {'before':<7} {'after':<7}"]
    for target in TARGETS:
        before = result.before.verdicts[target].accept
        after = result.after.verdicts[target].accept
        mark = "*" if target in result.required else " "
        why = "" if after else f"  ({', '.join(result.after.verdicts[target].rules)})"
        lines.append(f"{target + mark:<11} {_word(before):<7} {_word(after):<7}{why}")
    if result.before.verdicts["xen-pv"].accept and not result.after.verdicts["xen-pv"].accept:
        lines.append("xen-pv no longer accepts this kernel: that is what a PVH-only kernel means "
                     "(Xen's PV builder needs the notes you removed)")  # fmt: skip
    return lines


def _word(accept: bool) -> str:
    return "accept" if accept else "reject"


def print_fix(result: FixResult, path: Path, dry_run: bool) -> None:
    name = str(path)
    for note in result.notes:
        _say(f"{name}: {note}")
    if result.plan is not None and result.plan.changes:
        for line in _describe(result, dry_run):
            _say(f"{name}: {line}")
    for line in _verdict_lines(result):
        _say(f"  {line}")
    if result.required:
        _say(f"  (* required to accept afterwards: {', '.join(result.required)})")
    if result.refused:
        _say(f"pvhlint: {name}: {result.refused}", sys.stderr)
    elif dry_run and result.plan is not None and result.plan.changes:
        _say(f"{name}: dry run: nothing written")
    elif result.written is not None:
        extra = f" (original kept as {result.backup})" if result.backup else ""
        _say(f"{name}: written to {result.written}{extra}")


def _say(line: str, stream: TextIO | None = None) -> None:
    """One printable line: a file name or an image's string cannot forge another."""
    print(printable(line), file=stream or sys.stdout)
