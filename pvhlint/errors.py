"""The one exception type users see: bad input, reported as a single line."""

from __future__ import annotations


class ImageError(Exception):
    """An image that cannot be read at all; the CLI prints it and exits 2."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    @property
    def not_a_kernel(self) -> bool:
        """True for files that are simply something else (skipped when walking a directory),
        False for kernels that are broken (always reported)."""
        return self.message.startswith(("unknown format", "empty file", "is not a regular"))


class FormatError(Exception):
    """Raised by a reader for structure it cannot get past; the opener adds the path."""
