"""A tiny, bootable PVH test kernel, assembled byte by byte (no toolchain needed).

The image is an ELF32 (or ELF64) executable with:
* one PT_LOAD holding 32-bit code at ``load_addr`` (default: ``phys32_entry``), p_paddr = p_vaddr;
* one PT_NOTE (``note_align``, default 4) with Xen notes padded to 4 bytes:
  XEN_VERSION "xen-3.0", GUEST_OS "linux", LOADER "generic" and PHYS32_ENTRY (type 18);
  ``extra_notes`` are appended after them, in order;
* optionally a Multiboot 1 header (flags 0, ELF layout) so QEMU takes its multiboot path.

Entered in 32-bit protected mode with paging off (PVH ABI, or Multiboot with flat segments), the
code writes ``message`` to I/O port 0xe9 (QEMU ``-debugcon``) with ``rep outsb`` and then writes
``exit_code`` to port 0xf4. With ``-device isa-debug-exit,iobase=0xf4,iosize=0x04`` QEMU then
exits with status ``(exit_code << 1) | 1`` (0x21 = 33 for the default 0x10). If the exit device is
absent it halts with interrupts off.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NamedTuple

XEN_ELFNOTE_XEN_VERSION = 5
XEN_ELFNOTE_GUEST_OS = 6
XEN_ELFNOTE_LOADER = 8
XEN_ELFNOTE_PHYS32_ENTRY = 18

DEFAULT_MESSAGE = b"pvhlint ok\n"
DEFAULT_EXIT_CODE = 0x10
CODE_OFFSET = 0x1000  # file offset of the PT_LOAD segment
MB1_MAGIC = 0x1BADB002
PT_LOAD = 1
PT_NOTE = 4


class ElfNote(NamedTuple):
    """One ELF note; ``name`` is the owner without its NUL."""

    type: int
    desc: bytes
    name: bytes = b"Xen"


def qemu_exit_status(exit_code: int = DEFAULT_EXIT_CODE) -> int:
    """The process exit status QEMU's isa-debug-exit gives for a guest write of ``exit_code``."""
    return ((exit_code << 1) | 1) & 0xFF


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def encode_note(note: ElfNote) -> bytes:
    """Encode one note the way libelf reads it: name and desc each padded to 4 bytes."""
    name = note.name + b"\0"
    header = struct.pack("<III", len(name), len(note.desc), note.type)
    return header + _pad4(name) + _pad4(note.desc)


def default_notes(phys32_entry: int, elf_class: int, owner: bytes = b"Xen") -> list[ElfNote]:
    """XEN_VERSION, GUEST_OS, LOADER and PHYS32_ENTRY (u32 in ELF32, u64 in ELF64)."""
    entry = struct.pack("<I" if elf_class == 32 else "<Q", phys32_entry)
    return [
        ElfNote(XEN_ELFNOTE_XEN_VERSION, b"xen-3.0\0", owner),
        ElfNote(XEN_ELFNOTE_GUEST_OS, b"linux\0", owner),
        ElfNote(XEN_ELFNOTE_LOADER, b"generic\0", owner),
        ElfNote(XEN_ELFNOTE_PHYS32_ENTRY, entry, owner),
    ]


def _exit_insns(exit_code: int | None) -> bytes:
    if exit_code is None:
        return b"\x90" * 4  # no exit write: the guest just halts
    return b"\xb0" + bytes([exit_code & 0xFF]) + b"\xe6\xf4"  # mov al, code; out 0xf4, al


def guest_code(load_addr: int, message: bytes, exit_code: int | None = DEFAULT_EXIT_CODE) -> bytes:
    """32-bit code at ``load_addr``: print ``message`` on port 0xe9, write port 0xf4, halt.

    ``exit_code=None`` leaves out the port 0xf4 write, so the guest halts forever.
    """
    code_len = 25
    msg_addr = load_addr + code_len
    code = b"".join(
        [
            b"\xbe" + struct.pack("<I", msg_addr),  # mov esi, msg
            b"\xb9" + struct.pack("<I", len(message)),  # mov ecx, len
            b"\x66\xba\xe9\x00",  # mov dx, 0xe9
            b"\xfc\xf3\x6e",  # cld; rep outsb
            _exit_insns(exit_code),
            b"\xfa\xf4\xeb\xfd",  # cli; hlt; jmp hlt
        ]
    )
    assert len(code) == code_len
    return code + message


