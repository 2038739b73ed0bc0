"""No Multiboot 2 header GRUB's `multiboot2` command accepts.

What:
  GRUB's `multiboot2` reads the first 32768 bytes of the file (after transparent
  gunzip) and steps through them 8 bytes at a time for the magic 0xE85250D6 with
  architecture 0 (i386) and a checksum that makes magic + architecture +
  header_length + checksum zero. This image has no such header.

Why:
  GRUB then refuses with `error: no multiboot header found.`. The rule always runs;
  its finding shows only when Multiboot 2 is required, and mb2-misaligned,
  mb2-bad-checksum and mb2-architecture explain a header that is there but not
  accepted. QEMU has no Multiboot 2 support at all.

Fix:
  Add a Multiboot 2 header, 8-byte aligned, wholly inside the first 32 KiB, with
  architecture 0, header_length covering all tags up to and including the end tag,
  and checksum = -(0xE85250D6 + 0 + header_length) mod 2^32.

Example:
  vmlinux: mb2-no-header: no Multiboot 2 header in the first 32 KiB (GRUB: "error: no
  multiboot header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import SCAN_CODES
from pvhlint.multiboot import MB2
from pvhlint.rule import Rule

RULE = Rule(
    title="no Multiboot 2 header in GRUB's 32 KiB window",
    severity="error",
    explains=SCAN_CODES[MB2].no_header,
)
