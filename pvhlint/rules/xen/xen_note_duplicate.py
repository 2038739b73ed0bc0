"""The same Xen note type appears more than once.

What:
  libelf processes notes in file order and, for every type except FEATURES
  and SUPPORTED_FEATURES (whose bits accumulate), the last note of a type wins.
  (Types it does not know are another rule's: xen-note-unknown.)

Why:
  A duplicate usually means two build steps both emitted the note, and the one
  that wins may not be the one the author checked: rust-vmm and QEMU take the
  first PHYS32_ENTRY they meet in a segment, Xen the last.

Fix:
  Remove the extra note (`pvhlint fix --drop-note` drops every note of a type;
  then `--set-note` adds one back).

Example:
  kernel: xen-note-duplicate: XEN_ELFNOTE_XEN_VERSION (5) appears 2 times; Xen uses the
  last one, 'xen-3.0'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, libelf_notes, name
from pvhlint.xennotes import XenNote, is_known_type

# libelf adds these up (elf_xen_parse_features ORs each): a second one is not overridden.
ACCUMULATING = (XenNote.FEATURES, XenNote.SUPPORTED_FEATURES)


def check(image: Image) -> Iterator[Hit]:
    known = [note for note in libelf_notes(image) if is_known_type(note.type)]
    counts = Counter(note.type for note in known)
    last = {note.type: note for note in known}
    for note_type, count in counts.items():
        if count > 1 and note_type not in ACCUMULATING:
            note = last[note_type]
            yield at_note(
                note, f"{name(note)} appears {count} times; Xen uses the last one, {note.value!r}"
            )


RULE = Rule(
    title="Duplicate Xen note type",
    severity="warning",
    targets=XEN_TARGETS,
)
