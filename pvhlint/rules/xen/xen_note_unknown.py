"""A Xen-owned note of a type libelf does not know.

What:
  libelf's elf_xen_parse_note looks the type up in its table of named notes
  (1-19 in Xen 4.20: ENTRY … PHYS32_RELOC). A note owned by "Xen" with any
  other type, or with type 0 (INFO), is logged as unknown and skipped.

Why:
  The note does nothing for Xen: either it is a newer note this Xen predates,
  or its type number is a typo and the note meant to set something is
  missing. It is not a duplicate of anything, and Xen does not refuse for it.

Fix:
  Check the type number against xen/include/public/elfnote.h; drop the note
  (`pvhlint fix --drop-note 20`) if nothing reads it.

Example:
  kernel: xen-note-unknown: Xen note type 20 is not one libelf knows (1-19): it is ignored
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, libelf_notes
from pvhlint.xennotes import is_known_type


def check(image: Image) -> Iterator[Hit]:
    for note in libelf_notes(image):
        if not is_known_type(note.type):
            yield at_note(
                note, f"Xen note type {note.type} is not one libelf knows (1-19): it is ignored"
            )


RULE = Rule(
    title="Xen note of a type libelf does not know",
    severity="info",
    targets=XEN_TARGETS,
)
