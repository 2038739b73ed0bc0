"""The bzImage CRC32 trailer does not match the image.

What:
  Linux's build appends a CRC-32 (reflected, initial value 0xFFFFFFFF, no final
  XOR) over bytes [0, N-4) of a bzImage, where N = (setup_sects+1)*512 +
  syssize*16, and stores it little-endian at N-4. This image's stored value
  does not match, or syssize points past the end of the file.

Why:
  Boot loaders do not check it, but tools that verify or patch kernels do, and
  a mismatch means the image was changed after the build: truncated, patched
  in place without updating the trailer, or not produced by Linux's build at
  all (so this is a warning, not an error). A Secure Boot signature is not a
  change here: signing rewrites the PE CheckSum and Security directory after
  the build computed the CRC (Debian's signed kernels differ from the unsigned
  ones in exactly those bytes), so the CRC is checked with those two fields
  zeroed when the image is signed. Only kernels whose build writes a CRC are
  checked: Linux before 6.15, told by the Linux version string the setup
  header points at (kernel_version, "6.1.0-56-amd64 (debian-
  kernel@lists.debian.org) #1 SMP ..."). Linux 6.15 dropped the CRC and the
  tool that wrote it (commit 9c54baab4401), so those 4 bytes are padding
  (zeros on Debian's 7.x kernels); iPXE's .lkrn and memtest86+ name themselves
  in that string ("2.0.0+dfsg-5", "Memtest86+ v7.20") and their builds write
  none. An image with no version string at all is checked, as a Linux build
  would be.

Fix:
  Rebuild the image, or recompute the trailer: `pvhlint fix` does so whenever it
  patches a bzImage that carries one (and adds none to a kernel that has none).
  For a truncated download, fetch the image again.

Example:
  vmlinuz: bzimage-crc: CRC32 0x1234abcd at 0x7dd1fc does not match the image
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.model import CrcTrailer, Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    setup = image.setup
    if setup is None or not setup.has_hdrs:
        return
    trailer = setup.crc_trailer
    if trailer is CrcTrailer.PAST_EOF:
        yield Hit(f"no CRC32 trailer: syssize puts its end at {setup.crc_end:#x}, "
                  f"past the file ({image.size} bytes)", setup.layer, 0x1F4, 4)  # fmt: skip
    elif trailer is CrcTrailer.MISMATCH:
        assert setup.crc_end is not None
        yield Hit(f"CRC32 {setup.crc_stored:#010x} at {setup.crc_end - 4:#x} does not match "
                  "the image", setup.layer, setup.crc_end - 4, 4)  # fmt: skip


RULE = Rule(
    title="bzImage CRC32 trailer mismatch",
    severity="warning",
    targets=("linux",),
)
