"""QEMU -kernel finds no usable PVH entry in this ELF.

What:
  For an ELF with neither a Linux setup header nor a Multiboot 1 header in its
  first 8144 bytes, QEMU's x86 -kernel boots through the PVH entry. It searches
  every PT_NOTE for a note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), padding names
  and descriptors to the segment's p_align and ignoring the owner, and reads the
  entry as a u32 (ELF32) or u64 (ELF64). Its search steps by the padded sizes,
  wrapping in the ELF's word, and reads on past the PT_NOTE's end until one step
  is larger than p_filesz. It refuses the ELF when it finds none or the value is
  0, when e_flags has bits 0x10004 set, and dies (SIGFPE) on a PT_NOTE with
  p_align 0. An entry padded past the last page of the file's mapping is read
  from other memory: the verdict is undefined (measured: QEMU 7.2 and 10.0 boot,
  refuse or crash on the same image depending on p_align and version).

Why:
  These are the messages users meet: `Error loading uncompressed kernel without
  PVH ELF Note`, `elfboot unsupported flags = 10000`, or a crash with exit
  status 136. A kernel that boots fine on Xen can still fail here because
  QEMU pads by p_align where Xen pads by 4 (see xen-note-align).

Fix:
  Build with CONFIG_PVH=y; keep the Xen notes in a PT_NOTE with p_align 4;
  clear the e_flags bits; or boot QEMU with the bzImage instead of the vmlinux.

Example:
  vmlinux: qemu-pvh-note: QEMU finds no type-18 note walking PT_NOTE 4 by p_align 8:
  "Error loading uncompressed kernel without PVH ELF Note"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.qemu import QemuError, qemu_path, qemu_pvh
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_note

QEMU = ("qemu",)


def check(image: Image) -> Iterator[Hit]:
    """A note QEMU takes but reads more of than it holds (it refuses nothing for that);
    its refusals are the QemuError codes below."""
    if qemu_path(image) != "pvh" or image.elf is None or image.elf.flags & 0x00010004:
        return
    found = qemu_pvh(image)
    if found.error or found.note is None or not found.entry:
        return
    if image.elf.elf_class == 64 and found.note.descsz < 8 and found.entry >> 32:
        yield at_note(
            found.note,
            f"ELF64 PHYS32_ENTRY with a {found.note.descsz}-byte "
            f"descriptor: QEMU reads 8 bytes and jumps to {found.entry:#x}",
        )


RULE = Rule(
    title="QEMU -kernel finds no usable PVH entry",
    severity="error",
    explains=(
        QemuError.ELFBOOT_FLAGS,
        QemuError.NOTE_ALIGN_ZERO,
        QemuError.NO_PVH_NOTE,
        QemuError.PVH_ENTRY_ZERO,
        QemuError.PVH_ENTRY_PAST_FILE,
        QemuError.NOTES_OUTSIDE_FILE,
    ),
)
