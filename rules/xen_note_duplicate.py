"""The same Xen note type appears more than once, or a type Xen does not know.

What:
  libelf processes notes in file order and, for every type except FEATURES
  and SUPPORTED_FEATURES (whose bits accumulate), the last note of a type wins.
  Types outside 1–19 (and INFO, 0) are logged as "unknown" and ignored.

Why:
  A duplicate usually means two build steps both emitted the note, and the one
  that wins may not be the one the author checked: rust-vmm and QEMU take the
  first PHYS32_ENTRY they meet in a segment, Xen the last. An unknown type is
  either a newer note this Xen ignores or a typo in the type number.

Fix:
  Remove the extra note (`pvhlint fix --drop-note` drops every note of a type;
  then `--set-note` adds one back), or correct the type number.

Example:
  kernel: xen-note-duplicate: XEN_ELFNOTE_XEN_VERSION (5) appears 2 times; Xen uses the
  last one, 'xen-3.0'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, name
from pvhlint.xennotes import NOTE_KINDS

ACCUMULATING = (10, 17)


def check(image: Image) -> Iterator[Hit]:
    if image.elf is None:
        return
    notes = image.elf.xen_notes
    counts = Counter(note.type for note in notes)
    last_of = {note.type: note for note in notes}  # one pass: the last of each type wins
    for note_type, count in counts.items():
        if count > 1 and note_type not in ACCUMULATING:
            last = last_of[note_type]
            yield at_note(
                last, f"{name(last)} appears {count} times; Xen uses the last one, {last.value!r}"
            )
    for note in notes:
        if note.type not in NOTE_KINDS or note.type == 0:
            yield at_note(
                note, f"Xen note type {note.type} is not one this Xen knows (1-19): it is ignored"
            )


RULE = Rule(
    id="xen-note-duplicate",
    title="Duplicate or unknown Xen note type",
    severity="warning",
    targets=XEN_TARGETS,
    doc=__doc__ or "",
    check=check,
)
