"""What a question asks for, so an extractive answer can be checked against it before it is given.

A near-miss question (“2023年…多少”, when the briefings only give 2022; “杭州…”, when they only
speak of 无锡) retrieves passages on the right topic that still do not answer it. Three checks
catch most of them without a model:

- **years and numbers** the question states (“2023年”, “12英寸”, “首批”, “第二期”) must occur in the passage the
  answer sentence comes from (its text or section headings);
- **place names** (jieba's ``ns`` tag, two characters or more, without a trailing 省/市) must
  occur in that passage, or in the briefing's title when the title names no other place, unless
  the passage speaks of “我省/全省” (for a province) or “我市/本市” (for any other place);
  an English question's Chinese names, written in pinyin (“Chengdu”, “Wang Yifang”), must be
  the pinyin of a name in that passage, or the start of a longer word's (“Dongfeng” of 东风汽车),
  but not of a common word that sounds the same (程度 is not Chengdu);
- a **quantity question** (多少、几、多大、比例、how many…) must be answered by a sentence that
  states a number, followed by the unit asked for when the question names one (多少家 → “1100家”,
  多少亿元 → “539.4亿元”, 多少个百分点 → “6个百分点”).

A **list question** (哪些、哪几、哪三个、分别…) is answered with the enumeration that follows the
best sentence, see ``ExtractiveAnswerer``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import jieba.posseg

from rag.text import normalize_for_match, pinyin_of, to_simplified

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
# A batch, issue or session (首批, 第二期, 第三届): a passage on another one does not answer.
_COHORT = re.compile(rf"(?:首|第[{_CHINESE_DIGITS}\d]+)[批期届]")
_PLACE_SUFFIX = re.compile(r"[省市]$")
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
# English words that happen to spell out pinyin syllables, and names not written in pinyin.
_NOT_PINYIN_NAMES = frozenset("china chinese american are made open gene mine tie pan long sun fan man".split())
_PROPER_NOUN = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_CJK = re.compile(r"[\u3400-\u9fff]")
_ENGLISH_NAMES = {"hongkong": "xianggang", "macau": "aomen", "macao": "aomen", "tibet": "xizang"}


@dataclass(frozen=True)
class Question:
    text: str

    @cached_property
    def simplified(self) -> str:
        return to_simplified(self.text)

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """Numbers the question states (years, sizes) and the cohorts it names (首批, 第二期),
        which the answer's passage must mention."""
        return tuple(dict.fromkeys(_STATED_NUMBER.findall(self.simplified) + _COHORT.findall(self.simplified)))

    @cached_property
    def places(self) -> tuple[str, ...]:
        """Place names in the question (jieba ``ns``), without a trailing 省/市."""
        return place_names(self.simplified)

    @cached_property
    def latin_names(self) -> tuple[str, ...]:
        """Chinese names an English question writes in pinyin, lower-cased and run together:
        “Chengdu” → “chengdu”, “Wang Yifang” → “wangyifang”."""
        return pinyin_names(self.text)

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
        missing += [p for p in places if p not in flat]
        if self.latin_names:
            spelt = spelt_words(flat)
            missing += [name for name in self.latin_names if not any(word.startswith(name) for word in spelt)]
        return missing

    def missing_from_each(self, passages: Sequence[tuple[str, str]]) -> list[list[str]]:
        """``missing_from`` for each retrieved (passage, title), except that a name another
        passage gives is not missing from a passage that gives one of the question's names
        itself: “青岛…占山东的比重” may be answered from a passage on 青岛 when another speaks of 山东."""
        missing = [self.missing_from(text, title) for text, title in passages]
        names = set(self.places) | set(self.latin_names)
        nowhere = set.intersection(*map(set, missing)) if missing else set()
        return [
            lacking if names <= set(lacking) else [x for x in lacking if x not in names or x in nowhere]
            for lacking in missing
        ]

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
        is_name = flag == "ns" or (flag == "nr" and _looks_like_person(word))
        if is_name and len(word) >= 2 and not _COUNTRY_ABBREVIATIONS.fullmatch(word) and word not in places:
            places.append(word)
    return tuple(places)


def _looks_like_person(word: str) -> bool:
    """jieba tags many non-names ``nr`` (“智慧型”, “高新区”): a person's name starts with a
    common surname, has at most four characters and no administrative suffix."""
    return word[:1] in _SURNAMES and len(word) <= 4 and word[-1] not in "区县镇乡村"


def spelt_words(text: str) -> set[str]:
    """The pinyin of the words in ``text`` that a pinyin name may stand for: its proper nouns
    (jieba ``nr/ns/nt/nz``) and its words of three characters or more."""
    return {
        pinyin_of(word)
        for word, flag in jieba.posseg.cut(text)
        if (flag in _PROPER_NOUN or len(word) >= 3) and _CJK.search(word)
    }


def pinyin_names(text: str) -> tuple[str, ...]:
    """Runs of capitalised words that all spell out pinyin syllables (“Chengdu”, “Wang Yifang”,
    not “Torch” or “Japan”), lower-cased and run together; at least two syllables. As in
    pinyin, only a word's first syllable may start with a vowel (“Asia” is not a|si|a)."""
    syllable, consonant_initial = _pinyin_syllables()
    names: list[str] = []
    run: list[str] = []
    for word in re.findall(r"[A-Za-z']+|[^A-Za-z'\s]+", re.sub(r"'s\b", "", text)):
        spelt = word.replace("'", "").lower()
        if word.istitle() and spelt not in _NOT_PINYIN_NAMES and re.fullmatch(f"(?:{syllable})(?:{consonant_initial})*", spelt):
            run.append(spelt)
            continue
        names.append("".join(run))
        run = []
    names.append("".join(run))
    names = [_ENGLISH_NAMES.get(name, name) for name in names if name]
    return tuple(dict.fromkeys(n for n in names if not re.fullmatch(syllable, n)))


@cache
def _pinyin_syllables() -> tuple[str, str]:
    """Regex alternations of the toneless pinyin syllables pypinyin knows (about 400): all of
    them, and those starting with a consonant."""
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    spellings = {
        convert(reading, Style.NORMAL, strict=True).replace("ü", "u").replace("v", "u")
        for readings in pinyin_dict.values()
        for reading in readings.split(",")
    }
    # Longest first, so the alternation prefers “zhuang” to “zhu”; “hm”, “ng” are interjections.
    syllables = sorted((s for s in spellings if re.fullmatch(r"[a-z]*[aeiou][a-z]*", s)), key=len, reverse=True)
    return "|".join(syllables), "|".join(s for s in syllables if s[0] not in "aeiou")
