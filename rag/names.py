"""Names in Chinese text and in English questions: places and people (jieba ``ns``/``nr``
with rules of Chinese naming, not any document's word list), the places a title speaks for,
and Chinese names written in pinyin (“Chengdu”, “Wang Yifang”)."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from rag.cedict import common_word
from rag.lexicon import jieba, posseg, tagged
from rag.text import pinyin_of

_PLACE_SUFFIX = re.compile(r"[省市]$")
_REGION_SUFFIX = re.compile(r"(?:经济特区|特区|新区|高新区|开发区|示范区|自贸区|[省市县区])$")
# jieba tags some common words made of direction characters ``ns`` (东西 “things”, 上下).
_DIRECTIONS = re.compile(r"[东西南北中上下内外前后左右]+")
# English function words that open a question capitalised (“Can Shenzhen…”, “Does Qingdao…”).
_OPENING_WORDS = frozenset(
    "can could will would should shall may might must do does did is are was were has have had how what which who "
    "when where why".split()
)
# The common Chinese surnames (about the 200 most frequent; Chinese naming, not any document's).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常樊欧"
    "施牛葛祝章柳鲍华喻柴倪时殷申管包齐左兰单洪康伍裴翟卜焦岳庞庄池祁汤阎蒲颜詹涂聂车尚温耿关柯卓宁易连苗凌"
    "戚霍骆滕路甘杭柏游乔邢景栾殷舒鞠俞虞沙褚艾冉房屠辛全闵巫隋谷薄窦宫冀靳"
)
# “欧美日韩”, “中美”: abbreviations of countries, written many ways; not a place to look up.
_ANY_COUNTRY = re.compile(r"[外各本他异邻][国邦]")
_COUNTRY_ABBREVIATIONS = re.compile(r"[中美日韩欧英法德俄印澳港台]+")
# English words that happen to spell out pinyin syllables, and names not written in pinyin.
_NOT_PINYIN_NAMES = frozenset(
    "china chinese american are made open gene mine tie pan long sun fan man".split()
)
# Modals, particles and prepositions that follow a noun (Chinese grammar, not a name list).
_NOT_GIVEN_NAMES = frozenset("能会要也就都是在的不把被")
PROPER_NOUN = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_CJK = re.compile(r"[\u3400-\u9fff]")
_ENGLISH_NAMES = {"hongkong": "xianggang", "macau": "aomen", "macao": "aomen", "tibet": "xizang"}


@lru_cache(maxsize=1024)
def title_places(title: str) -> tuple[str, ...]:
    """The places a briefing's title names: its place names, and the place a region's name
    starts with (深圳经济特区 → 深圳, 西咸新区 → 西咸)."""
    found = list(place_names(title))
    for word, flag in tagged(title):
        core = _REGION_SUFFIX.sub("", word)
        if flag in ("nt", "nz", "ns") and core != word and len(core) >= 2 and core not in found:
            found.append(core)
    return tuple(found)


def place_names(text: str) -> tuple[str, ...]:
    """Place and person names in ``text`` (jieba ``ns``, or ``nr`` starting with a common
    surname; two characters or more), without a trailing 省/市."""
    places: list[str] = []
    previous = ""
    words = tagged(text)
    for i, (token, flag) in enumerate(words):
        token = token.strip()
        if flag == "nt":  # an organisation named after its place: 北京政府, 深圳市科技局 → 北京, 深圳
            token, flag = _leading_place(token) or (token, flag)
        word = _PLACE_SUFFIX.sub("", token)
        # 海港 (a harbour) before 高新区 names one, and so does 灯塔 in 灯塔市
        with_region = bool(_REGION_SUFFIX.search(token)) or (
            i + 1 < len(words) and bool(_REGION_SUFFIX.fullmatch(words[i + 1][0]))
        )
        is_place = flag == "ns" and not _DIRECTIONS.fullmatch(word)
        is_name = (is_place and (with_region or not _not_a_place(word))) or (
            flag == "nr" and _looks_like_person(word)
        )
        if is_name and not _REGION_SUFFIX.sub("", word):
            # 新区, 开发区 alone are a kind of place, not a name; 西咸 + 新区 is one.
            word = previous + word if re.fullmatch(r"[\u3400-\u9fff]{2,4}", previous) else ""
        previous = token
        if is_name and len(word) >= 2 and not _COUNTRY_ABBREVIATIONS.fullmatch(word) and word not in places:
            places.append(word)
    return tuple(places)


def place_words(text: str) -> list[str]:
    """The words of ``text`` that name a place (jieba tags them ``ns`` and they are one; 上市 is not)."""
    return [
        word
        for word, flag in tagged(text)
        if flag == "ns" and not _DIRECTIONS.fullmatch(word) and not _not_a_place(_PLACE_SUFFIX.sub("", word))
    ]


def _not_a_place(word: str) -> bool:
    """A word jieba tags ``ns`` that names no place: a word CC-CEDICT knows only as a common
    word (伦理, 上马 “to launch”, 沙龙; ``rag.cedict``), another country or every country (外国,
    外邦), or jieba's guess joining a locative and the verb after it (“大会上拿一等奖” → 上拿)."""
    tags = posseg.dt.word_tag_tab
    if _ANY_COUNTRY.fullmatch(word) or common_word(word):
        return True
    return (
        len(word) == 2
        and word not in tags
        and tags.get(word[0]) == "f"
        and tags.get(word[1], "").startswith("v")
    )


