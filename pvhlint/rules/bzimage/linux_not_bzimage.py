"""The image is not a Linux bzImage: no setup header for the Linux boot protocol.

What:
  Boot loaders using the Linux boot protocol (GRUB's `linux`, syslinux, systemd-boot
  via the EFI stub's header, kexec) need 0xAA55 at offset 0x1FE and "HdrS" at 0x202
  with the protocol version after it. This file has neither (an ELF vmlinux, a
  Multiboot kernel, a gzip file), or has the boot-sector signature 0xAA55 but no
  "HdrS" (an old zImage or a boot sector).

Why:
  GRUB's `linux` refuses a file without 0xAA55 with `error: invalid magic number.`
  and one without "HdrS" with `error: version too old for 32-bit boot` (verified
  with GRUB 2.06: an ELF vmlinux gets the first, a bzImage with "HdrS" zeroed the
  second). The usual mix-up: booting `vmlinux` (the ELF from the build tree)
  instead of `arch/x86/boot/bzImage`. QEMU and Xen have their own paths for ELF
  files; this rule is about the Linux boot protocol target only.

Fix:
  Boot the bzImage (`arch/x86/boot/bzImage`, installed as /boot/vmlinuz-*); or, for
  an ELF kernel, use a loader that takes ELF: QEMU -kernel with a PVH note, Xen,
  GRUB's `multiboot`/`multiboot2`.

Example:
  vmlinux: linux-not-bzimage: no Linux setup header: the u16 at 0x1fe is not 0xAA55
  (GRUB linux: "error: invalid magic number.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="not a bzImage: no Linux boot protocol header",
    severity="error",
    explains=(
        GrubError.LINUX_NOT_BZIMAGE,
        GrubError.LINUX_NO_HDRS_SETUP_SECTS,
        GrubError.LINUX_NO_HDRS,
    ),
)
