"""The exception types users see: bad input (exit 2) reported as a single line, and a fix
refused (exit 1, nothing written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checker import ImageResult


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


class UsageError(Exception):
    """A fix request that cannot apply to this input (exit 2, nothing written)."""


class EditError(Exception):
    """A fix refused at one of its stages: the edit cannot be made, or its result fails a
    check; nothing is written (`FixResult.refused`, exit 1). When the refusal comes from the
    result's verdicts: that re-check (`after`) and the `notes` made on it."""

    def __init__(self, message: str, after: ImageResult | None = None,
                 notes: tuple[str, ...] = ()) -> None:  # fmt: skip
        super().__init__(message)
        self.after = after
        self.notes = notes
