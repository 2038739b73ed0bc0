"""pvhlint: lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths.

    import pvhlint

    report = pvhlint.check("arch/x86/boot/bzImage", require="xen-pvh")
    result = pvhlint.fix("vmlinux", drop_obsolete_notes=True)

See pvhlint.api for the arguments; every name here is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import OptionsError, check, fix, open_image
    from .checker import ImageResult, Options, Report, Verdict
    from .errors import ImageError, UsageError
    from .fixer.pipeline import FixResult
    from .model import Image
    from .rule import Finding

# Lazy, so `import pvhlint` stays cheap for build steps that run it thousands of times.
_EXPORTS = {
    "check": ".api",
    "fix": ".api",
    "OptionsError": ".api",
    "Report": ".checker",
    "ImageResult": ".checker",
    "Verdict": ".checker",
    "Options": ".checker",
    "Finding": ".rule",
    "FixResult": ".fixer.pipeline",
    "UsageError": ".errors",
    "ImageError": ".errors",
    "open_image": ".api",
    "Image": ".model",
}


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pvhlint' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # found directly next time
    return value


__all__ = [
    "Finding",
    "FixResult",
    "Image",
    "ImageError",
    "ImageResult",
    "Options",
    "OptionsError",
    "Report",
    "UsageError",
    "Verdict",
    "__version__",
    "check",
    "fix",
    "open_image",
]
