"""The bzImage is shorter than its own setup sectors.

What:
  The file must hold at least the boot sector and the setup sectors, (setup_sects
  + 1) * 512 bytes (setup_sects 0 counts as 4), before the protected-mode kernel.
  This file ends before that. QEMU applies the same check to any file it falls back
  to loading as an ancient zImage (not a bzImage, no Multiboot 1 header it finds,
  not an ELF: a .gz file, a flat binary), reading "setup_sects" from whatever byte
  sits at 0x1F1, so a small file of that kind is refused too.

Why:
  QEMU -kernel exits with `qemu: invalid kernel header` (verified with QEMU 7.2),
  and GRUB's `linux`, reading the setup sectors, with `error: premature end of
  file <path>.` (verified). A truncated download or copy, or a setup_sects value
  that grew (bzimage-setup-sects) are the usual causes. For the zImage fallback
  (verified with a 700-byte gzip file) the cause is giving QEMU a file it should not
  load as Linux at all, e.g. a gzip-compressed Multiboot kernel (see mb1-qemu-window).

Fix:
  Fetch or copy the image again and compare its size with the package's; check
  that setup_sects is what the build wrote.

Example:
  vmlinuz: bzimage-truncated: the file ends at 0xf9c, before the protected-mode code at
  0x1000 ((7 + 1) * 512) (QEMU: "qemu: invalid kernel header"; GRUB linux: "error:
  premature end of file <path>.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.qemu import QemuError
from pvhlint.rule import Rule

RULE = Rule(
    title="file shorter than the setup sectors its header claims (QEMU, GRUB linux)",
    severity="error",
    explains=(
        QemuError.INVALID_KERNEL_HEADER,
        GrubError.LINUX_PREMATURE_END,
        GrubError.LINUX_FILTER_SEEK,
    ),
)
