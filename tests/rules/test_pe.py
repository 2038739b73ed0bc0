"""The pe family (pvhlint/rules/pe/): a signed bzImage's Authenticode signature."""

from __future__ import annotations

from .runner import E, Expect, boot_cases_test

BOOT_CASES: dict[str, list[Expect]] = {
    "boot/bz-signed": [
        E("pe-signed", 0x40 + 24 + 144, ("Authenticode", "1 certificate", "re-sign"))
    ],
}

test_boot_case = boot_cases_test(BOOT_CASES)
