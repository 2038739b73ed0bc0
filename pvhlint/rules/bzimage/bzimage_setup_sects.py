"""The bzImage's setup_sects is out of range (over 64) or 0.

What:
  setup_sects at 0x1F1 is the number of 512-byte setup sectors after the boot
  sector; the protected-mode kernel starts at (setup_sects + 1) * 512. Linux reads
  0 as 4 (boot.rst), and GRUB accepts at most 64.

Why:
  Over 64: GRUB's `linux` refuses with `error: too many setup sectors.` (verified)
  and grub-file says it is not a Linux kernel. 0: GRUB and QEMU apply the "0 means
  4" rule, but Xen's loaders (libxenguest and the hypervisor's dom0 builder) do
  not: they look for the payload at 512 + payload_offset instead of 2560 +
  payload_offset, 2048 bytes too early, inside the setup code, and fail (verified
  with libxenguest 4.17: `xc_dom_probe_bzimage_kernel: unknown compression
  format`). Real kernels have not used 0 since the 1990s; a zeroed or patched
  header byte is the likely cause.

Fix:
  Restore the value the build wrote (arch/x86/boot/tools/build.c: the setup size
  in sectors, at least 4), then recompute the CRC32 trailer (`pvhlint fix`).

Example:
  vmlinuz: bzimage-setup-sects: setup_sects 0 at 0x1f1: Linux, GRUB and QEMU read 4, Xen
  reads 0 and looks for the payload 2048 bytes too early (libxenguest:
  "xc_dom_probe_bzimage_kernel: unknown compression format")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="bzImage setup_sects over 64, or 0 (read differently by Xen)",
    severity="warning",
    explains=(GrubError.LINUX_TOO_MANY_SETUP_SECTS, XenError.BZIMAGE_SETUP_SECTS_ZERO),
)
