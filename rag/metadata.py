"""What the user says about each briefing (title, publisher, date), kept in ``data/briefings.toml``.

The file is the user's: it may be edited by hand, so it is updated in place with tomlkit, which
keeps its comments and layout. A field set here wins over what the file says about itself
(``Document.file_meta``); setting a field to "" removes it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from rag.errors import BadInputError, DocumentError
from rag.files import write_atomically

METADATA_FILE = "briefings.toml"
USER_FIELDS = ("title", "publisher", "date")
FIELD_LABELS = {"title": "标题", "publisher": "发布机构", "date": "日期"}
MAX_FIELD_CHARS = 200
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def load_metadata(data_dir: Path) -> dict[str, dict[str, str]]:
    """Per-file metadata from ``data/briefings.toml`` (title, publisher, date, original)."""
    path = data_dir / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DocumentError(f"元数据文件 {path} 格式错误：{e}") from e
    return {
        name: {k: str(v) for k, v in entry.items()} for name, entry in raw.items() if isinstance(entry, dict)
    }


def names_by_original(data_dir: Path) -> dict[str, str]:
    """Original file name (``original`` in the metadata, an eval set's ``source``) -> name in ``data/``."""
    return {meta["original"]: name for name, meta in load_metadata(data_dir).items() if "original" in meta}


def check_fields(fields: dict[str, str | None]) -> dict[str, str]:
    """The user's fields, stripped and checked (``None`` = not given, "" = clear it).
    Raises ``BadInputError`` naming the field: an unknown one, one too long, a date that is not
    YYYY-MM-DD (or YYYY-MM, YYYY)."""
    checked: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key not in USER_FIELDS:
            raise BadInputError(f"未知的元数据字段 {key!r}（可设置：{'、'.join(USER_FIELDS)}）")
        value = " ".join(value.split())
        label = FIELD_LABELS[key]
        if len(value) > MAX_FIELD_CHARS:
            raise BadInputError(f"{label}过长（{len(value)} 字，上限 {MAX_FIELD_CHARS}）")
        if key == "date" and value and not _DATE.match(value):
            raise BadInputError(f"日期格式应为 YYYY-MM-DD（或 YYYY-MM、YYYY），收到 {value!r}")
        checked[key] = value
    return checked


def save_metadata(data_dir: Path, name: str, fields: dict[str, str]) -> None:
    """Set ``fields`` (checked) for the briefing ``name``; an empty value removes the field.
    The file is replaced atomically, so a crash leaves the old or the new version."""
    import tomlkit

    path = data_dir / METADATA_FILE
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as e:
        raise DocumentError(f"元数据文件 {path} 格式错误：{e}") from e
    if name not in document:
        document[name] = tomlkit.table()
    entry: Any = document[name]
    for key, value in fields.items():
        if value:
            entry[key] = value
        elif key in entry:
            del entry[key]
    write_atomically(path, tomlkit.dumps(document).encode("utf-8"))
