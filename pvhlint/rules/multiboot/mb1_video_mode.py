"""The Multiboot 1 header asks for a video mode (flag bit 2).

What:
  With flag bit 2 the header carries mode_type (0 linear framebuffer, 1 EGA text),
  width, height and depth at offsets 32-44, and the loader is asked to set that
  mode and describe it in the Multiboot information.

Why:
  QEMU -kernel does not set video modes: it prints the warning `multiboot knows VBE.
  we don't` and boots without framebuffer information, so a kernel that relies on
  it finds no framebuffer under QEMU. GRUB sets the mode, but refuses any mode_type
  other than 0 or 1 with `error: unsupported graphical mode type <n>.`. Also, with
  bit 2 the header is 48 bytes long whatever bit 16 says, so the address fields
  occupy their slots even when unused.

Fix:
  Under QEMU, do not rely on the framebuffer (fall back to VGA text at 0xB8000), or
  boot QEMU through a real GRUB. Keep mode_type 0 or 1.

Example:
  kernel.elf: mb1-video-mode: Multiboot 1 flag bit 2 (video mode) set: QEMU only warns
  "multiboot knows VBE. we don't" and passes no framebuffer
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.qemu import qemu_mb1, qemu_path
from pvhlint.model import Image
from pvhlint.multiboot import Mb1Flag
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    """QEMU's warning, which refuses nothing (GRUB's refusal: GrubError.MB1_VIDEO_MODE_TYPE)."""
    qemu = qemu_mb1(image) if qemu_path(image) == "multiboot" else None
    if qemu is not None and qemu.flags & Mb1Flag.VIDEO_MODE:
        yield Hit(
            'Multiboot 1 flag bit 2 (video mode) set: QEMU only warns "multiboot knows '
            "VBE. we don't\" and passes no framebuffer",
            qemu.layer,
            qemu.offset + 4,
            4,
        )


RULE = Rule(
    title="Multiboot 1 video mode request (QEMU ignores it, GRUB checks mode_type)",
    severity="info",
    targets=("multiboot1", "qemu"),
    explains=(GrubError.MB1_VIDEO_MODE_TYPE,),
)
