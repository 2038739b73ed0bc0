"""The rust_vmm family (pvhlint/rules/rust_vmm/): linux-loader's PVH path."""

from __future__ import annotations

import pytest

from .runner import E, Expect, check_named_case

NAMED_CASES: dict[str, list[Expect]] = {
    # ELF64 only: an ELF32's program headers are the wrong size for it
    "elf32-pvh": [
        E("rust-vmm-pvh", 0, ("Kernel Loader: Invalid program header size",), ("rust-vmm",))
    ],
}


@pytest.mark.parametrize("name", sorted(NAMED_CASES))
def test_named_case(name: str) -> None:
    check_named_case(name, NAMED_CASES[name])
