"""The section table of a 64-bit little-endian ELF file, for the fat-binary tools beside this file."""
import struct


def fatbin_section(data):
    """(offset, size) of the .nv_fatbin section of the ELF image in data (bytes or bytearray)."""
    e_shoff, = struct.unpack_from('<Q', data, 0x28)
    entry_size, count, names_index = struct.unpack_from('<HHH', data, 0x3a)
    header = lambda i: struct.unpack_from('<IIQQQQIIQQ', data, e_shoff + i * entry_size)
    names = header(names_index)[4]
    sections = {}
    for i in range(count):
        h = header(i)
        sections[bytes(data[names + h[0]:data.index(b'\0', names + h[0])]).decode()] = (h[4], h[5])
    return sections['.nv_fatbin']
