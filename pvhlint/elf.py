"""A strict ELF reader that sees what Xen's libelf sees (xen/common/libelf).

Notes are walked the way libelf walks them: name and descriptor padded to 4
whatever the class, owner compared as a C string, header fields outside the
image read as absent (rust-vmm's linux-loader pads by 4 too). Each segment is also walked
padded to its p_align, the way QEMU does, so rules can say where they disagree.
"""

from __future__ import annotations

import struct

from .blob import Blob
from .errors import FormatError
from .model import (
    PT_NOTE,
    SHT_NOTE,
    ElfInfo,
    Note,
    NoteArea,
    Problem,
    ProblemCode,
    Section,
    Segment,
    XenGuestString,
    align_up_wrapped,
)
from .xennotes import NOTE_KINDS, ValueKind, XenNote, decode_value, parse_xen_guest

ELF_MAGIC = b"\x7fELF"
MAX_TOTAL_NOTES = 65536  # libelf's ELF_MAX_TOTAL_NOTE_COUNT
_MAX_OWNER = 256  # bytes of an owner name kept; libelf compares a C string anyway
_MAX_DESC = 1 << 16
_MAX_STRING = 1 << 16  # how far past a descriptor to look for a string's NUL
_MAX_PHDRS = 0xFFFF
# Owners of notes that are not Xen's and are not mistakes.
KNOWN_OWNERS = frozenset(
    {"GNU", "Linux", "LINUX", "FreeBSD", "NetBSD", "OpenBSD", "Go", "stapsdt", "FDO",
     "Android", "CORE", "VMCOREINFO", "XenSource"}
)  # fmt: skip


