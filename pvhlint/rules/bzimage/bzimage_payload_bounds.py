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

from pvhlint.loaders.xen import XenError
from pvhlint.rule import Rule

RULE = Rule(
    title="bzImage payload offset or length outside the file",
    severity="error",
    explains=(
        XenError.PAYLOAD_OFFSET_OVERFLOW,
        XenError.PAYLOAD_LENGTH_OVERFLOW,
        XenError.PAYLOAD_TOO_SHORT,
    ),
)
