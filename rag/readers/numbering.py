"""Word's automatic numbering (numbering.xml) written out as the reader sees it on screen.

A numbered paragraph holds no digits: it names a list (``numId``) and a level (``ilvl``); the
list's level definitions give the start value, the number format (decimal, 一二三, ①…) and a
pattern such as ``%1、`` or ``（%2）``. Counting the paragraphs of each list in document order
gives each paragraph its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CHINESE_DIGITS = "〇一二三四五六七八九"
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_ROMAN = tuple(
    zip(
        (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1),
        ("m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i"),
        strict=True,
    )
)


@dataclass(frozen=True)
class Level:
    start: int
    fmt: str  # w:numFmt: decimal, chineseCounting, bullet, …
    pattern: str  # w:lvlText: “%1、”, “（%1）”, “%1.%2”


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五 (as Word's chineseCounting)."""
    if n <= 0:
        return str(n)
    if n < 10:
        return _CHINESE_DIGITS[n]
    if n < 20:
        return "十" + (_CHINESE_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CHINESE_DIGITS[n // 10] + "十" + (_CHINESE_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if not rest else ("零" + _CHINESE_DIGITS[rest] if rest < 10 else chinese_number(rest))
        if 10 <= rest < 20:
            tail = "一" + tail  # 一百一十二
        return _CHINESE_DIGITS[n // 100] + "百" + tail
    return str(n)


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting"):
        return chinese_number(n)
    if fmt == "ideographTraditional":
        return _HEAVENLY_STEMS[(n - 1) % 10]
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    if fmt == "decimalEnclosedCircle" and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    return str(n)


class Numbering:
    """The document's list definitions and the running count of each list."""

    def __init__(self, lists: dict[str, dict[int, Level]]) -> None:
        self.lists = lists
        self.counts: dict[str, dict[int, int]] = {}

    @classmethod
    def of(cls, document: Any) -> Numbering:
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):  # a document without lists has no numbering part
            return cls({})
        abstract = {node.get(f"{W}abstractNumId"): _levels(node) for node in root.iter(f"{W}abstractNum")}
        lists: dict[str, dict[int, Level]] = {}
        for num in root.iter(f"{W}num"):
            ref = num.find(f"{W}abstractNumId")
            levels = dict(abstract.get(ref.get(f"{W}val") if ref is not None else None, {}))
            for override in num.iter(f"{W}lvlOverride"):
                ilvl = int(override.get(f"{W}ilvl", "0"))
                redefined = _levels(override)
                if ilvl in redefined:
                    levels[ilvl] = redefined[ilvl]
                start = override.find(f"{W}startOverride")
                if start is not None and ilvl in levels:
                    old = levels[ilvl]
                    levels[ilvl] = Level(int(start.get(f"{W}val", "1")), old.fmt, old.pattern)
            lists[num.get(f"{W}numId", "")] = levels
        return cls(lists)

    def label(self, paragraph: Any) -> str:
        """The paragraph's number as displayed (“一、”, “（二）”, “1.2”), or "" when it has none.
        Counts the paragraph: call once per paragraph, in document order."""
        num_id, ilvl = _list_of(paragraph)
        levels = self.lists.get(num_id) if num_id else None
        if not levels or ilvl not in levels:
            return ""
        level = levels[ilvl]
        counts = self.counts.setdefault(num_id or "", {})
        counts[ilvl] = counts.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]  # a new item restarts the levels under it
        if level.fmt == "bullet":
            return "•"
        if level.fmt == "none":
            return ""
        label = level.pattern
        for k in range(9):
            if f"%{k + 1}" in label:
                outer = levels.get(k, Level(1, "decimal", ""))
                label = label.replace(f"%{k + 1}", format_number(counts.get(k, outer.start), outer.fmt))
        return label


def _levels(node: Any) -> dict[int, Level]:
    levels = {}
    for lvl in node.findall(f"{W}lvl"):
        start, fmt, text = (lvl.find(f"{W}{tag}") for tag in ("start", "numFmt", "lvlText"))
        levels[int(lvl.get(f"{W}ilvl", "0"))] = Level(
            int(start.get(f"{W}val", "1")) if start is not None else 1,
            fmt.get(f"{W}val", "decimal") if fmt is not None else "decimal",
            text.get(f"{W}val", "") if text is not None else "",
        )
    return levels


def _list_of(paragraph: Any) -> tuple[str | None, int]:
    """(numId, ilvl) set on the paragraph, else on its style or the styles it is based on."""
    element, style = paragraph._p, paragraph.style
    while element is not None:
        num = element.find(f"{W}pPr/{W}numPr")
        if num is not None:
            num_id, ilvl = num.find(f"{W}numId"), num.find(f"{W}ilvl")
            value = num_id.get(f"{W}val") if num_id is not None else None
            return (None if value == "0" else value), int(ilvl.get(f"{W}val", "0")) if ilvl is not None else 0
        element = style.element if style is not None else None
        style = style.base_style if style is not None else None
    return None, 0
