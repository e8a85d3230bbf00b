"""A number that sizes or counts the thing named after it (“8英寸晶圆线”, “28纳米工艺”, “104个
项目”): a sentence that gives the same thing with another number (“12英寸晶圆线仅1条”) speaks of
another one, unless it also gives the asked number, in digits or in Chinese numerals."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rag.answer_type import LATIN_CODE
from rag.lexicon import jieba
from rag.text import int_to_chinese, normalize_for_match, to_simplified

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# After a number, these are dates and shares, checked as such (``Question.other_year``,
# ``rag.answer_type``), or an approximation (多, 余).
_NOT_UNITS = frozenset("年 月 日 号 % ％ 个百分点 百分点 倍 多 余 . ．".split())
# A yes-or-no question (“10个工作日内能办结吗？”) is answered by a sentence giving another figure.
_YES_NO = re.compile(r"吗[？?]?\s*$|是否|能否|可否|是不是|有没有|会不会")


@dataclass(frozen=True)
class Measure:
    number: str
    unit: str
    thing: str

    def __str__(self) -> str:
        return f"{self.number}{self.unit}{self.thing}"


def _plain(text: str) -> str:
    """Full-width digits as ASCII, and no thousands separators (“1,200家” → “1200家”)."""
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", unicodedata.normalize("NFKC", text))


def measures(question: str) -> tuple[Measure, ...]:
    """The numbers in ``question`` (simplified) with the unit and the noun jieba cuts after them."""
    words = [word for word in jieba.cut(_plain(LATIN_CODE.sub(" ", question))) if word.strip()]
    found = []
    for number, unit, thing in zip(words, words[1:], words[2:], strict=False):
        if (
            _NUMBER.fullmatch(number)
            and unit not in _NOT_UNITS
            and not unit[0].isdigit()
            and len(thing) >= 2
            and "\u3400" <= thing[0] <= "\u9fff"
        ):
            found.append(Measure(number, unit, thing))
    return tuple(found)


def other_measure(question: str, asked: tuple[Measure, ...], sentence: str) -> tuple[str, str] | None:
    """The same thing of another size or count in ``sentence``, and the asked one (“12英寸晶圆线”,
    “8英寸晶圆线”); None when the sentence also gives a number the question states in that unit
    (“12英寸、8英寸晶圆线各1条”, “八英寸”), or when the question asks yes or no."""
    if not asked or _YES_NO.search(question):
        return None
    flat = _plain(to_simplified(normalize_for_match(sentence)))
    plain_question = _plain(question)
    for measure in asked:
        unit = re.escape(measure.unit)
        stated = set(re.findall(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*{unit}", plain_question))
        if any(_gives(flat, number, unit) for number in stated):
            continue
        other = re.search(rf"(?<![\d.])\d+(?:\.\d+)?\s*{unit}\s*{re.escape(measure.thing)}", flat)
        if other:
            return other[0], str(measure)
    return None


def _gives(text: str, number: str, unit: str) -> bool:
    """Whether ``text`` gives ``number`` followed by ``unit`` (a pattern), in digits or, for a
    whole number, in Chinese numerals (“八英寸”, “两个”)."""
    forms = [re.escape(number)]
    if number.isdigit() and int(number) < 100000:
        written = int_to_chinese(int(number))
        forms += [written] + (["两"] if number == "2" else [])
    return any(
        re.search(rf"(?<![\d.〇零一二两三四五六七八九十百千万]){form}\s*{unit}", text) for form in forms
    )
