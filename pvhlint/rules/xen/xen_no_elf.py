"""Xen's toolstack finds no ELF kernel in this image.

What:
  libxenguest loads ELF kernels, whole-file gzip'd ELF kernels and bzImages
  whose payload decompresses to an ELF. This image is none of these (a flat
  multiboot binary, a bzImage whose payload is not an ELF, an EFI binary).

Why:
  Every loader probe fails, and xl reports only `xc_dom_find_loader: no loader
  found` followed by `xc_dom_parse_image failed` — probes are silent, so the
  real reason never reaches the user.

Fix:
  Give Xen the ELF kernel (vmlinux, xen-syms style image) or a bzImage built by
  Linux's own build. Multiboot kernels boot under Xen only through a bootloader
  such as GRUB inside the guest.

Example:
  kernel.bin: xen-no-elf: Xen finds no ELF kernel here: xl says "xc_dom_find_loader:
  no loader found"
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import libelf_init_error, xen_elf
from pvhlint.model import FORMAT_DESCRIPTIONS, Image, ProblemCode
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS

# Problems whose own rules already say why Xen's bzImage loader stops.
EXPLAINED = {
    ProblemCode.PAYLOAD_OFFSET_OVERFLOW,
    ProblemCode.PAYLOAD_LENGTH_OVERFLOW,
    ProblemCode.PAYLOAD_TOO_SHORT,
    ProblemCode.UNKNOWN_CODEC,
}


def check(image: Image) -> Iterator[Hit]:
    elf = xen_elf(image)
    if elf is not None or (image.elf is not None and libelf_init_error(image)):
        return  # xen-elf-init says why libelf refuses it
    setup = image.setup
    codes = {problem.code for problem in image.problems}
    if setup is not None and setup.has_hdrs and (setup.version < 0x208 or codes & EXPLAINED):
        return  # bzimage-protocol, bzimage-payload-bounds, bzimage-unknown-codec
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if ProblemCode.PAYLOAD_CORRUPT in codes and payload is not None and payload.codec:
        codec = payload.codec.upper()
        yield Hit(f"the {payload.codec} payload does not decompress: Xen says "
                  f'"xc_dom_probe_bzimage_kernel unable to {codec} decompress kernel"',
                  payload.parent or 0, payload.offset, payload.size, XEN_TARGETS)  # fmt: skip
        return
    what = FORMAT_DESCRIPTIONS.get(image.format, image.format)
    if image.has_problem(ProblemCode.GZIP_NO_KERNEL):
        what = "what the gzip file unpacks to (xc_dom_try_gunzip unwraps one gzip layer)"
    yield Hit(
        f'Xen finds no ELF kernel in {what}: xl says "xc_dom_find_loader: no loader found"',
        0,
        0,
        None,
        XEN_TARGETS,
    )


RULE = Rule(
    id="xen-no-elf",
    title="No ELF kernel for Xen's toolstack",
    severity="error",
    targets=XEN_TARGETS,
    doc=__doc__ or "",
    check=check,
)
