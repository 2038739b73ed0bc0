"""The pe family (pvhlint/rules/pe/): a signed bzImage's Authenticode signature."""

from __future__ import annotations

import pytest

from .runner import E, Expect, check_boot_case

BOOT_CASES: dict[str, list[Expect]] = {
    "boot/bz-signed": [
        E("pe-signed", 0x40 + 24 + 144, ("Authenticode", "1 certificate", "re-sign"))
    ],
}


@pytest.mark.parametrize("name", sorted(BOOT_CASES))
def test_boot_case(name: str) -> None:
    check_boot_case(name, BOOT_CASES[name])
