"""The rich tree `pvhlint inspect` prints: layers, headers, segments, notes, entry points."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from ..bzimage import LOADFLAG_NAMES, XLOADFLAG_NAMES, flag_names
from ..model import ElfInfo, Image, MultibootHeader, Note, NoteArea, PESection
from ..text import printable
from ..values import plain_value
from ..xennotes import note_label
from .layers import where

# Rows of one list the tree shows: past this the rest is counted, and `inspect --json`
# lists them all (a hostile file with 65534 program headers took 40 s to draw in full).
ROWS_SHOWN = 256


def format_value(value: Any) -> str:
    """A note or header value for the console, escaped for rich markup."""
    return escape(printable(plain_value(value)))


def image_tree(image: Image, authenticode: dict[str, Any] | None = None) -> Tree:
    """`authenticode`: a signed PE image's signers and verification (`inspect` asks LIEF)."""
    tree = Tree(
        f"[bold]{escape(printable(image.path))}[/]  {image.format} → {image.kernel_format}, "
        f"{image.size} bytes"
    )
    _layers(tree, image)
    if image.setup:
        _setup(tree, image)
    if image.pe:
        pe = image.pe
        signed = f"signed ({len(pe.certificates)} certificate(s))" if pe.signed else "unsigned"
        kind = "PE32+" if pe.optional_magic == 0x20B else "PE32"
        what = "PE/EFI image" if image.format == "pe" else "PE/EFI stub"
        branch = tree.add(f"[bold]{what}[/] at {pe.offset:#x}: {kind}, machine {pe.machine:#x}, "
                          f"subsystem {pe.subsystem}, {pe.sections} sections, "
                          f"Authenticode: {signed}")  # fmt: skip
        _authenticode(tree, authenticode)
        if pe.section_table:
            _pe_sections(branch, pe.section_table)
    if image.elf:
        _elf(tree, image, image.elf)
    if image.multiboot:
        branch = tree.add("[bold]Multiboot headers[/]")
        for header in image.multiboot:
            branch.add(_multiboot(image, header))
    if image.entry_points:
        _entries(tree, image)
    if image.problems:
        branch = tree.add("[bold red]Problems[/]")
        for problem in image.problems[:ROWS_SHOWN]:
            branch.add(
                f"{problem.code}: {problem.message} ({where(image, problem.layer, problem.offset)})"
            )
        _count_rest(branch, image.problems, "problems")
    return tree


def _count_rest(branch: Tree, items: list[Any], what: str) -> None:
    """After the first ROWS_SHOWN items, a line counting the rest."""
    if len(items) > ROWS_SHOWN:
        branch.add(f"… and {len(items) - ROWS_SHOWN} more {what} "
                   f"(`pvhlint inspect --json` lists them all)")  # fmt: skip


def _authenticode(tree: Tree, details: dict[str, Any] | None) -> None:
    if not details:
        return
    if "error" in details:
        tree.add(f"Authenticode: {escape(details['error'])}")
        return
    for signer in details["signers"]:
        tree.add(f"signed by {escape(signer['issuer'])}, serial {signer['serial']}, "
                 f"LIEF verification: {details['verification']}")  # fmt: skip


def _layers(tree: Tree, image: Image) -> None:
    branch = tree.add("[bold]Layers[/]")
    for layer in image.layers:
        text = f"{layer.index}: {layer.kind} [cyan]{layer.format}[/]"
        if layer.parent is not None:
            text += f" at {layer.offset:#x} in layer {layer.parent}, {layer.size} bytes"
        if layer.codec:
            decoded = layer.decoded_size if layer.decoded_size is not None else "(prefix only)"
            text += f", codec {layer.codec}, decoded {decoded}"
        if layer.size_trailer is not None:
            text += f", size trailer {layer.size_trailer}"
        branch.add(text)


