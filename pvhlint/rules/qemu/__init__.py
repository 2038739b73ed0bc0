"""QEMU -kernel: its boot path, PVH note search and ROM layout."""
