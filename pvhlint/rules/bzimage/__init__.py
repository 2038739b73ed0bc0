"""The Linux boot protocol: the bzImage setup header, its payload and CRC."""