def _setup(tree: Tree, image: Image) -> None:
    setup = image.setup
    assert setup is not None
    fields = setup.fields
    version = f"{setup.version >> 8}.{setup.version & 0xFF:02d}" if setup.has_hdrs else "none"
    branch = tree.add(f"[bold]Linux setup header[/]: protocol {version}, "
                      f"setup_sects {setup.setup_sects}, "
                      f"protected-mode code at {setup.pm_offset:#x}")  # fmt: skip
    branch.add(f"boot_flag {setup.boot_flag:#06x}, HdrS {'yes' if setup.has_hdrs else 'no'}")
    if "loadflags" in fields:
        names = " ".join(flag_names(fields["loadflags"], LOADFLAG_NAMES))
        branch.add(f"loadflags {fields['loadflags']:#x} {names}")
    if "xloadflags" in fields:
        names = " ".join(flag_names(fields["xloadflags"], XLOADFLAG_NAMES))
        branch.add(f"xloadflags {fields['xloadflags']:#x} {names}")
    shown = ("code32_start", "payload_offset", "payload_length", "init_size", "handover_offset",
             "kernel_info_offset", "pref_address", "kernel_alignment")  # fmt: skip
    values = [f"{name} {fields[name]:#x}" for name in shown if name in fields]
    if values:
        branch.add(", ".join(values))
    if setup.kernel_info:
        branch.add(f"kernel_info {format_value(setup.kernel_info)}")
    if setup.crc_stored is not None:
        state = "[green]ok[/]" if setup.crc_ok else "[red]mismatch[/]"
        if setup.crc_ok_before_signing:
            state = (
                "[green]ok before signing[/] (signing rewrote the PE CheckSum and Security entry)"
            )
        branch.add(f"CRC32 {setup.crc_stored:#010x} at {setup.crc_end - 4:#x}: {state}")
    else:
        branch.add("CRC32: [red]none[/] (syssize does not fit the file)")


def _elf(tree: Tree, image: Image, elf: ElfInfo) -> None:
    branch = tree.add(f"[bold]ELF{elf.elf_class}[/] ({where(image, elf.layer, 0)}): "
                      f"{elf.machine_name}, type {elf.type}, e_entry {elf.entry:#x}, "
                      f"e_flags {elf.flags:#x}")  # fmt: skip
    table = Table("#", "type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align",
                  box=None, pad_edge=False)  # fmt: skip
    for seg in elf.segments[:ROWS_SHOWN]:
        flags = "".join(c if seg.flags & b else "-" for c, b in (("R", 4), ("W", 2), ("X", 1)))
        table.add_row(str(seg.index), seg.type_name, f"{seg.offset:#x}", f"{seg.vaddr:#x}",
                      f"{seg.paddr:#x}", f"{seg.filesz:#x}", f"{seg.memsz:#x}", flags,
                      f"{seg.align:#x}")  # fmt: skip
    segments = branch.add("segments")
    segments.add(table)
    _count_rest(segments, elf.segments, "program headers")
    source = f"from {elf.xen_notes_from}" if elf.xen_notes_from else "none found"
    notes = branch.add(f"[bold]Xen notes[/] ({source})")
    areas = _distinct_areas(elf.note_areas)
    for area, repeats in areas[:ROWS_SHOWN]:
        notes.add(_area(image, area, repeats))
    _count_rest(notes, areas, "note areas")
    if elf.xen_guest:
        notes.add(f"__xen_guest at {where(image, elf.layer, elf.xen_guest.offset)}: "
                  f"{escape(repr(elf.xen_guest.text))}")  # fmt: skip


def _distinct_areas(areas: list[NoteArea]) -> list[tuple[NoteArea, list[NoteArea]]]:
    """Each area with the later ones over exactly the same bytes, walked the same way
    (many PT_NOTEs can point at one note area; each is the same walk)."""
    groups: dict[tuple[str, int, int, int, int], tuple[NoteArea, list[NoteArea]]] = {}
    for area in areas:
        key = (area.source, area.layer, area.offset, area.size, area.align)
        groups.setdefault(key, (area, []))[1].append(area)
    return [(first, same[1:]) for first, same in groups.values()]


