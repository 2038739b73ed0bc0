"""The file ends inside the bzImage's compressed kernel: the boot stops in the decompressor.

What:
  The setup header says how long the protected-mode code is (syssize, in 16-byte
  units, from (setup_sects + 1) * 512) and, since protocol 2.08, where the compressed
  payload lies in it (payload_offset, payload_length). Both end past the end of this
  file: it was cut short (an interrupted download or copy, `head -c`), and the
  compressed kernel is incomplete.

Why:
  GRUB's `linux` and QEMU `-kernel` load whatever the file holds after the setup
  sectors without comparing it with syssize, so they accept the image (their verdicts
  stay accept). The kernel's own decompressor (arch/x86/boot/compressed/misc.c) then
  reads the payload past what was loaded and the boot never reaches the kernel: Debian
  12's amd64 kernel cut to 3,000,000 bytes resets the guest under QEMU 7.2 `-kernel`
  before "Linux version" is printed (verified; the full kernel prints it). Xen's
  bzImage loader refuses the image itself (bzimage-payload-bounds).

Fix:
  Fetch or copy the image again and compare its size with the package's (it should
  end at (setup_sects + 1) * 512 + syssize * 16, its CRC32 trailer).

Example:
  vmlinuz: bzimage-payload-cut: the file ends at 0x2dc6c0, inside the compressed kernel
  [0x4427, 0x7dd1ef) and before the end syssize gives (0x7dd200): the kernel's
  decompressor cannot get past the cut, although the loader loads the file
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.bzimage import FIELD_OFFSETS
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    setup = image.setup
    if setup is None or not setup.has_hdrs or image.size < setup.pm_offset:
        return  # not a bzImage, or cut before its kernel (bzimage-truncated)
    syssize = setup.fields.get("syssize", 0)
    end = setup.pm_offset + syssize * 16
    if not syssize or end <= image.size:
        return
    span = ""
    if "payload_length" in setup.fields:
        start = setup.pm_offset + setup.fields.get("payload_offset", 0)
        stop = start + setup.fields["payload_length"]
        if stop <= image.size:
            return  # the compressed kernel is whole; only what follows it is missing
        span = f" [{start:#x}, {stop:#x})"
    at, size = FIELD_OFFSETS["syssize"]
    yield Hit(f"the file ends at {image.size:#x}, inside the compressed kernel{span} and before "
              f"the end syssize gives ({end:#x}): the kernel's decompressor cannot get past the "
              "cut, although the loader loads the file", setup.layer, at, size)  # fmt: skip


RULE = Rule(
    title="bzImage cut short inside its compressed kernel",
    severity="error",
    targets=("linux", "qemu"),
)
