"""The ELF itself: machine, program headers, what every ELF loader reads first."""
