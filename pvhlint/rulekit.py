"""Small helpers rule modules share: the Xen notes libelf reads, naming a note, a Hit located
at a note."""

from __future__ import annotations

from .loaders.common import note_size
from .loaders.xen import XEN_TARGETS, xen_elf
from .model import Image, Note
from .rule import Hit
from .xennotes import note_label

__all__ = ["XEN_TARGETS", "at_elf", "at_note", "libelf_notes", "name", "note_size"]


def libelf_notes(image: Image) -> list[Note]:
    """The Xen notes libelf reads, in file order: none when libxenguest reads no ELF."""
    elf = xen_elf(image)
    return elf.xen_notes if elf is not None else []


def name(note: Note) -> str:
    """'XEN_ELFNOTE_PHYS32_ENTRY (18)', or the owner and type of a foreign note."""
    if note.is_xen:
        return f"{note_label(note.type)} ({note.type})"
    return f"note type {note.type} owned by {note.owner_name!r}"


def at_note(note: Note, message: str, rejects: tuple[str, ...] = ()) -> Hit:
    return Hit(message, note.layer, note.offset, note_size(note), rejects)


def at_elf(
    image: Image, message: str, offset: int | None = 0, rejects: tuple[str, ...] = ()
) -> Hit:
    """A finding about the ELF as a whole (its header when offset is 0)."""
    assert image.elf is not None
    return Hit(message, image.elf.layer, offset, None, rejects)
