"""pvhlint: lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .errors import ImageError
    from .image import open_image
    from .model import Image


def __getattr__(name: str) -> object:
    # Lazy, so `import pvhlint` stays cheap for build steps that run it thousands of times.
    if name == "open_image":
        from .image import open_image

        return open_image
    if name == "ImageError":
        from .errors import ImageError

        return ImageError
    if name == "Image":
        from .model import Image

        return Image
    raise AttributeError(name)


__all__ = ["Image", "ImageError", "__version__", "open_image"]
