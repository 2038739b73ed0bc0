"""The program header table, or a PT_LOAD or PT_NOTE segment, runs past the end of the file.

What:
  Every program header names a range of the file, [p_offset, p_offset +
  p_filesz). For at least one PT_LOAD or PT_NOTE segment that range ends after
  the last byte of the file, or the program header table itself (e_phoff +
  e_phnum * e_phentsize) does: the file was truncated (an interrupted copy or
  download, a build step that cut it short) or the header is wrong.

Why:
  QEMU reads the table and every such PT_LOAD while loading an ELF (through its PVH and
  its Multiboot ELF path), and every PT_NOTE on the PVH path only (where it looks for the
  PVH note), and gives up with `Error while loading elf kernel`. Other
  loaders read zeros or garbage, or fail later with less clear messages.

Fix:
  Copy or download the kernel again and compare its size with the original; if
  the file is complete, the program headers were written wrongly by the tool
  that produced it.

Example:
  vmlinux: elf-segment-past-eof: PT_NOTE 1 ends at 0x1074, past the end of the file
  (0x1000 bytes): QEMU says "Error while loading elf kernel"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.qemu import qemu_loads_elf, qemu_path
from pvhlint.model import PT_LOAD, PT_NOTE, Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    elf = image.elf
    if elf is None or elf.layer != 0:
        return
    rejects = ("qemu",) if qemu_loads_elf(image) else ()
    elf = elf.packed_view()  # as QEMU reads the table: load_elf ignores e_phentsize
    table_end = elf.phoff + elf.phentsize * elf.phnum
    if elf.phnum and table_end > image.size:
        yield Hit(f"the program header table ({elf.phnum} x {elf.phentsize} bytes at "
                  f"{elf.phoff:#x}) ends past the end of the file ({image.size:#x} bytes): QEMU "
                  'says "Error while loading elf kernel"', elf.layer, 32 if elf.elf_class == 64
                  else 28, None, rejects)  # fmt: skip
    # load_elf reads a PT_NOTE only when it looks for the PVH note (elf_note_fn set).
    read = (PT_LOAD, PT_NOTE) if qemu_path(image) == "pvh" else (PT_LOAD,)
    word = 2**elf.elf_class - 1
    for seg in elf.segments:
        end = seg.offset + seg.filesz
        if seg.type in (PT_LOAD, PT_NOTE) and seg.filesz and end > image.size:
            # load_elf compares p_filesz + p_offset summed in the ELF's word (it wraps)
            wraps = (seg.offset + seg.filesz) & word <= image.size
            rejects = ("qemu",) if seg.type in read and qemu_loads_elf(image) and not wraps else ()
            said = ': QEMU says "Error while loading elf kernel"' if rejects else ""
            yield Hit(f"PT_{seg.type_name} {seg.index} ends at {end:#x}, past the end of the "
                      f"file ({image.size:#x} bytes){said}", elf.layer,
                      elf.phdr_offset(seg.index), elf.phentsize,
                      rejects)  # fmt: skip


RULE = Rule(
    id="elf-segment-past-eof",
    title="Program headers or a segment run past the end of the file",
    severity="error",
    targets=("qemu", "xen-pvh", "xen-pv", "multiboot1", "rust-vmm"),
    doc=__doc__ or "",
    check=check,
)
