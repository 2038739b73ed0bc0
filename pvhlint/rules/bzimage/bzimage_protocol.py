"""The bzImage's boot protocol version is too old for a loader, or for its own fields.

What:
  The version at 0x206 tells loaders which setup-header fields exist. GRUB's 32-bit
  `linux` path needs at least 2.03; Xen's bzImage loaders need 2.08, the version
  that introduced payload_offset and payload_length (where the compressed ELF is).
  The rule also compares the version with the header bytes: fields a newer protocol
  defines (xloadflags 2.12, kernel_info_offset 2.15, ...) that hold non-zero values
  inside the header (up to where the jump at 0x200 lands) although the version says
  they do not exist.

Why:
  GRUB refuses versions below 2.03 with `error: version too old for 32-bit boot`
  (verified with 2.02 and 2.01). libxenguest refuses versions below 2.08 with
  `xc_dom_probe_bzimage_kernel: boot protocol too old (0207)` (verified) and then
  finds no other loader; the hypervisor's dom0 builder says `Cannot load bzImage
  v2.07 at least v2.08 is required`. iPXE's .lkrn images are 2.07. Fields newer
  than the version are ignored by every loader, so a version lowered by a patch (or
  a header written by a tool that forgot to raise it) silently disables them: a
  warning, no loader refuses for that.

Fix:
  Use a kernel (or iPXE build) whose setup header is recent enough: Linux 2.6.26
  and later are 2.08+, 5.5 and later 2.15. If the version was lowered by a tool,
  restore it; pvhlint fix rewrites the CRC32 after a header change.

Example:
  ipxe.lkrn: bzimage-protocol: boot protocol 2.07 at 0x206 is older than 2.08, which Xen
  needs for the payload fields (libxenguest: "xc_dom_probe_bzimage_kernel: boot protocol
  too old (0207)")
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.bzimage import SETUP_FIELDS, effective_version
from pvhlint.loaders.common import protocol_text
from pvhlint.loaders.grub import GrubError
from pvhlint.loaders.xen import XenError
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    setup = image.setup
    if setup is None or not setup.has_hdrs:
        return
    yield from _newer_fields(image, setup.version)


def _newer_fields(image: Image, version: int) -> Iterator[Hit]:
    """Header fields newer than the version, non-zero within the header the jump skips."""
    setup = image.setup
    assert setup is not None
    usable = effective_version(version)
    used = [(offset, size, since, name) for offset, size, since, name in SETUP_FIELDS
            if since > usable and setup.raw_fields.get(name)]  # fmt: skip
    if not used:
        return
    names = ", ".join(f"{name} ({protocol_text(since)}+)" for _, _, since, name in used)
    first, last = used[0][0], used[-1][0] + used[-1][1]
    yield Hit(f"boot protocol {protocol_text(version)} does not define {names}, yet the header "
              "holds non-zero values there: loaders ignore them (was the version lowered?)",
              0, first, last - first)  # fmt: skip


RULE = Rule(
    title="bzImage boot protocol too old for the loader or for the fields it uses",
    severity="warning",
    explains=(GrubError.LINUX_VERSION_TOO_OLD, XenError.BZIMAGE_PROTOCOL_TOO_OLD),
)
