"""Xen's domain builders: libelf's note parsing, libxenguest's loaders."""
