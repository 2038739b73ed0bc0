"""Multiboot 1 and 2 headers as GRUB and QEMU look for them."""
