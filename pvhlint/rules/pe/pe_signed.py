"""The bzImage's PE/EFI stub carries an Authenticode (Secure Boot) signature.

What:
  The PE optional header's Security directory (data directory 4) is non-empty: a
  WIN_CERTIFICATE table, usually appended after the kernel, signs the image for
  UEFI Secure Boot (Debian's signed kernels, anything sbsign touched).

Why:
  The signature hashes every header byte except the PE CheckSum, the Security
  directory entry and the certificate table, so any patch to the setup header or
  the Xen notes, including `pvhlint fix`, breaks it: firmware with Secure Boot on
  then refuses the kernel ("Access Denied", shim: "Verification failed"). Loaders
  outside Secure Boot ignore the signature. Informational: it tells you a fix will
  need re-signing.

Fix:
  After patching, re-sign (`sbsign --key db.key --cert db.crt vmlinuz`), or remove
  the signature first (`sbattach --remove vmlinuz`) and sign the result; leave
  signed vendor kernels unpatched when Secure Boot must keep working.

Example:
  vmlinuz: pe-signed: Authenticode signature (1 certificate, 0x928 bytes at 0x7d2000):
  patching the image invalidates it
"""

from __future__ import annotations

from collections.abc import Iterator

from pvhlint.model import Image
from pvhlint.rule import Hit, Rule


def check(image: Image) -> Iterator[Hit]:
    pe = image.pe
    if pe is None or not pe.signed:
        return
    entry = pe.offset + 24 + (144 if pe.optional_magic == 0x20B else 128)
    count = len(pe.certificates)
    plural = "" if count == 1 else "s"
    yield Hit(f"Authenticode signature ({count} certificate{plural}, {pe.security_size:#x} bytes "
              f"at {pe.security_offset:#x}): patching the image (pvhlint fix) invalidates it; "
              "re-sign afterwards", pe.layer, entry, 8)  # fmt: skip


RULE = Rule(
    title="PE/EFI stub signed for Secure Boot (patching breaks the signature)",
    severity="info",
    targets=("linux",),
)
