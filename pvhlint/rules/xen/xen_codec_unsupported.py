"""The bzImage payload codec is one Debian 12's Xen toolstack cannot decompress.

What:
  libxenguest decompresses a bzImage payload with the libraries it was built
  with. Debian 12's libxenguest 4.17 links zlib, liblzma and libzstd (plus a
  bundled LZ4 decoder), so gzip, xz, lzma, zstd and lz4 work and bzip2 and LZO
  do not.

Why:
  The probe fails with `xc_try_bzip2_decode: BZIP2 decompress support
  unavailable` (or the LZO equivalent) and then `xc_dom_probe_bzimage_kernel
  unable to BZIP2 decompress kernel`; xl ends with `no loader found`.

Fix:
  Build the kernel with CONFIG_KERNEL_XZ, CONFIG_KERNEL_GZIP or
  CONFIG_KERNEL_ZSTD, or hand Xen the ELF vmlinux (`pvhlint extract`).

Example:
  vmlinuz: xen-codec-unsupported: bzip2 payload: Debian 12's Xen says "xc_try_bzip2_decode:
  BZIP2 decompress support unavailable"
"""

from __future__ import annotations

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="Payload codec unsupported by Debian 12's Xen toolstack",
    severity="error",
    explains=(XenError.DECOMPRESS_UNAVAILABLE,),
)
