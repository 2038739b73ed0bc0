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

from collections.abc import Iterator

from pvhlint.codecs import UNCOMPRESSED
from pvhlint.loaders.xen import XEN_DEBIAN12_CODECS
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS


def check(image: Image) -> Iterator[Hit]:
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if payload is None or payload.codec in (None, UNCOMPRESSED, *XEN_DEBIAN12_CODECS):
        return  # an uncompressed ELF payload is parsed by Xen's ELF loader
    upper = payload.codec.upper()
    function = {"bzip2": "xc_try_bzip2_decode", "lzo": "xc_try_lzo1x_decode"}[payload.codec]
    yield Hit(
        f"{payload.codec} payload: Debian 12's Xen says \"{function}: {upper} decompress "
        f'support unavailable"',
        payload.parent or 0,
        payload.offset,
        payload.size,
        XEN_TARGETS,
    )


RULE = Rule(
    id="xen-codec-unsupported",
    title="Payload codec unsupported by Debian 12's Xen toolstack",
    severity="error",
    targets=XEN_TARGETS,
    doc=__doc__ or "",
    check=check,
)
