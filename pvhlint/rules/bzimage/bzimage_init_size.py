"""The setup header's init_size is smaller than the protected-mode code in the file.

What:
  Since boot protocol 2.10, init_size (0x260) is the memory the kernel needs from
  its load address until its own decompressor is done: always more than the
  protected-mode part of the bzImage (the file after its (setup_sects + 1) * 512
  setup bytes). Here it is smaller.

Why:
  GRUB's `linux` command (grub-core/loader/i386/linux.c, grub_cmd_linux) reserves
  page_align(init_size) bytes for the kernel and then reads the whole
  protected-mode part of the file into them: it writes past what it reserved and
  crashes (verified with GRUB 2.06 on a Debian kernel with init_size 1). The
  kernel's own decompressor would run out of room as well. A build never writes
  such a value: the header was patched or damaged.

Fix:
  Restore the build's header (rebuild, or fetch the image again).

Example:
  vmlinuz: bzimage-init-size: init_size 0x1 (0x1000 bytes reserved) is smaller than
  the 0x7b2f00 bytes of protected-mode code GRUB reads into it (GRUB crashes)
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="init_size smaller than the kernel's protected-mode code",
    severity="error",
    explains=(GrubError.LINUX_INIT_SIZE,),
)