def multiboot1_header(flags: int = 0) -> bytes:
    """A Multiboot 1 header (magic, flags, checksum) without address fields."""
    return struct.pack("<III", MB1_MAGIC, flags, -(MB1_MAGIC + flags) & 0xFFFFFFFF)


def _ehdr(elf_class: int, entry: int, phnum: int, e_flags: int) -> bytes:
    ident = b"\x7fELF" + bytes([1 if elf_class == 32 else 2, 1, 1]) + b"\0" * 9
    if elf_class == 32:
        return ident + struct.pack(
            "<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, e_flags, 52, 32, phnum, 40, 0, 0
        )
    return ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, e_flags, 64, 56, phnum, 64, 0, 0
    )


def _phdr(
    elf_class: int, p_type: int, flags: int, offset: int, addr: int, size: int, align: int
) -> bytes:
    if elf_class == 32:
        return struct.pack("<IIIIIIII", p_type, offset, addr, addr, size, size, flags, align)
    return struct.pack("<IIQQQQQQ", p_type, flags, offset, addr, addr, size, size, align)


def build_pvh_kernel(
    message: bytes = DEFAULT_MESSAGE,
    *,
    elf_class: int = 32,
    phys32_entry: int = 0x100000,
    extra_notes: Iterable[ElfNote | tuple[int, bytes]] = (),
    owner: bytes = b"Xen",
    base_notes: bool = True,
    note_align: int = 4,
    load_addr: int | None = None,
    exit_code: int | None = DEFAULT_EXIT_CODE,
    multiboot1: bool = False,
    e_flags: int = 0,
) -> bytes:
    """Return the bytes of a tiny PVH kernel that prints ``message`` on port 0xe9.

    ``owner`` names the owner of the four default notes (QEMU ignores it, libelf needs "Xen");
    ``base_notes=False`` drops them (then only ``extra_notes`` remain); ``note_align`` is the
    PT_NOTE p_align (QEMU pads notes to it, libelf always to 4); ``load_addr`` moves the code
    away from ``phys32_entry`` (the note value is then wrong on purpose); ``multiboot1`` adds a
    Multiboot 1 header, which QEMU prefers over the PVH note; ``exit_code=None`` makes the guest
    halt instead of exiting QEMU.
    """
    if elf_class not in (32, 64):
        raise ValueError(f"elf_class must be 32 or 64, not {elf_class}")
    load = phys32_entry if load_addr is None else load_addr
    notes = default_notes(phys32_entry, elf_class, owner) if base_notes else []
    notes += [n if isinstance(n, ElfNote) else ElfNote(*n) for n in extra_notes]
    note_blob = b"".join(encode_note(n) for n in notes)
    ehsize, phentsize = (52, 32) if elf_class == 32 else (64, 56)
    note_off = ehsize + 2 * phentsize
    mb_off = note_off + len(note_blob)
    mb_blob = multiboot1_header() if multiboot1 else b""
    if mb_off + len(mb_blob) > CODE_OFFSET:
        raise ValueError("too many notes: they must fit below file offset 0x1000")
    code = guest_code(load, message, exit_code)
    phdrs = _phdr(elf_class, PT_LOAD, 5, CODE_OFFSET, load, len(code), 0x1000)
    phdrs += _phdr(elf_class, PT_NOTE, 4, note_off, 0, len(note_blob), note_align)
    head = _ehdr(elf_class, load, 2, e_flags) + phdrs + note_blob + mb_blob
    return head.ljust(CODE_OFFSET, b"\0") + code
