"""A PT_LOAD holds more file bytes than memory: QEMU 10.0 refuses it, QEMU 7.2 hangs.

What:
  A PT_LOAD segment's p_filesz is larger than its p_memsz, in an ELF that QEMU's
  `-kernel` hands to load_elf (the PVH path, or a Multiboot 1 header without the
  a.out kludge). The ELF specification forbids it: the file part of a segment is a
  prefix of its memory image.

Why:
  QEMU 10.0 (Debian 13) stops with `Error while loading elf kernel`. QEMU 7.2's
  load_elf (include/hw/elf_ops.h) has no such check: it registers a ROM blob of
  p_memsz bytes with p_filesz bytes of data, and QEMU never reaches its main loop
  (no message; seen with Debian 12's QEMU on a PVH kernel). Either way the guest
  does not start. A segment with p_memsz 0 gets no ROM blob at all in 7.2
  ("Some ELF files really do have segments of zero size; just ignore them"), so
  7.2 loads that one and only 10.0 refuses it. The QEMU commit that added the
  check was not identified; the versions' behaviour is checked against both releases' real QEMU by
  tests/test_verdicts_real.py.

Fix:
  Fix the linker script or the tool that wrote the program headers: p_memsz must
  be at least p_filesz (p_memsz - p_filesz is the zero-filled .bss).

Example:
  kernel: qemu-elf-filesz: PT_LOAD 0 has p_filesz 0x1a0 > p_memsz 0x10: QEMU 10.0
  says "Error while loading elf kernel"; QEMU 7.2 hangs before starting the guest
"""

from __future__ import annotations

from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="A PT_LOAD with p_filesz > p_memsz (QEMU 10.0 refuses it, 7.2 hangs)",
    severity="error",
    explains=(QemuError.FILESZ_ABOVE_MEMSZ,),
)
