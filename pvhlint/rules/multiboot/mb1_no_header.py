"""No Multiboot 1 header where GRUB looks for one.

What:
  GRUB's `multiboot` command reads the first 8192 bytes of the file (after
  transparent gunzip) and steps through them 4 bytes at a time, up to 12 bytes
  before the end of what it read, for the magic 0x1BADB002 followed by flags and a
  checksum that make the three words sum to zero. This image has no such header.

Why:
  Without a header GRUB refuses the file with `error: no multiboot header found.`
  (fewer than 32 bytes: `premature end of file`). The rule always runs; its finding
  shows only when Multiboot 1 is required (--require multiboot1, or a Multiboot 1
  claim gone wrong: mb1-misaligned, mb1-bad-checksum and mb1-outside-window say
  which). QEMU -kernel scans the raw file below 8144 and, finding nothing, takes
  another path (mb1-qemu-window).

Fix:
  Put the header in a section the linker places at the start of the first loaded
  segment (e.g. `.multiboot` first in the linker script's `.text`), 4-byte aligned,
  with checksum = -(0x1BADB002 + flags) mod 2^32.

Example:
  kernel.elf: mb1-no-header: no Multiboot 1 header in the first 8 KiB (GRUB: "error: no
  multiboot header found.")
"""

from __future__ import annotations

from pvhlint.loaders.grub import SCAN_CODES
from pvhlint.multiboot import MB1
from pvhlint.rule import Rule

RULE = Rule(
    title="no Multiboot 1 header in GRUB's 8 KiB window",
    severity="error",
    explains=SCAN_CODES[MB1].no_header,
)
