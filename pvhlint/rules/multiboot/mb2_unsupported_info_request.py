"""A required Multiboot 2 information request asks for a tag GRUB cannot supply.

What:
  The information request tag (type 1) lists Multiboot information tag types the
  kernel wants. Without the optional flag every listed type is a requirement. GRUB
  2.06 and 2.12 supply 0-12 and 14-21; type 13 (SMBIOS tables) and anything above
  21 are refused.

Why:
  GRUB refuses with `error: unsupported information tag: 0x<type>.` (verified:
  `0xd` for SMBIOS, `0x16` for 22) although grub-file says yes. Asking for SMBIOS
  in a required request is the usual cause; a request list read from a wrong size
  (see mb2-malformed-tag) another.

Fix:
  Set the optional flag on the information request (flags = 1): GRUB then supplies
  what it can and the kernel checks what it got. Or drop the types GRUB lacks.

Example:
  kernel.elf: mb2-unsupported-info-request: required information request at 0x70 asks for
  type 13 (SMBIOS) (GRUB: "error: unsupported information tag: 0xd.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import GrubError
from pvhlint.rule import Rule

RULE = Rule(
    title="required Multiboot 2 information request GRUB cannot satisfy",
    severity="error",
    explains=(GrubError.MB2_INFO_REQUEST,),
)
