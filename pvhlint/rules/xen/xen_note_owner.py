"""A Xen note whose owner is not exactly "Xen": Xen ignores it, or some loaders do.

What:
  libelf uses a note only when its name is the C string "Xen"; namesz is not
  consulted. rust-vmm's PVH loader is stricter: namesz must be 4 and the name
  bytes exactly "Xen\\0". QEMU does not look at the owner at all.

Why:
  A misspelt owner makes Xen skip the note silently. Debian's GNU Mach 1.8
  (gnumach-1.8-xen-486) writes its Xen notes with owner "name": Xen ignores all
  of them and falls back to the legacy `__xen_guest` string, which works for PV
  and cannot work for PVH. A "Xen" owner with a namesz other than 4 still
  satisfies libelf but not rust-vmm (Cloud Hypervisor, Firecracker).

Fix:
  Emit the notes with the assembler macro Linux uses (`ELFNOTE(Xen, type,
  value)`), which writes namesz 4 and "Xen\\0".

Example:
  gnumach.gz: xen-note-owner: all 9 notes in .note.Xen have owner 'name', not 'Xen': Xen
  ignores them and falls back to the __xen_guest string
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import xen_elf
from pvhlint.model import Image, NoteArea, ProblemCode
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note, name


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is None:
        return
    fallback = elf.xen_notes_from
    for area in elf.note_areas:
        yield from _area(area, fallback)


def _area(area: NoteArea, fallback: str | None) -> Iterator[Hit]:
    wrong = [n for n in area.notes if ProblemCode.OWNER_NOT_XEN in n.problems]
    owners = {n.owner_name for n in wrong}
    label = area.name or f"{area.source} {area.index}"
    if wrong and len(wrong) == len(area.notes) and len(owners) == 1:
        then = {
            "__xen_guest": "falls back to the __xen_guest string",
            None: "finds no Xen notes",
        }.get(fallback, f"uses the notes from {fallback}")
        yield Hit(
            f"all {len(wrong)} notes in {label} have owner {owners.pop()!r}, not 'Xen': "
            f"Xen ignores them and {then}",
            area.layer,
            area.offset,
            area.size,
        )
    else:
        for note in wrong:
            yield at_note(
                note,
                f"{name(note)} has owner {note.owner_name!r}, not 'Xen': Xen ignores the note",
            )
    for note in area.notes:
        if ProblemCode.OWNER_NOT_EXACT in note.problems:
            yield at_note(
                note,
                f"{name(note)}: owner 'Xen' with namesz {note.namesz}: Xen "
                'accepts it, rust-vmm requires namesz 4 and "Xen\\0"',
            )


RULE = Rule(
    title='Xen note owner is not exactly "Xen"',
    severity="warning",
    targets=(*XEN_TARGETS, "rust-vmm"),
)
