"""The bzImage's payload_offset/payload_length point outside the file.

What:
  Since protocol 2.08 the setup header says where the compressed kernel is:
  payload_offset (0x248, from the start of the protected-mode code at
  (setup_sects + 1) * 512) and payload_length (0x24C, including the 4-byte size
  trailer). Here the payload starts at or past the end of the file, runs past it,
  or is too short (under 8 bytes) to hold a compressed stream and its trailer.

Why:
  Xen's bzImage loaders jump straight to the payload: libxenguest refuses with
  `xc_dom_probe_bzimage_kernel: payload offset overflow` or `payload length
  overflow` (verified), and a too-short payload fails to decode (`unknown
  compression format`, or `unable to XZ decompress kernel`). GRUB and QEMU never
  read these fields, so the image still boots there: a truncated download or a
  header edited by hand is the usual cause.

Fix:
  Download the image again, or restore the build's values (payload_offset and
  payload_length are computed by arch/x86/boot/compressed/mkpiggy.c), then
  recompute the CRC32 trailer (`pvhlint fix`).

Example:
  vmlinuz: bzimage-payload-bounds: payload [0x1400, 0x6a00) runs past the end of the file
  (0x2e00) (libxenguest: "xc_dom_probe_bzimage_kernel: payload length overflow")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.bzimage import FIELD_OFFSETS
from pvhlint.loaders.common import layer_size
from pvhlint.model import Image, ProblemCode
from pvhlint.rule import Hit, Rule

XEN = ("xen-pvh", "xen-pv")


def check(image: Image) -> Iterator[Hit]:
    setup = image.setup
    if setup is None:
        return
    start = setup.pm_offset + setup.fields.get("payload_offset", 0)
    length = setup.fields.get("payload_length", 0)
    layer, end = setup.layer, layer_size(image, setup.layer)
    for problem in image.problems:
        if problem.code == ProblemCode.PAYLOAD_OFFSET_OVERFLOW:
            at, size = FIELD_OFFSETS["payload_offset"]
            yield Hit(f"payload_offset puts the payload at {start:#x}, at or past the end of the "
                      f"file ({end:#x}) (libxenguest: \"xc_dom_probe_bzimage_kernel: "
                      'payload offset overflow")', layer, at, size, rejects=XEN)  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_LENGTH_OVERFLOW:
            at, size = FIELD_OFFSETS["payload_length"]
            yield Hit(f"payload [{start:#x}, {start + length:#x}) runs past the end of the file "
                      f"({end:#x}) (libxenguest: \"xc_dom_probe_bzimage_kernel: payload "
                      'length overflow")', layer, at, size, rejects=XEN)  # fmt: skip
        elif problem.code == ProblemCode.PAYLOAD_TOO_SHORT:
            at, size = FIELD_OFFSETS["payload_length"]
            yield Hit(f"payload_length {length} cannot hold a compressed kernel and its 4-byte "
                      "size trailer (libxenguest: \"xc_dom_probe_bzimage_kernel: unknown "
                      'compression format", or the decoder fails)', layer, at, size,
                      rejects=XEN)  # fmt: skip


RULE = Rule(
    id="bzimage-payload-bounds",
    title="bzImage payload offset or length outside the file",
    severity="error",
    targets=XEN,
    doc=__doc__ or "",
    check=check,
)
