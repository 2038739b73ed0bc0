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

from pvhlint.loaders.xen import xen_parse
from pvhlint.model import Image
from pvhlint.rule import Hit, Rule
from pvhlint.rulekit import XEN_TARGETS, at_note
from pvhlint.xennotes import Features


def check(image: Image) -> Iterator[Hit]:
    parse = xen_parse(image, False) or xen_parse(image, True)
    if parse is None:
        return
    for note in (n for n in parse.notes if isinstance(n.value, Features)):
        for feature in note.value.features:
            name = feature.name
            if feature.bit is None and feature.required:
                yield at_note(
                    note,
                    f"FEATURES requires unknown feature {name!r}: the parse "
                    "fails and Xen refuses the image",
                    rejects=XEN_TARGETS,
                )
            elif feature.bit is None:
                yield at_note(note, f"FEATURES names unknown feature {name!r}: Xen ignores it")
            elif name == "dom0" and feature.required:
                yield at_note(
                    note,
                    'FEATURES requires dom0: Xen says "Kernel does not support '
                    'unprivileged (DomU) operation"',
                    rejects=XEN_TARGETS,
                )


RULE = Rule(
    id="xen-features",
    title="FEATURES names unknown features or requires dom0",
    severity="warning",
    targets=XEN_TARGETS,
    doc=__doc__ or "",
    check=check,
)
