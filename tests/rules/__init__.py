"""Rule tests beside the rules: tests/rules/test_<family>.py for pvhlint/rules/<family>/, all
run by tests.rules.runner over the images of tests.rules.registry; beside them the contract
every rule keeps (test_contract.py), the verdicts check_image derives for the Xen, QEMU-PVH
and rust-vmm targets (test_xen_verdicts.py) and the boot-protocol rules' claims asked of the
real loaders (test_boot_real.py)."""
