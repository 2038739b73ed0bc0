"""The rust_vmm family (pvhlint/rules/rust_vmm/): linux-loader's PVH path."""

from __future__ import annotations

from .runner import E, Expect, named_cases_test

NAMED_CASES: dict[str, list[Expect]] = {
    # ELF64 only: an ELF32's program headers are the wrong size for it
    "elf32-pvh": [
        E(
            "rust-vmm-pvh",
            0,
            (
                "Kernel Loader: failed to load ELF kernel image: Kernel Loader: Invalid program "
                "header size",
            ),
            ("rust-vmm",),
        )
    ],
}

test_named_case = named_cases_test(NAMED_CASES)
