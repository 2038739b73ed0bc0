"""The bzImage payload does not decompress as its size trailer says, or not at all.

What:
  The build appends the decompressed size (u32 LE) as the payload's last 4 bytes
  (gzip's own ISIZE field plays that role). Here the payload decompresses to a
  different size than the trailer states ("size-trailer-mismatch"), or its stream
  is corrupt ("payload-corrupt").

Why:
  libxenguest sizes its output buffer from the trailer (xg_dom_bzimageloader.c,
  xg_dom_decompress_lz4.c, xg_dom_core.c). What a mismatch does depends on the
  decoder: gzip (inflate with Z_FINISH and zlib's length check), zstd
  (ZSTD_decompress must return exactly the trailer) and LZO (blocks must add up to
  it) refuse either side. xz, lzma and bzip2 decode in one call into a buffer of
  the trailer's size: a larger trailer is refused ("got 0x... bytes instead of
  0x..."), a smaller one is taken as a kernel cut to that size, which libelf then
  parses (xen-elf-init names the cut when it hits a header table; verified: `no
  loader found`). LZ4 refuses a smaller trailer and takes a larger one (the
  buffer's tail is left as it was). A corrupt stream gives
  `xc_dom_probe_bzimage_kernel unable to <CODEC> decompress kernel`. A trailer
  above 1 GiB is refused before any decoding ("kernel image too large"). The
  kernel's own decompressor was built with the trailer's value (mkpiggy's
  z_output_len, used for init_size and the in-place layout), so under GRUB or QEMU
  it overruns or fails at boot ("Decompression error"). Both mean the payload was
  replaced or damaged after the build.

Fix:
  Rebuild, or fetch the image again; a payload cannot be swapped without rebuilding
  the setup code that was sized for it.

Example:
  vmlinuz: bzimage-size-trailer: decompressed size 1008 differs from the size trailer 5104
  (libxenguest: "xc_dom_probe_bzimage_kernel unable to XZ decompress kernel")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders import loader_errors
from pvhlint.loaders.xen import XenError, payload_decode
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """Faults libxenguest's decoder takes all the same, and faults it never meets because it
    stops earlier (a codec it lacks): the payload is still damaged, or a bomb pvhlint stopped
    reading. Its refusals are pvhlint.loaders.xen's."""
    refused = {(e.detail, e.layer, e.offset) for e in loader_errors(image)}
    for decode in payload_decode(image):
        if decode.code is None or (decode.detail, decode.layer, decode.offset) not in refused:
            yield Hit(decode.detail, decode.layer, decode.offset, decode.length)


RULE = Rule(
    title="bzImage payload size trailer wrong, or payload corrupt",
    severity="error",
    targets=("xen-pvh", "xen-pv", "linux"),
    explains=(
        XenError.KERNEL_TOO_LARGE,
        XenError.SIZE_TRAILER_MISMATCH,
        XenError.PAYLOAD_CORRUPT,
    ),
)
