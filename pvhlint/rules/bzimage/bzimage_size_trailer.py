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

from pvhlint.loaders.xen import XEN_DECOMPRESS_MAX
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule

XEN = ("xen-pvh", "xen-pv")
# Codecs whose libxenguest decoder sizes its output by the trailer (LZO adds up its blocks).
TRAILER_SIZED = ("gzip", "bzip2", "lzma", "xz", "zstd", "lz4")


def _xen_says(image: Image) -> str:
    codecs = [layer.codec for layer in image.layers if layer.kind == "payload" and layer.codec]
    if codecs and codecs[0] == "gzip":
        return 'libxenguest: "xc_dom_do_gunzip: inflate failed (rc=-3)"'
    name = codecs[0].upper() if codecs else "<CODEC>"
    return f'libxenguest: "xc_dom_probe_bzimage_kernel unable to {name} decompress kernel"'


def check(image: Image) -> Iterator[Hit]:
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    trailer = payload.size_trailer if payload is not None else None
    sized = payload is not None and payload.codec in TRAILER_SIZED
    if sized and trailer is not None and trailer > XEN_DECOMPRESS_MAX:
        # xg_dom_bzimageloader.c: every decoder sizes its buffer by the trailer and first
        # asks xc_dom_kernel_check_size (1 GiB) before reading a byte of the stream.
        yield Hit(f"the size trailer says {trailer:#x} bytes, more than libxenguest's 1 GiB "
                  f'limit ("kernel image too large"; {_xen_says(image)})', payload.parent or 0,
                  (payload.offset or 0) + (payload.size or 4) - 4, 4, rejects=XEN)  # fmt: skip
        return
    corrupt = any(problem.code == ProblemCode.PAYLOAD_CORRUPT for problem in image.problems)
    for problem in image.problems:
        if problem.code == ProblemCode.SIZE_TRAILER_MISMATCH and not corrupt:  # else a consequence
            takes = payload is not None and _xen_takes(payload.codec, payload.decoded_size,
                                                       trailer)  # fmt: skip
            said = (f"libxenguest takes the first {trailer:#x} bytes as the kernel"
                    if takes else _xen_says(image))  # fmt: skip
            yield Hit(f"{problem.message}: the build's trailer no longer fits the payload "
                      f"({said})", problem.layer, problem.offset, 4,
                      rejects=() if takes else XEN)  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_CORRUPT:
            layer = image.layers[problem.layer]
            inside = layer.kind == "payload"
            # one decode call into a trailer-sized buffer stops before damage past it
            before = (inside and layer.codec in ONE_CALL and layer.size_trailer is not None
                      and layer.size_trailer <= (layer.decoded_prefix or 0))  # fmt: skip
            said = (f"libxenguest stops after the trailer's {layer.size_trailer:#x} bytes, "
                    "before the damage" if before else _xen_says(image))  # fmt: skip
            yield Hit(f"the payload does not decompress ({problem.message}) ({said})",
                      layer.parent or 0 if inside else problem.layer,
                      layer.offset if inside else problem.offset,
                      layer.size if inside else None,
                      rejects=() if before else XEN)  # fmt: skip


ONE_CALL = ("xz", "lzma", "bzip2")  # _xc_try_lzma_decode, xc_try_bzip2_decode


def _xen_takes(codec: str | None, decoded: int | None, trailer: int | None) -> bool:
    """Whether libxenguest's decoder accepts a payload whose trailer is not its size."""
    if decoded is None or trailer is None:
        return False
    if codec in ONE_CALL:  # one decode call into a trailer-sized buffer
        return trailer < decoded
    return codec == "lz4" and trailer > decoded  # the blocks fit; the size is not compared


RULE = Rule(
    id="bzimage-size-trailer",
    title="bzImage payload size trailer wrong, or payload corrupt",
    severity="error",
    targets=("xen-pvh", "xen-pv", "linux"),
    doc=__doc__ or "",
    check=check,
)
