"""libxenguest's multiboot-binary loader (tools/libs/guest/xg_dom_binloader.c): the table it
looks for, and its parse, check by check in its order with its own messages.

xl tries this loader first (then HVM-generic, Linux bzImage, ELF-generic: the order
xc_dom_find_loader prints), so an image whose first 8 KiB hold a valid table is the binary
loader's, whatever else it is.
"""

from __future__ import annotations

import struct

from .blob import Blob
from .model import XenBinTable

BIN_MAGIC = 0x336EC578  # "xEn3" with the 0x80 bit of the "E" set
BIN_WINDOW = 8192
TABLE_SIZE = 32
FLAG_ALIGN4K = 0x1
FLAG_ADDRSVALID = 0x10000
PAE_SHIFT = 14
PAE_MASK = 3 << PAE_SHIFT
FLAGS_MASK = 0xFFFFFFFF & ~FLAG_ALIGN4K & ~PAE_MASK  # the flags the parser tests
FLAGS_REQUIRED = FLAG_ADDRSVALID
# PAE bits -> guest type; 3 ("detects PAE at runtime") is x86_32p only where Xen offers it.
GUEST_TYPES = {0: "xen-3.0-x86_32", 1: "xen-3.0-x86_32p", 2: "xen-3.0-x86_64", 3: "xen-3.0-x86_32"}
MASK32 = 0xFFFFFFFF


def find_bin_table(blob: Blob, layer: int, zeros: int = 0) -> XenBinTable | None:
    """find_table: 4-byte steps from the start, below 8192, or below size - 32 in a file of
    at most 8192 + 32 bytes; the first magic whose magic + flags + checksum is 0 (mod 2^32).
    `zeros`: bytes libxenguest's buffer holds past the data (a gunzipped kernel's 16)."""
    size = blob.ensure(BIN_WINDOW + TABLE_SIZE + 1) + zeros
    if size < TABLE_SIZE:
        return None
    end = BIN_WINDOW if size > BIN_WINDOW + TABLE_SIZE else size - TABLE_SIZE
    head = blob.read(0, end + TABLE_SIZE)
    head += bytes(max(0, end + TABLE_SIZE - len(head)))
    needle = struct.pack("<I", BIN_MAGIC)
    pos = head.find(needle)
    while 0 <= pos < end:
        if pos % 4 == 0:
            magic, flags, checksum, *addrs = struct.unpack_from("<8I", head, pos)
            if (magic + flags + checksum) & MASK32 == 0:
                return XenBinTable(layer, pos, flags, checksum, *addrs)
        pos = head.find(needle, pos + 1)
    return None
