"""libxenguest's multiboot-binary loader takes the image, and refuses it or makes it a PV guest.

What:
  The first 8 KiB of the image (after gunzip) hold a xen_bin_image_table: the
  magic 0x336ec578 at a 4-byte step with magic + flags + checksum = 0. xl's
  domain builder tries its loaders in order (multiboot-binary, HVM-generic,
  Linux bzImage, ELF-generic), and the binary loader's probe only looks for
  this table, so the image is now that loader's, ELF or bzImage or not. Its
  parser then checks, in order: flags (bit 16 set, no bit other than 0, 14 and
  15); header_addr against load_addr and the table's offset; load_end_addr
  against the image's end; bss_end_addr against load_end_addr. The PAE bits
  (14-15) pick the guest type: 0 and 3 x86_32, 1 x86_32p, 2 x86_64.

Why:
  A failed check is Xen's "xc_dom_parse_bin_kernel: Invalid header_addr." (and
  the like): the domain is not built. A 32-bit guest type is refused by a
  hypervisor without 32-bit PV (Debian builds Xen without CONFIG_PV32):
  "xc_dom_compat_check: guest type xen-3.0-x86_32 not supported by xen kernel,
  sorry". A good table makes a PV guest (xen-3.0-x86_64), never a PVH one, and
  any ELF notes in the image are never read.

Fix:
  Fix the table's fields as the message says, set PAE bits 2 for a 64-bit
  guest; or, for an ELF or bzImage kernel that carries such bytes by accident,
  move them past the first 8 KiB or break their checksum.

Example:
  kernel.bin: xen-binary-loader: file+0x100: libxenguest's multiboot-binary loader refuses
  its table: "xc_dom_parse_bin_kernel: Invalid bss_end_addr."
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError, XenLoader
from pvhlint.rule import Rule

RULE = Rule(
    title="libxenguest's multiboot-binary loader takes the image",
    severity="error",
    xen_loader=XenLoader.MULTIBOOT_BINARY,
    explains=(
        XenError.BINARY_FLAGS,
        XenError.BINARY_HEADER_ADDR,
        XenError.BINARY_LOAD_END_ADDR,
        XenError.BINARY_BSS_END_ADDR,
        XenError.BINARY_GUEST_TYPE,
        XenError.BINARY_PV_ONLY,
    ),
)
