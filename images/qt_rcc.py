"""A reader of Qt's binary resource files (``.rcc``), enough to take the photos out of Debian's GCompris data.

The format (Qt's ``rcc`` tool, formats 1-3): a 20-byte header ``qres``, version, then the offsets of three
sections: the tree, the data and the names, all numbers big-endian. The tree is an array of fixed-size nodes (14
bytes, 22 from format 2 on: 8 more for the time last modified), node 0 the root. A node is the offset of its name,
its flags, and for a directory its number of children and the index of the first (the children are consecutive);
for a file its locale (4 bytes) and the offset of its data. A name is its length in UTF-16 units, a 4-byte hash,
then the UTF-16BE text. A data entry is its length, then the bytes: zlib-compressed behind a 4-byte length (Qt's
``qCompress``) where the node's flag 1 is set, Zstandard-compressed where flag 4 is set (not read here).
"""

from __future__ import annotations

import struct
import zlib

COMPRESSED, DIRECTORY, ZSTD = 1, 2, 4  # node flags


def read_rcc(blob: bytes) -> dict[str, bytes]:
    """Every file of the resource file ``blob``, as path (``/folder/name``) -> bytes, uncompressed."""
    magic, version, tree, data, names = struct.unpack_from(">4sIIII", blob)
    if magic != b"qres" or not 1 <= version <= 3:
        raise ValueError(f"not a Qt resource file of format 1-3 (magic {magic!r}, version {version})")
    node_size = 14 if version == 1 else 22

    def name(offset: int) -> str:
        (length,) = struct.unpack_from(">H", blob, names + offset)
        start = names + offset + 6  # after the length and the hash
        return blob[start : start + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}

    def walk(index: int, path: str) -> None:
        at = tree + index * node_size
        name_offset, flags = struct.unpack_from(">IH", blob, at)
        here = f"{path}/{name(name_offset)}" if index else ""
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", blob, at + 6)
            for child in range(first, first + count):
                walk(child, here)
            return
        (offset,) = struct.unpack_from(">I", blob, at + 10)
        (length,) = struct.unpack_from(">I", blob, data + offset)
        content = blob[data + offset + 4 : data + offset + 4 + length]
        if flags & ZSTD:
            raise ValueError(f"{here} is Zstandard-compressed, which this reader does not read")
        files[here] = zlib.decompress(content[4:]) if flags & COMPRESSED else content

    walk(0, "")
    return files