class ElfReader:
    """Reads one ELF layer from a Blob."""

    def __init__(
        self, blob: Blob, layer: int, problems: list[Problem], as_elf64: bool = False
    ) -> None:
        self.blob = blob
        self.layer = layer
        self.problems = problems
        ident = blob.read(0, 16)
        if len(ident) < 16 or ident[:4] != ELF_MAGIC:
            raise FormatError("not an ELF file (no \\x7fELF magic)")
        if ident[5] not in (1, 2):
            raise FormatError(f"ELF data encoding {ident[5]} is neither little- nor big-endian")
        # libelf (elf_64bit) and QEMU (load_elf) read every EI_CLASS but 2 as ELF32.
        self.ei_class = ident[4]
        self.as_elf64 = as_elf64  # the ELF64 reading of any EI_CLASS (see _elf64)
        self.class64 = ident[4] == 2 or as_elf64
        if ident[4] not in (1, 2) and not as_elf64:
            self._problem(
                ProblemCode.ELF_CLASS, f"EI_CLASS {ident[4]} is neither 1 nor 2: read as ELF32", 4
            )
        self.endian = "<" if ident[5] == 1 else ">"
        self.total_notes = 0
        # The p_align walks (QEMU) have no cap of their own; without one, many
        # PT_NOTEs over one big area would make millions of notes.
        self.aligned_notes = 0
        self.qemu_steps = 0
        # Walks already made, by area: a hostile file points thousands of PT_NOTEs at one
        # area, and each walk of it gives the same notes (they are never changed after).
        self._walks: dict[tuple[int, int, int, int, bool], tuple[list[Note], int | None]] = {}
        self._searches: dict[tuple[int, int, int], tuple[Note | None, int]] = {}

    def _unpack(self, fmt: str, offset: int, what: str) -> tuple[int, ...]:
        fmt = self.endian + fmt
        size = struct.calcsize(fmt)
        data = self.blob.read(offset, size)
        if len(data) < size:
            raise FormatError(f"{what} at {offset:#x} runs past the end of the data")
        return struct.unpack(fmt, data)

    def _problem(self, code: ProblemCode, message: str, offset: int | None) -> None:
        self.problems.append(Problem(code, message, self.layer, offset))

    def read(self, want_sections: bool, stride: int | None = None) -> ElfInfo:
        """The ELF as libelf reads it: program header i at e_phoff + i * e_phentsize,
        each read whole (a small e_phentsize makes entries overlap). `stride` overrides
        e_phentsize (the packed view below)."""
        fmt = "HHIQQQIHHHHHH" if self.class64 else "HHIIIIIHHHHHH"
        (e_type, machine, _version, entry, phoff, shoff, flags, _ehsize, phentsize, phnum,
         shentsize, shnum, shstrndx) = self._unpack(fmt, 16, "ELF header")  # fmt: skip
        if stride is None:
            self._header_problems(machine)
        header_phentsize, phentsize = phentsize, phentsize if stride is None else stride
        # rust-vmm's ELF64 reading stops at an e_phentsize other than 56 before any header
        unread = self.as_elf64 and phentsize != self.phdr_size
        segments = [] if unread else self._segments(phoff, phnum, phentsize)
        info = ElfInfo(self.layer, 64 if self.class64 else 32, machine, e_type, flags, entry,
                       phoff, shoff, phentsize, shentsize, segments, None, [], None, [],
                       None, self.ei_class, phnum, shnum)  # fmt: skip
        self._note_segments(info)
        if (want_sections or not info.xen_notes) and not self.as_elf64:  # rust-vmm reads none
            info.sections = self._sections(shoff, shnum, shentsize, shstrndx)
            if not info.xen_notes:
                self._note_sections(info)
            if not info.xen_notes:
                info.xen_guest = self._xen_guest(info.sections)
                if info.xen_guest:
                    info.xen_notes_from = "__xen_guest"
        if stride is None and phnum and header_phentsize != self.phdr_size and not self.as_elf64:
            info.packed = self._packed(want_sections)
        if stride is None and not self.class64:
            info.elf64 = self._elf64()
        return info

    @property
    def phdr_size(self) -> int:
        return 56 if self.class64 else 32

    def _header_problems(self, machine: int) -> None:
        if self.endian == ">":
            self._problem(ProblemCode.BIG_ENDIAN, "big-endian ELF: no x86 loader reads it", 5)
        if machine not in (3, 62):
            self._problem(ProblemCode.UNSUPPORTED_MACHINE, f"e_machine {machine} is not x86", 18)

    def _packed(self, want_sections: bool) -> ElfInfo:
        """The program headers at sizeof(Phdr) steps whatever e_phentsize says, as QEMU's
        load_elf reads them (include/hw/elf_ops.h: e_phnum * sizeof(phdr[0]) bytes). Its
        problems are kept apart: they are that reading's, not the image's."""
        reader = ElfReader(self.blob, self.layer, [])
        packed = reader.read(want_sections, stride=self.phdr_size)
        packed.problems = reader.problems
        return packed

    def _elf64(self) -> ElfInfo | None:
        """The same bytes read as an ELF64 whatever EI_CLASS says, as rust-vmm's
        linux-loader reads them (Elf::load reads an Elf64_Ehdr and never looks at EI_CLASS).
        None when not even its header can be read. Its problems are kept apart."""
        reader = ElfReader(self.blob, self.layer, [], as_elf64=True)
        try:
            view = reader.read(want_sections=False)
        except FormatError:
            return None
        view.problems = reader.problems
        return view

    def _segments(self, phoff: int, phnum: int, phentsize: int) -> list[Segment]:
        if phnum > _MAX_PHDRS:
            raise FormatError(f"e_phnum {phnum} is not a real program header count")
        segments = []
        for index in range(phnum):
            at = phoff + index * phentsize
            try:
                if self.class64:
                    p_type, p_flags, off, vaddr, paddr, filesz, memsz, align = self._unpack(
                        "IIQQQQQQ", at, f"program header {index}"
                    )
                else:
                    p_type, off, vaddr, paddr, filesz, memsz, p_flags, align = self._unpack(
                        "IIIIIIII", at, f"program header {index}"
                    )
            except FormatError as exc:  # the loaders name their own rejects for this
                self._problem(ProblemCode.PHDRS_PAST_EOF, str(exc), 32 if self.class64 else 28)
                break
            segments.append(
                Segment(index, p_type, off, vaddr, paddr, filesz, memsz, p_flags, align)
            )
        return segments

    def _sections(self, shoff: int, shnum: int, shentsize: int, shstrndx: int) -> list[Section]:
        want = 64 if self.class64 else 40
        if not shnum or not shoff:
            return []
        if shentsize < want or shnum > 0xFFFF:
            self._problem(
                ProblemCode.BAD_SECTION_HEADERS, f"e_shentsize {shentsize} / e_shnum {shnum}", None
            )
            return []
        raw = []
        for index in range(shnum):
            at = shoff + index * shentsize
            fmt = "IIQQQQIIQQ" if self.class64 else "IIIIIIIIII"
            try:
                name, sh_type, sh_flags, addr, off, size, link, *_ = self._unpack(
                    fmt, at, f"section header {index}"
                )
            except FormatError as exc:
                self._problem(ProblemCode.TRUNCATED, str(exc), at)
                break
            raw.append((index, name, sh_type, sh_flags, addr, off, size, link))
        strtab = b""
        if 0 < shstrndx < len(raw):
            _, _, _, _, _, str_off, str_size, _ = raw[shstrndx]
            strtab = self.blob.read(str_off, min(str_size, 1 << 20))
        sections = []
        for index, name_off, sh_type, sh_flags, addr, off, size, link in raw:
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off : end if end >= 0 else None].decode("latin-1")
            sections.append(Section(index, name, sh_type, off, size, addr, sh_flags, link))
        return sections

    def _note_segments(self, info: ElfInfo) -> None:
        for seg in info.segments:
            if seg.type != PT_NOTE:
                continue
            notes = self._walk(seg.offset, seg.offset + seg.filesz, 4, "PT_NOTE")
            if seg.align == 4 and not self.class64:  # the same walk, in the same 32 bits
                by_align: list[Note] | None = notes
            elif seg.align == 0 or self.as_elf64:  # rust-vmm's view walks by 4 only
                by_align = None
            else:
                by_align = self._walk(seg.offset, seg.offset + seg.filesz, seg.align, None)
            qemu = None if self.as_elf64 else self._qemu_search(seg)
            area = NoteArea(self.layer, "PT_NOTE", seg.index, seg.offset, seg.filesz, seg.align,
                            None, notes, by_align, qemu)  # fmt: skip
            info.note_areas.append(area)
            if seg.offset == 0:  # libelf skips these (an old binutils bug)
                message = f"PT_NOTE {seg.index} has p_offset 0; Xen skips it"
                self._problem(ProblemCode.NOTE_SEGMENT_AT_ZERO, message, None)
                continue
            info.xen_notes.extend(note for note in notes if note.is_xen)
        if info.xen_notes:
            info.xen_notes_from = "PT_NOTE"

    def _note_sections(self, info: ElfInfo) -> None:
        for sec in info.sections or []:
            if sec.type != SHT_NOTE or sec.index == 0:
                continue
            notes = self._walk(sec.offset, sec.offset + sec.size, 4, "SHT_NOTE")
            info.note_areas.append(NoteArea(self.layer, "SHT_NOTE", sec.index, sec.offset,
                                            sec.size, 4, sec.name, notes, notes))  # fmt: skip
            info.xen_notes.extend(note for note in notes if note.is_xen)
        if info.xen_notes:
            info.xen_notes_from = "SHT_NOTE"

    def _qemu_search(self, seg: Segment) -> Note | None:
        """QEMU's get_elf_note_type (include/hw/elf_ops.h): from the segment's start, the
        first note of type XEN_ELFNOTE_PHYS32_ENTRY. Each step is 12 + the name and
        descriptor sizes padded to p_align, in the ELF's word (elf_word: it wraps); the
        search ends when one step is larger than p_filesz, and only then: it reads on past
        the segment's end. Past the file's end QEMU reads unmapped memory (None here); a
        step of 0 spins on one note for ever (None: QEMU hangs)."""
        if seg.align == 0:
            return None  # QEMU divides by p_align first (SIGFPE)
        if seg.filesz == 0:
            return None  # load_elf searches from `data`, which stays NULL: no note
        key = (seg.offset, seg.filesz, seg.align)
        found, steps = self._searches.get(key, (None, -1))
        if steps >= 0 and self.qemu_steps + steps <= MAX_TOTAL_NOTES:
            self.qemu_steps += steps  # the same search again, within the same budget
            return found
        before = self.qemu_steps
        found = self._search_from(seg)
        self._searches[key] = (found, self.qemu_steps - before)
        return found

    def _search_from(self, seg: Segment) -> Note | None:
        bits = 64 if self.class64 else 32
        mask = 2**bits - 1
        pos = seg.offset
        while self.qemu_steps < MAX_TOTAL_NOTES:  # one budget for all segments (hostile files)
            self.qemu_steps += 1
            header = self.blob.read(pos, 12)
            if len(header) < 12:
                return None
            namesz, descsz, n_type = struct.unpack("<III", header)  # read as the host's
            if n_type == XenNote.PHYS32_ENTRY:
                return self._note(pos, seg.offset + seg.filesz, seg.align, header, bits)
            step = (12 + align_up_wrapped(namesz, seg.align, bits)
                    + align_up_wrapped(descsz, seg.align, bits)) & mask  # fmt: skip
            if step == 0 or step > seg.filesz & mask:
                return None
            pos += step
        return None

    def _walk(self, start: int, end: int, pad: int, counted: str | None) -> list[Note]:
        """Walk [start, end) like elf_xen_parse_notes; `counted` notes count toward the cap.
        Padded sizes wrap like the walker's integers: libelf's `unsigned` (32 bits: a namesz
        of 0xfffffffd or more pads to 0), QEMU's elf_word (the ELF's word) otherwise."""
        bits = 32 if counted or not self.class64 else 64
        key = (start, end, pad, bits, counted is None)
        if key in self._walks and self._count(counted, len(self._walks[key][0])):
            notes, cut_at = self._walks[key]
            if cut_at is not None:
                self._cut_header(cut_at)
            return notes
        notes: list[Note] = []
        pos = start
        while pos < end:
            if counted and self.total_notes >= MAX_TOTAL_NOTES:
                self._problem(
                    ProblemCode.TOO_MANY_NOTES, "more than 65536 notes: Xen marks it broken", pos
                )
                return notes
            if not counted and self.aligned_notes >= MAX_TOTAL_NOTES:
                return notes
            header = self.blob.read(pos, 12)
            if len(header) < 12:
                if header:
                    self._cut_header(pos)
                self._walks[key] = (notes, pos if header else None)
                return notes
            if counted:
                self.total_notes += 1
            else:
                self.aligned_notes += 1
            notes.append(self._note(pos, end, pad, header, bits))
            pos = notes[-1].desc_offset + align_up_wrapped(notes[-1].descsz, pad, bits)
        self._walks[key] = (notes, None)  # only walks that ran to their end are reused
        return notes

    def _count(self, counted: str | None, found: int) -> bool:
        """Counts a repeated walk's notes toward its cap, if they all fit under it."""
        if counted and self.total_notes + found <= MAX_TOTAL_NOTES:
            self.total_notes += found
        elif not counted and self.aligned_notes + found <= MAX_TOTAL_NOTES:
            self.aligned_notes += found
        else:
            return False  # walk again: the cap stops it part way, as it stops libelf
        return True

    def _cut_header(self, pos: int) -> None:
        self._problem(ProblemCode.TRUNCATED, "note header runs past the end of the data", pos)

    def _note(self, pos: int, end: int, pad: int, header: bytes, bits: int) -> Note:
        namesz, descsz, n_type = struct.unpack(self.endian + "III", header)
        name_off = pos + 12
        # Sizes are padded, not offsets: libelf (and rust-vmm) with 4, QEMU with p_align.
        desc_off = name_off + align_up_wrapped(namesz, pad, bits)
        owner = self.blob.read(name_off, min(namesz, _MAX_OWNER))
        desc = self.blob.read(desc_off, min(descsz, _MAX_DESC))
        is_xen = self.blob.read(name_off, 4) == b"Xen\0"  # strcmp: namesz is not consulted
        after = self.blob.read(desc_off + descsz, 4) if descsz < 8 else b""
        note = Note(self.layer, pos, namesz, descsz, n_type, owner, desc, desc_off, is_xen, after)
        if len(owner) < min(namesz, _MAX_OWNER) or len(desc) < min(descsz, _MAX_DESC):
            note.problems.append(ProblemCode.TRUNCATED)
        if desc_off + descsz > end or name_off + namesz > end:
            note.problems.append(ProblemCode.DESC_PAST_SEGMENT)
        if pos % 4:
            note.problems.append(ProblemCode.BAD_ALIGNMENT)
        if not is_xen and note.owner_name not in KNOWN_OWNERS:
            note.problems.append(ProblemCode.OWNER_NOT_XEN)
        elif is_xen and (namesz != 4 or owner != b"Xen\0"):
            note.problems.append(ProblemCode.OWNER_NOT_EXACT)
        if is_xen:
            self._decode(note)
        return note

    def _decode(self, note: Note) -> None:
        kind = NOTE_KINDS.get(note.type)
        note.name = f"XEN_ELFNOTE_{kind.name}" if kind else None
        string = None
        if kind and kind.kind == ValueKind.STRING:
            string = self._c_string(note)
        note.value = decode_value(note.type, note.desc, note.descsz, string, self.class64)

    def _c_string(self, note: Note) -> str | None:
        """libelf's elf_strval: up to the first NUL anywhere in the image, not within descsz."""
        nul = self.blob.find(b"\0", note.desc_offset, note.desc_offset + note.descsz + _MAX_STRING)
        if nul < 0:
            note.problems.append(ProblemCode.STRING_UNTERMINATED)
            return None
        if nul >= note.desc_offset + note.descsz:
            note.problems.append(ProblemCode.STRING_NOT_IN_DESC)
        return self.blob.read(note.desc_offset, nul - note.desc_offset).decode("latin-1")

    def _xen_guest(self, sections: list[Section] | None) -> XenGuestString | None:
        for sec in sections or []:
            if sec.name == "__xen_guest":
                raw = self.blob.read(sec.offset, min(sec.size, 1 << 16))
                text = raw.split(b"\0", 1)[0].decode("latin-1")
                return XenGuestString(self.layer, sec.offset, text, parse_xen_guest(text))
        return None


def read_elf(blob: Blob, layer: int, problems: list[Problem], want_sections: bool) -> ElfInfo:
    return ElfReader(blob, layer, problems).read(want_sections)
