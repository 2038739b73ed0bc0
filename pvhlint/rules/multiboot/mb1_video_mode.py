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

from pvhlint.loaders.grub import grub_mb1
from pvhlint.loaders.qemu import qemu_mb1, qemu_path
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule

VIDEO = 0x4


def check(image: Image) -> Iterator[Hit]:
    grub = grub_mb1(image)
    qemu = qemu_mb1(image) if qemu_path(image) == "multiboot" else None
    if qemu is not None and qemu.flags & VIDEO:
        yield Hit(
            'Multiboot 1 flag bit 2 (video mode) set: QEMU only warns "multiboot knows '
            "VBE. we don't\" and passes no framebuffer",
            qemu.layer,
            qemu.offset + 4,
            4,
        )
    if grub is None or not grub.flags & VIDEO:
        return
    mode = grub.fields.get("mode_type")
    if mode is not None and mode not in (0, 1):
        yield Hit(f"Multiboot 1 mode_type {mode} at {grub.offset + 32:#x} is neither 0 "
                  f'(framebuffer) nor 1 (EGA text) (GRUB: "error: unsupported graphical mode '
                  f'type {mode}.")', grub.layer, grub.offset + 32, 4,
                  rejects=("multiboot1",))  # fmt: skip


RULE = Rule(
    id="mb1-video-mode",
    title="Multiboot 1 video mode request (QEMU ignores it, GRUB checks mode_type)",
    severity="info",
    targets=("multiboot1", "qemu"),
    doc=__doc__ or "",
    check=check,
)
