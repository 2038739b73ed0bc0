"""rust-vmm linux-loader's PVH path."""
