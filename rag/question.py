"""What a question asks for, so an extractive answer can be checked against it before it is given.

A near-miss question (“2023年…多少”, when the briefings only give 2022; “杭州…”, when they only
speak of 无锡) retrieves passages on the right topic that still do not answer it. Three checks
catch most of them without a model:

- **years and numbers** the question states (“2023年”, “12英寸”) must occur in the passage the
  answer sentence comes from (its text or section headings);
- **place names** (jieba's ``ns`` tag, two characters or more, without a trailing 省/市) must
  occur in that passage, or in the briefing's title when the title names no other place, unless
  the passage speaks of “我省/全省” (for a province) or “我市/本市” (for any other place);
- a **quantity question** (多少、几、多大、比例、how many…) must be answered by a sentence that
  states a number, followed by the unit asked for when the question names one (多少家 → “1100家”,
  多少亿元 → “539.4亿元”, 多少个百分点 → “6个百分点”).

A **list question** (哪些、哪几、哪三个、分别…) is answered with the enumeration that follows the
best sentence, see ``ExtractiveAnswerer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import jieba.posseg

from rag.text import normalize_for_match, to_simplified

_CHINESE_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_NUMERAL = rf"(?:\d+(?:\.\d+)?|[{_CHINESE_DIGITS}]+)"
# Units a quantity question may name; longest first so 个百分点 wins over 个.
_UNITS = sorted(
    "个百分点 百分点 亿元 万元 元 亿美元 美元 万人 万台 万辆 万吨 亿块 万家 家 个 名 位 人 项 件 台 辆 颗 所 座 条 款 倍 年 月 天 次 种 批 支 篇 部".split(),
    key=len,
    reverse=True,
)
_ASKED_UNIT = re.compile(rf"(?:多少|几)(?:个)?({'|'.join(map(re.escape, _UNITS))})")
_QUANTITY = re.compile(
    r"多少|(?<!哪)几[个家名位项件台颗所座条款倍年月天次种批支篇部成]|多大|多高|多快|多长|多久|多猛|比例|比重|占比|份额|"
    r"增幅|增速|增长率|how (?:many|much)|what (?:share|percentage|proportion)",
    re.I,
)
_LIST = re.compile(r"哪些|哪几|哪[一二两三四五六七八九十]+[个大项条类方种点]|分别|包括什么|几个方面")
_STATED_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PLACE_SUFFIX = re.compile(r"[省市]$")
# jieba tags many non-names ``nr`` (“智慧型”); a person's name must start with a common surname.
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常樊欧"
)
# “我省/全省”, “我市/本市”: the passage names its province or city elsewhere in the briefing.
_THIS_PROVINCE = re.compile(r"我省|全省|本省")
_THIS_CITY = re.compile(r"我市|本市")
PROVINCES = frozenset(
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
    "四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门".split()
)
# “欧美日韩”, “中美”: abbreviations of countries, written many ways; not a place to look up.
_COUNTRY_ABBREVIATIONS = re.compile(r"[中美日韩欧英法德俄印澳港台]+")


@dataclass(frozen=True)
class Question:
    text: str

    @cached_property
    def simplified(self) -> str:
        return to_simplified(self.text)

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """Numbers the question states (years, sizes), which the answer's passage must mention."""
        return tuple(dict.fromkeys(_STATED_NUMBER.findall(self.simplified)))

    @cached_property
    def places(self) -> tuple[str, ...]:
        """Place names in the question (jieba ``ns``), without a trailing 省/市."""
        return place_names(self.simplified)

    @cached_property
    def wants_quantity(self) -> bool:
        return bool(_QUANTITY.search(self.simplified))

    @cached_property
    def unit(self) -> str | None:
        """The unit a quantity question names (多少家 → 家), if any."""
        match = _ASKED_UNIT.search(self.simplified)
        return match.group(1) if match else None

    @cached_property
    def wants_list(self) -> bool:
        return bool(_LIST.search(self.simplified))

    def missing_from(self, passage: str, title: str = "") -> list[str]:
        """The question's numbers and place names that ``passage`` lacks (see the module docstring)."""
        flat = to_simplified(normalize_for_match(passage))
        missing = [n for n in self.numbers if n not in flat]
        places = list(self.places)
        if _THIS_PROVINCE.search(flat):
            places = [p for p in places if p not in PROVINCES]
        if _THIS_CITY.search(flat):
            places = [p for p in places if p in PROVINCES]
        # A title speaks for its passages only when it names no place the question does not.
        title_places = place_names(to_simplified(title))
        if title_places and all(any(t in q or q in t for q in self.places) for t in title_places):
            flat += "".join(title_places)
        return missing + [p for p in places if p not in flat]

    def answered_by(self, sentence: str) -> bool:
        """Whether ``sentence`` gives the kind of answer asked for (a number, in the asked unit)."""
        if not self.wants_quantity:
            return True
        flat = to_simplified(normalize_for_match(sentence))
        if self.unit is None:
            return bool(re.search(rf"\d|[%％]|[{_CHINESE_DIGITS}]+[成倍个家项天年月周日次位名人条件台元吨米亩座所款批篇部]", flat))
        return bool(re.search(rf"{_NUMERAL}\s*[万亿千百多余]*\s*(?:个)?{re.escape(self.unit)}", flat))


def place_names(text: str) -> tuple[str, ...]:
    """Place and person names in ``text`` (jieba ``ns``, or ``nr`` starting with a common
    surname; two characters or more), without a trailing 省/市."""
    places: list[str] = []
    for word, flag in jieba.posseg.cut(text):
        word = _PLACE_SUFFIX.sub("", word.strip())
        is_name = flag == "ns" or (flag == "nr" and word[:1] in _SURNAMES and len(word) <= 4)
        if is_name and len(word) >= 2 and not _COUNTRY_ABBREVIATIONS.fullmatch(word) and word not in places:
            places.append(word)
    return tuple(places)
