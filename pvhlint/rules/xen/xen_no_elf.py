"""Xen's toolstack finds no ELF kernel in this image.

What:
  libxenguest loads ELF kernels, whole-file gzip'd ELF kernels and bzImages
  whose payload decompresses to an ELF. This image is none of these (a flat
  multiboot binary, a bzImage whose payload is not an ELF, an EFI binary).

Why:
  Every loader probe fails, and xl reports only `xc_dom_find_loader: no loader
  found` followed by `xc_dom_parse_image failed` — probes are silent, so the
  real reason never reaches the user.

Fix:
  Give Xen the ELF kernel (vmlinux, xen-syms style image) or a bzImage built by
  Linux's own build. Multiboot kernels boot under Xen only through a bootloader
  such as GRUB inside the guest.

Example:
  kernel.bin: xen-no-elf: Xen finds no ELF kernel here: xl says "xc_dom_find_loader:
  no loader found"
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="No ELF kernel for Xen's toolstack",
    severity="error",
    explains=(XenError.NO_LOADER, XenError.PAYLOAD_UNDECODABLE),
)
