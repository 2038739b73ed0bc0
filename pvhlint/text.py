"""Text from files and images made safe to print: one line, no terminal control.

File names and strings inside an image (GUEST_OS, LOADER, note owners) are the image
author's: a newline in them would forge report lines (or `::error` commands under
`--format github`), an ESC would drive the terminal, a byte that is not UTF-8 (a file name
decoded with surrogateescape) would stop an encoder. Every report and message passes what
it prints through `printable`.
"""

from __future__ import annotations

SURROGATE_BYTES = range(0xDC80, 0xDD00)  # os.fsdecode's stand-ins for undecodable bytes


def printable(text: str) -> str:
    """`text` with each character `str.isprintable` rejects (C0 and C1 controls, DEL, line
    and paragraph separators, bidi and other format characters) written as its Python
    escape, and each undecodable byte of a file name as `\\xNN`."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code in SURROGATE_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")
