"""PE/EFI images: the Authenticode signature."""
