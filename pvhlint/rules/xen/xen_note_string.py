"""A Xen string note not NUL-terminated inside its descriptor, or longer than Xen keeps.

What:
  libelf reads string notes (XEN_VERSION, GUEST_OS, GUEST_VERSION, LOADER,
  PAE_MODE, FEATURES, BSD_SYMTAB) from the start of the descriptor up to the
  first NUL anywhere in the image: descsz is not a limit. LOADER, GUEST_OS,
  GUEST_VERSION and XEN_VERSION are then copied into 16-byte buffers.

Why:
  A string whose NUL lies only in the padding after the descriptor works by
  luck: Debian's 6.1 kernels carry FEATURES as 41 bytes with no NUL, ended by
  the zero padding. A string with no NUL before the end of the image is read as
  "(invalid)" (libelf-tools.c elf_strval returns NULL, elf_strfmt substitutes
  that text): a LOADER, GUEST_OS or XEN_VERSION that was right becomes wrong
  (xen-pv-parse), FEATURES lose their flags. Past 15 characters, Xen sees a truncated
  value, which matters for the "generic" / "linux" / "xen-3.0" prefix checks.

Fix:
  Emit strings with `.asciz` (not `.ascii`), so descsz counts the NUL.

Example:
  vmlinux: xen-note-string: XEN_ELFNOTE_FEATURES (10): the string ends in the padding after
  the 41-byte descriptor, not inside it
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import LIBELF_INVALID
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, libelf_notes, name
from pvhlint.xennotes import XenNote

# copied into 16-byte buffers by libelf
BUFFERED = (XenNote.XEN_VERSION, XenNote.GUEST_OS, XenNote.GUEST_VERSION, XenNote.LOADER)


def check(image: Image) -> Iterator[Hit]:
    for note in libelf_notes(image):
        if ProblemCode.STRING_UNTERMINATED in note.problems:
            yield at_note(
                note,
                f"{name(note)}: no NUL before the end of the data: libelf reads the string "
                f'as "{LIBELF_INVALID}" (what follows depends on the note)',
            )
        elif ProblemCode.STRING_NOT_IN_DESC in note.problems:
            yield at_note(
                note,
                f"{name(note)}: the string ends in the padding after the "
                f"{note.descsz}-byte descriptor, not inside it",
            )
        if note.type in BUFFERED and isinstance(note.value, str) and len(note.value) > 15:
            yield at_note(
                note,
                f"{name(note)} {note.value!r} is longer than the 15 characters "
                f"Xen keeps: it sees {note.value[:15]!r}",
            )


RULE = Rule(
    title="Xen string note not terminated inside its descriptor, or too long",
    severity="info",
    targets=XEN_TARGETS,
)
