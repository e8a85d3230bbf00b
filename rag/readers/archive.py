"""Zip containers (.docx, .ofd): opened only after their unpacked size is known to be safe.

A zip entry's header states its unpacked size and ``zipfile`` never inflates past it, so
summing the headers bounds what reading the whole archive can produce: a zip bomb is refused
before a byte of it is inflated.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from rag.errors import DocumentError

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# Past this size, an archive must not unpack to more than MAX_RATIO times its packed size
# (text-heavy XML compresses about 10:1; a bomb, thousands to one).
RATIO_CHECK_BYTES = 32 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 20_000
# Office's encrypted files (and Word 97–2003 files) are OLE compound documents, not zips.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_zip(path: Path, label: str) -> zipfile.ZipFile:
    """``path`` as a zip archive of the format ``label`` (Word, OFD), checked against zip bombs.
    Raises ``DocumentError`` for an encrypted, damaged or oversized archive."""
    with path.open("rb") as f:
        head = f.read(8)
    if head == OLE_MAGIC and label == "Word":
        raise DocumentError(
            f"{path.name}：不是有效的 Word 文件：它可能设置了打开密码（请在 Word/WPS 中取消密码后另存），"
            "或是改了扩展名的旧版 .doc 文件（请把扩展名改为 .doc）"
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise DocumentError(f"{path.name}：无法解析 {label} 文件（文件损坏或不完整）") from e
    entries = archive.infolist()
    unpacked = sum(entry.file_size for entry in entries)
    packed = max(sum(entry.compress_size for entry in entries), 1)
    bomb = unpacked > RATIO_CHECK_BYTES and unpacked > MAX_RATIO * packed
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNPACKED_BYTES or bomb:
        archive.close()
        raise DocumentError(
            f"{path.name}：{label} 文件解压后过大（{len(entries)} 个部件，共 {unpacked // (1024 * 1024)} MB），"
            "疑似压缩炸弹，已拒绝读取"
        )
    if any(entry.flag_bits & 0x1 for entry in entries):
        archive.close()
        raise DocumentError(f"{path.name}：{label} 文件已加密（需要密码才能打开），请先解除密码再导入")
    return archive
