"""The bzImage is shorter than its own setup sectors.

What:
  The file must hold at least the boot sector and the setup sectors, (setup_sects
  + 1) * 512 bytes (setup_sects 0 counts as 4), before the protected-mode kernel.
  This file ends before that. QEMU applies the same check to any file it falls back
  to loading as an ancient zImage (not a bzImage, no Multiboot 1 header it finds,
  not an ELF: a .gz file, a flat binary), reading "setup_sects" from whatever byte
  sits at 0x1F1, so a small file of that kind is refused too.

Why:
  QEMU -kernel exits with `qemu: invalid kernel header` (verified with QEMU 7.2),
  and GRUB's `linux`, reading the setup sectors, with `error: premature end of
  file <path>.` (verified). A truncated download or copy, or a setup_sects value
  that grew (bzimage-setup-sects) are the usual causes. For the zImage fallback
  (verified with a 700-byte gzip file) the cause is giving QEMU a file it should not
  load as Linux at all, e.g. a gzip-compressed Multiboot kernel (see mb1-qemu-window).

Fix:
  Fetch or copy the image again and compare its size with the package's; check
  that setup_sects is what the build wrote.

Example:
  vmlinuz: bzimage-truncated: the file ends at 0xf9c, before the protected-mode code at
  0x1000 ((7 + 1) * 512) (QEMU: "qemu: invalid kernel header"; GRUB linux: "error:
  premature end of file <path>.")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.common import boot_layer, layer_size
from pvhlint.loaders.grub import grub_layer
from pvhlint.loaders.qemu import qemu_path
from pvhlint.model import Image, SetupHeader
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    setup = image.setup
    if setup is None or setup.layer != boot_layer(image):  # none, or only inside gzip/xz
        yield from _zimage_fallback(image)
        if setup is not None and setup.layer == grub_layer(image):
            yield from _through_grub_filter(image, setup)
        return
    size = layer_size(image, setup.layer)
    if size >= setup.pm_offset:
        return
    sects = setup.setup_sects or 4
    rejects = ["linux"]
    said = []
    if qemu_path(image) in ("linux", "zimage"):
        rejects.insert(0, "qemu")
        said.append('QEMU: "qemu: invalid kernel header"')
    said.append('GRUB linux: "error: premature end of file <path>."')
    yield Hit(f"the file ends at {size:#x}, before the protected-mode code at "
              f"{setup.pm_offset:#x} (({sects} + 1) * 512) ({'; '.join(said)})", setup.layer,
              0x1F1, 1, rejects=tuple(rejects))  # fmt: skip


def _through_grub_filter(image: Image, setup: SetupHeader) -> Iterator[Hit]:
    """GRUB's linux command reads a whole-file gzip or xz through its filter: the bzImage
    inside is cut short the same way (seen through gzio: "attempt to seek outside of the
    file", the seek to the protected-mode code failing)."""
    size = layer_size(image, setup.layer)
    if size < setup.pm_offset:
        yield Hit(f"the bzImage inside the {image.format} file ends at {size:#x}, before its "
                  f"protected-mode code at {setup.pm_offset:#x} (GRUB linux: \"error: attempt "
                  'to seek outside of the file.")', setup.layer, 0x1F1, 1,
                  rejects=("linux",))  # fmt: skip


def _zimage_fallback(image: Image) -> Iterator[Hit]:
    """QEMU loads a file that is neither bzImage, Multiboot nor ELF as an old zImage, with the
    same size check on whatever byte 0x1F1 holds."""
    if qemu_path(image) != "zimage":
        return
    sects = image.setup_sects_byte or 4
    need = (sects + 1) * 512
    if image.size < need:
        yield Hit(f"QEMU loads this {image.format} file as an old zImage, and at "
                  f"{image.size:#x} bytes it is shorter than the ({sects} + 1) * 512 = {need:#x} "
                  "its byte 0x1f1 calls for (QEMU: \"qemu: invalid kernel header\")", 0, 0x1F1,
                  1, rejects=("qemu",))  # fmt: skip


RULE = Rule(
    id="bzimage-truncated",
    title="file shorter than the setup sectors its header claims (QEMU, GRUB linux)",
    severity="error",
    targets=("qemu", "linux"),
    doc=__doc__ or "",
    check=check,
)