def leading_places(organisation: str) -> list[str]:
    """The place names an organisation's name starts with (jieba's dictionary tags them ``ns``),
    longest first: 深圳市 and 深圳 of 深圳市政府, 英国 of 英国政府."""
    tags = posseg.dt.word_tag_tab
    return [
        word
        for word in sorted(jieba.cut_for_search(organisation), key=len, reverse=True)
        if word != organisation and organisation.startswith(word) and tags.get(word) == "ns"
    ]


def _leading_place(organisation: str) -> tuple[str, str] | None:
    """The place an organisation's name starts with, but not a country (中国银行 is a bank, not a
    place to look for)."""
    return next(((word, "ns") for word in leading_places(organisation) if not word.endswith("国")), None)


def _looks_like_person(word: str) -> bool:
    """jieba tags many non-names ``nr`` (“智慧型”, “高新区”): a person's name starts with a
    common surname, has at most four characters and no administrative suffix."""
    return (
        word[:1] in _SURNAMES
        and len(word) <= 4
        and word[-1] not in "区县镇乡村"
        # jieba joins a noun and the modal or particle after it (“这笔钱能不能” → 钱能):
        # a one-character given name is not one of those, nor the surname again (谢谢).
        and not (len(word) == 2 and (word[1] in _NOT_GIVEN_NAMES or word[1] == word[0]))
    )


@lru_cache(maxsize=4096)
def spelt_words(text: str) -> frozenset[str]:
    """The pinyin of the words in ``text`` that a pinyin name may stand for: its proper nouns
    (jieba ``nr/ns/nt/nz``) and its words of three characters or more. Cached: the same
    passages and titles come back question after question."""
    return frozenset(
        pinyin_of(word)
        for word, flag in tagged(text)
        if (flag in PROPER_NOUN or len(word) >= 3) and _CJK.search(word)
    )


def pinyin_names(text: str) -> tuple[str, ...]:
    """Runs of capitalised words that all spell out pinyin syllables (“Chengdu”, “Wang Yifang”,
    not “Torch” or “Japan”), lower-cased and run together; at least two syllables. As in
    pinyin, only a word's first syllable may start with a vowel (“Asia” is not a|si|a)."""
    if not re.search("[A-Z]", text):
        return ()  # no capitalised word
    syllable, consonant_initial = _pinyin_syllables()
    names: list[str] = []
    run: list[str] = []
    # a possessive ends a name (“Beijing's Haidian District”: Beijing, then Haidian)
    words = re.findall(r"[A-Za-z']+|[^A-Za-z'\s]+", re.sub(r"'s\b", " ,", text))
    if words and words[0].lower() in _OPENING_WORDS:
        words = words[1:]
    for word in words:
        spelt = word.replace("'", "").lower()
        if (
            word.istitle()
            and spelt not in _NOT_PINYIN_NAMES
            and re.fullmatch(f"(?:{syllable})(?:{consonant_initial})*", spelt)
        ):
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
    syllables = sorted(
        (s for s in spellings if re.fullmatch(r"[a-z]*[aeiou][a-z]*", s)), key=len, reverse=True
    )
    return "|".join(syllables), "|".join(s for s in syllables if s[0] not in "aeiou")
