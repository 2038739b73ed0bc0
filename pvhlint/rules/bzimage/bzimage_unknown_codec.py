"""The bzImage payload does not start with any compression format's magic.

What:
  The payload (where payload_offset points) must start with the magic of one of
  the kernel's compression formats: gzip 1F 8B, bzip2 "BZh", xz FD 37 7A 58 5A 00,
  zstd 28 B5 2F FD, lzma 5D 00, lzo 89 4C 5A 4F 00, lz4 legacy 02 21. This one
  starts with none of them.

Why:
  Xen's bzImage loaders pick the decoder by those bytes: libxenguest refuses with
  `xc_dom_probe_bzimage_kernel: unknown compression format` (verified) and the
  hypervisor's dom0 builder fails likewise. The Linux boot path does not care (the
  kernel's own decompressor knows its format), so the image may boot under GRUB
  and QEMU. Causes: payload_offset edited or read with the wrong setup_sects (see
  bzimage-setup-sects), an uncompressed payload (CONFIG_KERNEL_UNCOMPRESSED, which
  Xen cannot load), or a corrupted file.

Fix:
  Build with one of the formats Xen decodes (gzip, xz or zstd are safe on Debian's
  Xen 4.17), and keep payload_offset as the build wrote it.

Example:
  vmlinuz: bzimage-unknown-codec: payload at 0x1400 starts de ad be ef 5a 00, no known
  compression magic (libxenguest: "xc_dom_probe_bzimage_kernel: unknown compression
  format")
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="bzImage payload in an unknown compression format",
    severity="error",
    explains=(XenError.UNKNOWN_COMPRESSION,),
)
