"""Authenticode details of a signed PE/EFI stub, through LIEF.

Only `inspect` calls this, and only for images whose Security directory is
non-empty: importing LIEF costs about half a second, which the hot path of
`check` must not pay.
"""

from __future__ import annotations

from typing import Any


def signature_details(path: str) -> dict[str, Any]:
    """Signers and LIEF's verification verdict; {"error": ...} when LIEF cannot say."""
    try:
        import lief
    except ImportError:
        return {"error": "LIEF is not installed"}
    lief.logging.disable()
    binary = lief.PE.parse(path)
    if binary is None:
        return {"error": "LIEF could not parse the PE image"}
    signers = [
        {"issuer": str(signer.issuer), "serial": bytes(signer.serial_number).hex()}
        for signature in binary.signatures
        for signer in signature.signers
    ]
    verdict = binary.verify_signature()
    return {"signers": signers, "verification": str(verdict).split(".")[-1]}
