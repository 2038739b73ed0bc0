"""A note that runs past the end of its segment or section, or past the end of the data.

What:
  A note's name and descriptor must fit inside the PT_NOTE segment (p_filesz)
  or SHT_NOTE section that holds it. This one's namesz or descsz carries it past
  that end, or past the end of the file (or decompressed payload) itself.

Why:
  Readers disagree on such a note. libelf still reads the descriptor from
  whatever bytes follow, as long as they are inside the image (and reads 0 for
  a number that is cut off); readelf warns "note with invalid namesz and/or
  descsz"; other tools stop. GRUB's grub-i386-xen.bin in Debian 12 ships its
  PAE_MODE note this way: descsz 12 where only 4 bytes of the segment remain.

Fix:
  Fix the descriptor size at its source (the assembler directive that emits
  the note), or rewrite the note with `pvhlint fix --set-note NAME=VALUE`.

Example:
  grub-i386-xen.bin: xen-note-bounds: XEN_ELFNOTE_PAE_MODE (9): descsz 12 runs 8 byte(s)
  past the end of PT_NOTE 3 at 0x177720
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, name


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return
    for area in elf.note_areas:
        end = area.offset + area.size
        for note in area.notes:
            label = area.name or f"{area.source} {area.index}"
            past = []  # one note, one finding: past its segment, past the data, or both
            if ProblemCode.DESC_PAST_SEGMENT in note.problems:
                over = max(note.desc_offset + note.descsz, note.offset + 12 + note.namesz) - end
                past.append(f"descsz {note.descsz} runs {over} byte(s) past the end of {label} "
                            f"at {end:#x}")  # fmt: skip
            if ProblemCode.TRUNCATED in note.problems:
                past.append("is cut off by the end of the data: readers see a shorter "
                            "descriptor (libelf reads a cut number as 0)")  # fmt: skip
            if past:
                yield at_note(note, f"{name(note)}: {'; it '.join(past)}")


RULE = Rule(
    title="Note runs past its segment or past the end of the data",
    severity="error",
    targets=(*XEN_TARGETS, "qemu", "rust-vmm"),
)
