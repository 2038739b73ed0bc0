"""XEN_ELFNOTE_FEATURES names Xen does not know, or requires dom0.

What:
  FEATURES is a '|'-separated list; a leading '!' marks a feature the kernel
  requires. libelf knows seven names: writable_page_tables,
  writable_descriptor_tables, auto_translated_physmap, supervisor_mode_kernel,
  pae_pgdir_above_4gb, hvm_callback_vector and dom0. Other feature bits can
  only be set with SUPPORTED_FEATURES. Whitespace is not trimmed.

Why:
  An unknown name without '!' is silently ignored, so the feature the author
  meant is not advertised. An unknown name with '!' fails the whole parse: Xen
  refuses the image (for PV and PVH). '!dom0' makes the toolstack refuse the
  kernel as an ordinary guest: `Kernel does not support unprivileged (DomU)
  operation`.

Fix:
  Spell the feature as features.h does, drop it, or set its bit through
  XEN_ELFNOTE_SUPPORTED_FEATURES; use '!dom0' only for a dom0-only kernel.

Example:
  kernel: xen-features: FEATURES requires unknown feature 'bogus': Xen refuses the image
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.loaders.xen import XenError, feature_notes
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import at_note


def check(image: Image) -> Iterator[Hit]:
    """The names Xen ignores (the refusals are pvhlint.loaders.xen's)."""
    for note, features in feature_notes(image):
        for feature in features.features:
            if feature.bit is None and not feature.required:
                yield at_note(
                    note, f"FEATURES names unknown feature {feature.name!r}: Xen ignores it"
                )


RULE = Rule(
    title="FEATURES names unknown features or requires dom0",
    severity="warning",
    explains=(XenError.FEATURE_UNKNOWN_REQUIRED, XenError.FEATURE_DOM0_REQUIRED),
)