def _area(image: Image, area: NoteArea, repeats: list[NoteArea]) -> Tree:
    label = area.name or f"{area.source} {area.index}"
    agree = ""
    if area.notes_by_align is None:
        agree = " [red]p_align 0: QEMU divides by it[/]"
    elif _types(area.notes) != _types(area.notes_by_align):
        agree = f" [yellow]padded by p_align {area.align} the walk finds other notes[/]"
    branch = Tree(f"{label} at {where(image, area.layer, area.offset)}, {area.size:#x} bytes, "
                  f"p_align {area.align}{agree}")  # fmt: skip
    if repeats:
        indices = ", ".join(str(other.index) for other in repeats[:8])
        more = f" and {len(repeats) - 8} more" if len(repeats) > 8 else ""
        branch.add(f"the same bytes as {area.source} {indices}{more}")
    for note in area.notes[:ROWS_SHOWN]:
        branch.add(_note(image, note))
    _count_rest(branch, area.notes, "notes")
    return branch


def _types(notes: list[Note]) -> list[tuple[bytes, int]]:
    return [(note.owner, note.type) for note in notes]


def _note(image: Image, note: Note) -> str:
    owner = escape(printable(note.owner_name))
    label = note_label(note.type) if note.is_xen else f"type {note.type}"
    text = (f"{where(image, note.layer, note.offset)} [cyan]{owner}[/] {label} "
            f"descsz {note.descsz}")  # fmt: skip
    if note.is_xen:
        text += f" = {format_value(note.value)}"
    if note.problems:
        text += f" [red]{', '.join(note.problems)}[/]"
    return text


def _multiboot(image: Image, header: MultibootHeader) -> str:
    place = "in window" if header.in_window else "[yellow]outside the search window[/]"
    if not header.aligned:
        place += " [yellow]misaligned[/]"
    if not header.checksum_ok:
        place += " [red]bad checksum[/]"
    text = f"multiboot{header.version} at {where(image, header.layer, header.offset)}, {place}"
    if header.version == 1:
        text += f", flags {header.flags:#x}"
        if header.fields:
            text += " " + format_value(header.fields)
    else:
        text += f", arch {header.architecture}, length {header.header_length}, tags: "
        text += "; ".join(
            f"{tag.type} {tag.name}{' (optional)' if tag.optional else ''}" for tag in header.tags
        )
    if header.problems:
        text += f" [red]{', '.join(header.problems)}[/]"
    return text


def _entries(tree: Tree, image: Image) -> None:
    branch = tree.add("[bold]Entry points[/]")
    for point in image.entry_points:
        space = "physical" if point.physical else "virtual"
        if not point.physical and point.segments_by_paddr and not point.segments_by_vaddr:
            # Linux's vmlinux: e_entry is startup_64's physical address, in no segment by vaddr
            space = "physical"
        if image.elf is None or image.elf.layer != point.layer:
            held = "not in an ELF"
        else:
            by_paddr = point.segments_by_paddr or "none"
            by_vaddr = point.segments_by_vaddr or "none"
            held = (f"by paddr in PT_LOAD {by_paddr}, "
                    f"by vaddr in PT_LOAD {by_vaddr}")  # fmt: skip
        branch.add(f"{point.kind}: {point.address:#x} ({space} address) — {escape(held)}")


def _pe_sections(branch: Tree, sections: list[PESection]) -> None:
    table = Table("name", "file offset", "size", "virtual address", "virtual size", box=None)
    for section in sections[:ROWS_SHOWN]:
        table.add_row(escape(section.name), f"{section.offset:#x}", f"{section.size:#x}",
                      f"{section.virtual_address:#x}", f"{section.virtual_size:#x}")  # fmt: skip
    branch.add(table)
    _count_rest(branch, sections, "sections")
