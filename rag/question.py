"""What a question asks for, so an extractive answer can be checked against it before it is given.

A near-miss question (“2023年…多少”, when the briefings only give 2022; “杭州…”, when they only
speak of 无锡) retrieves passages on the right topic that still do not answer it. These checks
catch most of them without a model:

- **years and numbers** the question states (“2023年”, “12英寸”, “首批”, “第二期”) must occur in the passage the
  answer sentence comes from (its text or section headings), in digits or in Chinese numerals
  (“3月” as 三月, “14th Five-Year Plan” as 十四五);
- **place and person names** (``rag.names``) must occur in that passage, or in the answer
  sentence's section up to its paragraph (and the byline closing its article), or in the
  briefing's title when the title names no other place; “我省/全省/本省” in a passage stands
  for the province its title or section headings name and “我市/本市” for the city, so a 深圳
  question is not answered from a 青岛 regulation that says 本市 (a passage whose title and
  headings name no place is taken at its word);
  an English question's Chinese names, written in pinyin (“Chengdu”, “Wang Yifang”), must be
  the pinyin of a name in that passage, or the start of a longer word's (“Dongfeng” of 东风汽车),
  but not of a common word that sounds the same (程度 is not Chengdu); a capitalised English
  function word opening the question (“Can Shenzhen…”) is not part of a name;
- the **attribute** a question asks through a copula (“……的售价是多少？”) must be named in that
  passage (``rag.attribute``);
- the **kind of answer** asked for (``rag.answer_type``): a quantity, in the unit asked for; a
  share; a place in an order; a year; a date;
- an answer **sentence** on another year (2021 for a 2022 question), on another size or count of
  the thing the question measures (“12英寸晶圆线” for 8英寸晶圆线), on the same thing of another
  place (``rag.owners``: 上海市集成电路产业 for 张江's), on another organisation of the kind asked
  about (``rag.organisations``: 中国银行 for 中国建设银行), or from another article of a law than
  the one asked (第三十七条 for 第三十六条) does not answer.

What the answer then quotes follows from the question too (``rag.answerers.quoting``): a **list
question** (哪些、哪几、哪三个、分别…) gets an enumeration, of as many items as it says; “第四项”
one item; a series of places (广州、深圳、珠海) a sentence on each; “哪份文件” the document's name.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rag.aggregates import pooled_word
from rag.answer_type import CHINESE_DIGITS, LATIN_CODE, AnswerType
from rag.attribute import unnamed_attribute
from rag.lexicon import is_verb, tagged
from rag.measures import Measure, measures, other_measure
from rag.names import pinyin_names, place_names, spelt_words, title_places
from rag.organisations import organisations, other_organisation
from rag.owners import Owned, other_owner, owned_things
from rag.quoted_names import quoted_name_pattern, quoted_names
from rag.text import (
    chinese_to_int,
    int_to_chinese,
    normalize_for_match,
    to_simplified,
    without_title_spans,
    without_titles,
)

# Kinds of text that ask nothing of the briefings (language, not any document's vocabulary).
_NON_WORD = re.compile(r"[^\w\u3400-\u9fff]+")
_SMALL_TALK = re.compile(
    r"(?:你好|您好|嗨|哈喽|早上好|上午好|中午好|下午好|晚上好|晚安|在吗|在不在|谢谢|多谢|感谢|再见|拜拜|辛苦了|你是谁|你叫什么|"
    r"你能做什么|你会什么|hi|hello|hey|thanks|thankyou|bye|goodbye|goodmorning|howareyou|whoareyou|ok|okay|好的|嗯|哦|啊|呀|吧|呢|吗|啦|"
    r"你|您|我|请问|我想问一下|有人吗)+"
)
_ARITHMETIC = re.compile(r"[\d\s.+\-*/×÷=（）()^加减乘除以等于是几多少？?]+")
_WRITING_REQUEST = re.compile(
    r"(?:请|请你|帮我|给我|麻烦|能不能|可以)?(?:帮我|给我)?(?:写|编写|创作|作|编|起草|拟|生成|翻译|润色|改写|续写|画)"
    r"(?:一|几|两|个|首|篇|份|段|封|句|个|下|成|出)"
)
# “第四项是什么？”, “第二点呢”, “第二条建议”: one item of an enumeration (not an article: 第四条
# 规定了什么, 第十条是什么, 第十三条所列; 条 is an item before the nouns a list is made of).
_LIST_NOUNS = "建议|意见|措施|举措|经验|做法|办法|任务|原则|对策|路径|途径|启示|要求"
_ITEM_ASKED = re.compile(rf"第([一二三四五六七八九十]{{1,3}}|\d{{1,2}})(?:项|点|个方面|条(?={_LIST_NOUNS}))")
# “提的办法中的第一条”: 条 after those nouns and 中/的 is an item too (read as 第一项; every noun is
# two characters); 《……办法》中的第一条 is an article of a document.
_LISTED_ITEM = re.compile(
    rf"(?<={_LIST_NOUNS})(?<!》..)((?:中的|里的|中|里|的)第(?:[一二三四五六七八九十]{{1,3}}|\d{{1,2}}))条"
)
# “在哪份文件中提出”, “出自什么规划”: the question asks which document says it.
_SOURCE = re.compile(
    r"(?:哪|什么|何)(?!些)[^，。？?、]{0,6}?(?:文件|规划|意见|通知|方案|条例|法规|办法|报告|文章)|出自"
)
# How many items a list question expects: “哪三个判断”, “四个90%分别指什么”, “三大工程”.
_LIST_COUNT = re.compile(r"(?<![第\d])([两三四五六七八九十]{1,2}|[2-9]|1\d)(?:个|大|项|方面|条|类|种|点)")
# “哪三个”, “哪六大”: a list; “哪一类” asks for one.
_LIST = re.compile(
    r"哪些|哪几|哪[二两三四五六七八九十][一二两三四五六七八九十]*[个大项条类方种点]|分别|包括什么|几个方面"
)
# A number the question states, with the unit that follows it (“3月”, “12英寸”, “960” in “960是”).
_UNIT_CHARACTERS = "年月日号时岁周天个家名位人项件台辆颗所座条款倍次种批支篇部届期层级类吨亩米元英寸%％"
_STATED_NUMBER = re.compile(rf"(?<![\d.])\d+(?:\.\d+)?(?![\d.])[{_UNIT_CHARACTERS}]?")
# A model or programme named by a few letters and two digits or more (A100, G60, C919): a passage
# on H100 is on another one. Q1, H1 (a quarter, a half-year) and Top10 are not models.
_MODEL = re.compile(r"(?<![A-Za-z\d])(?![Tt]op)[A-Za-z]{1,3}-?\d{2,}(?![\d.])[A-Za-z\d]*")
# An amount in English words (100-billion-yuan, 1.5 million): a briefing writes it in Chinese units.
_ENGLISH_AMOUNT = re.compile(r"\d+(?:\.\d+)?[\s-]*(?:hundred|thousand|million|billion|trillion)s?\b", re.I)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?=年)")
# An article of a law (第三十六条, 第36条).
_ARTICLE = re.compile(rf"第([{CHINESE_DIGITS}]+|\d+)条")
# A batch, issue or session (首批, 第二期, 第三届): a passage on another one does not answer.
_COHORT = re.compile(rf"(?:首|第[{CHINESE_DIGITS}\d]+)[批期届条章节款]")
# “我省/全省”, “我市/本市”: the passage names its province or city elsewhere in the briefing.
_THIS_PROVINCE = re.compile(r"我省|全省|本省")
_THIS_CITY = re.compile(r"我市|本市")
PROVINCES = frozenset(
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
    "四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门".split()
)


@dataclass(frozen=True)
class Question:
    text: str

    @cached_property
    def simplified(self) -> str:
        return to_simplified(self.text)

    @cached_property
    def _items_read(self) -> str:
        """The question with an item written 第N条 after a list's noun read as 第N项."""
        return _LISTED_ITEM.sub(r"\1项", self.simplified)

    @cached_property
    def specifics(self) -> tuple[str, ...]:
        """What the question pins down and the answer's passage must mention: the numbers it
        states with their units (2023年, 12英寸), the cohorts and articles it names (首批, 第二期,
        第十条), the models it names (A100, G60) and the names it quotes (“星火燎原”)."""
        models = _MODEL.findall(self.simplified)
        # not A100's 100, nor an English amount (100 billion: 千亿, 1000亿)
        numbers = _STATED_NUMBER.findall(_ENGLISH_AMOUNT.sub(" ", LATIN_CODE.sub(" ", self.simplified)))
        stated = numbers + _COHORT.findall(self._without_item) + models
        return tuple(dict.fromkeys(stated + [f"“{q}”" for q in quoted_names(self.simplified)]))

    @cached_property
    def years(self) -> frozenset[str]:
        """The years asked about; not the span a document's name gives (《……（2021－2025年）》)."""
        return frozenset(_YEAR.findall(without_title_spans(self.simplified)))

    def other_year(self, sentence: str, context: str = "") -> str | None:
        """A year ``sentence`` speaks of when it is not one the question asks about (“2021” for
        a 2022 question), unless the sentence or its headings also name the asked year."""
        if not self.years:
            return None
        stated: set[str] = set(_YEAR.findall(without_title_spans(to_simplified(sentence))))
        if not stated or stated & self.years or any(y in context for y in self.years):
            return None
        return min(stated)

    @cached_property
    def measures(self) -> tuple[Measure, ...]:
        """The numbers that size or count the thing named after them (``rag.measures``)."""
        return measures(self.simplified)

    def other_measure(self, sentence: str) -> tuple[str, str] | None:
        """The same thing of another size or count in ``sentence`` and the asked one
        (“12英寸晶圆线”, “8英寸晶圆线”), or None (``rag.measures.other_measure``)."""
        return other_measure(self.simplified, self.measures, sentence)

    @cached_property
    def owned(self) -> tuple[Owned, ...]:
        """The things the question asks of a place (``rag.owners``)."""
        return owned_things(self.simplified)

    def other_owner(self, sentence: str) -> tuple[str, str] | None:
        """The asked thing of another place in ``sentence`` and the asked one (“上海市集成电路产业”,
        “张江集成电路产业”; ``rag.owners``), or another organisation of the kind asked about
        (“中国银行”, “中国建设银行”; ``rag.organisations``), or None."""
        figure = self.answer_type.wants_quantity
        return other_owner(self.simplified, self.owned, sentence, figure) or other_organisation(
            self.simplified, self.organisations, sentence
        )

    @cached_property
    def organisations(self) -> tuple[str, ...]:
        """The organisations the question names (``rag.organisations``)."""
        return organisations(self.simplified)

    def pooled_in(self, sentence: str) -> str | None:
        """The asked thing, when ``sentence`` gives a figure for a series it is one item of
        (``rag.aggregates``); only for a question on a figure that is not a list question."""
        if self.answer_type.kind not in ("数字", "比例") or self.wants_list:
            return None
        return pooled_word(self.simplified, sentence)

    @cached_property
    def articles(self) -> frozenset[int]:
        """The numbers of the articles the question names (第三十六条, 第36条)."""
        return frozenset(n for n in map(chinese_to_int, _ARTICLE.findall(self._without_item)) if n)

    @cached_property
    def _without_item(self) -> str:
        """The question without the item it asks for (“第二条建议” is not an article)."""
        return _ITEM_ASKED.sub("", self._items_read)

    def other_article(self, headings: str) -> str | None:
        """The article a sentence's headings place it in (第三十七条) when the question asks
        about others (第三十六条): a passage may hold two articles, and only one is asked."""
        if not self.articles:
            return None
        found = list(_ARTICLE.finditer(to_simplified(headings)))
        if not found or {chinese_to_int(a[1]) for a in found} & self.articles:
            return None
        return found[-1][0]

    @cached_property
    def places(self) -> tuple[str, ...]:
        """Place names in the question (jieba ``ns``), without a trailing 省/市."""
        return place_names(self.simplified)

    @cached_property
    def coordinated_places(self) -> tuple[str, ...]:
        """The places the question joins into a series (“广州、深圳、珠海、佛山各有什么定位？”,
        “向美国、日本和韩国学习什么”): it asks the same of each of them."""
        text = self.simplified
        joined: set[str] = set()
        for left in self.places:
            for right in self.places:
                if re.search(rf"{re.escape(left)}[、，,和与及跟以 ]{{1,2}}{re.escape(right)}", text):
                    joined.update((left, right))
        return tuple(p for p in self.places if p in joined)

    @cached_property
    def latin_names(self) -> tuple[str, ...]:
        """Chinese names an English question writes in pinyin, lower-cased and run together:
        “Chengdu” → “chengdu”, “Wang Yifang” → “wangyifang”."""
        return pinyin_names(self.text)

    @cached_property
    def answer_type(self) -> AnswerType:
        return AnswerType(self.simplified)

    @cached_property
    def item_asked(self) -> str | None:
        """The ordinal of the one enumeration item the question asks for (“第四项” → “四”)."""
        match = _ITEM_ASKED.search(self._items_read)
        return match.group(1) if match else None

    @cached_property
    def list_nouns(self) -> frozenset[str]:
        """The nouns a list is made of that the question names (建议 of “建议中的第六点”)."""
        return frozenset(re.findall(_LIST_NOUNS, self.simplified))

    @cached_property
    def list_count(self) -> int | None:
        """How many items a list question says there are (“哪三个” → 3), if it says."""
        counts = _LIST_COUNT.findall(self.simplified) if self.wants_list else []
        return chinese_to_int(counts[-1]) if counts else None

    @cached_property
    def agent_verb(self) -> str | None:
        """What a question on who does something asks about: the verb after 由谁/由哪家…, the
        last of a chain of them (“由哪个部门负责构建……？” → 构建, not the 负责 any department
        has), or 归 of 归谁 (“由谁出资？” → 出资, “收入归谁所有？” → 归)."""
        tokens = tagged(self.simplified)
        for i, (word, _) in enumerate(tokens[1:], start=1):
            if tokens[i - 1][0] in ("由", "归") and (word == "谁" or word.startswith("哪")):
                if tokens[i - 1][0] == "归":  # “归谁所有”: whom it belongs to
                    return "归"
                rest = tokens[i + 1 :]
                first = next((k for k, (_, flag) in enumerate(rest) if is_verb(flag)), None)
                if first is None:
                    return None
                chain = list(itertools.takewhile(lambda t: is_verb(t[1]), rest[first:]))
                return chain[-1][0]
        return None

    @cached_property
    def wants_source(self) -> bool:
        """Whether the question asks which document says something (“在哪份文件中提出的？”)."""
        return bool(_SOURCE.search(self.simplified))

    @cached_property
    def topic(self) -> str:
        """The question without the words that ask which document says it (“出自哪份文件”):
        they are about the briefings, not words a briefing uses."""
        return _SOURCE.sub("，", self.simplified)

    @cached_property
    def wants_list(self) -> bool:
        return bool(_LIST.search(self.simplified))

    @cached_property
    def not_a_question_about_documents(self) -> str | None:
        """Why the text asks nothing a briefing could answer: a greeting or small talk, a sum,
        a request to write something (the reason, in Chinese), else None."""
        bare = _NON_WORD.sub("", self.simplified.lower())
        if not bare or _SMALL_TALK.fullmatch(bare):
            return "这是问候或寒暄，不是关于简报内容的提问"
        if _ARITHMETIC.fullmatch(self.simplified.strip()):
            return "这是算术题，不是关于简报内容的提问"
        if _WRITING_REQUEST.match(self.simplified.strip()):
            return "这是写作请求；本工具只回答简报中写明的内容"
        return None

    def missing_from(self, passage: str, title: str = "") -> list[str]:
        """The question's numbers, names and asked attribute that ``passage`` lacks (see the module docstring)."""
        flat = _flat(passage)
        with_title = flat + _flat(title)
        missing = [n for n in self.specifics if not _states(with_title, n)]
        missing += unnamed_attribute(self.simplified, with_title)
        missing += self._places_missing_from(flat, title)
        if self.latin_names:  # the title speaks for the passage: “Qingdao” for 青岛市…条例
            spelt = spelt_words(flat) | spelt_words(to_simplified(title))
            missing += [name for name in self.latin_names if not any(word.startswith(name) for word in spelt)]
        return missing

    def _places_missing_from(self, flat: str, title: str) -> list[str]:
        """The question's place names that ``flat`` (simplified, without spaces) lacks.
        ``title`` is the document's title and, on further lines, what else speaks for the
        whole document (its publisher)."""
        places = list(self.places)
        named = [place for line in title.splitlines() for place in title_places(to_simplified(line))]
        # “我省/本市” stand for the place the title names (checked below); a passage whose
        # title names no place is taken at its word.
        if not named and _THIS_PROVINCE.search(flat):
            places = [p for p in places if p not in PROVINCES]
        if not named and _THIS_CITY.search(flat):
            places = [p for p in places if p in PROVINCES]
        return [p for p in places if p not in self._named_in(flat, title)]

    def _named_in(self, flat: str, title: str) -> set[str]:
        """The question's place names that ``flat`` or ``title`` gives. A title (or publisher)
        speaks for its passages only when it names no place the question does not."""
        for line in title.splitlines():
            speaker = title_places(to_simplified(line))
            if speaker and all(any(t in q or q in t for q in self.places) for t in speaker):
                flat += "".join(speaker)
        return {p for p in self.places if p in flat}

    def missing_in_section(self, missing: Sequence[str], section: str, title: str = "") -> list[str]:
        """What a sentence lacks, given ``missing`` (what its passage lacks, ``missing_from_each``)
        and ``section`` (its headings and its section up to its paragraph): a place the section
        names is not missing (“上海市……” opens the section, the passage is further on), and
        when the section names none of the question's places, they all are: a passage spanning
        two sections may hold 长春's figure under 威海's heading."""
        named = self._named_in(_flat(section), title)
        kept = [x for x in missing if x not in named]
        if self.places and not named:
            kept += [p for p in self._places_missing_from(_flat(section), title) if p not in kept]
        return kept

    def missing_from_each(self, passages: Sequence[tuple[str, str]]) -> list[list[str]]:
        """``missing_from`` for each retrieved (passage, title), except that a name another
        passage gives is not missing from a passage that gives one of the question's names
        itself: “青岛…占山东的比重” may be answered from a passage on 青岛 when another speaks of 山东.
        A place named only inside a document's name the question quotes (中国 of “《2020中国创新创业
        城市生态指数研究报告》里深圳排第几”) is not one the passage gives: it quotes the name."""
        missing = [self.missing_from(text, title) for text, title in passages]
        names = set(self.places) | set(self.latin_names)
        own = (names & set(place_names(without_titles(self.simplified))) | set(self.latin_names)) or names
        nowhere = set.intersection(*map(set, missing)) if missing else set()
        return [
            lacking if own <= set(lacking) else [x for x in lacking if x not in names or x in nowhere]
            for lacking in missing
        ]


@lru_cache(maxsize=2048)
def _flat(text: str) -> str:
    """``text`` simplified and without spaces or quote marks, as the checks compare it; cached,
    since the same passages and sections are checked question after question."""
    return to_simplified(normalize_for_match(text))


def _states(text: str, number: str) -> bool:
    """Whether ``text`` gives ``number`` as a whole number, with its unit (“3月” is not in “13月”
    or “3日”), in digits or in Chinese numerals (``_states_in_words``); a quoted name anywhere
    in the text."""
    if number.startswith("“"):  # the briefing may put a 的 inside it (“科技经济三要素”: 科技经济的三要素)
        return bool(quoted_name_pattern(number).search(text))
    if number[:1].isascii() and number[:1].isalpha():  # a model: A100 is not in H100
        return bool(re.search(rf"(?<![A-Za-z\d]){re.escape(number)}(?![A-Za-z\d])", text, re.I))
    if number[:1].isdigit():
        return bool(re.search(rf"(?<![\d.]){re.escape(number)}", text)) or _states_in_words(text, number)
    if number.startswith("第") and number[1:2].isdigit() and _states_in_words(text, number):
        return True
    ordinal = re.fullmatch(r"第(.+)条", number)
    if ordinal:  # “第一条建议” may be the passage's “一是…”, “（一）…” or “一、…”
        forms = (number, f"{ordinal[1]}是", f"（{ordinal[1]}）", f"{ordinal[1]}、")
        return any(re.search(rf"(?<![{CHINESE_DIGITS}\d]){re.escape(form)}", text) for form in forms)
    return number in text


def _states_in_words(text: str, number: str) -> bool:
    """Whether ``text`` writes a whole number under 1000 in Chinese numerals, with its unit:
    “3月” as “三月”, “2名” as “两名”, “第3期” as “第三期”, “200家” as “两百家”. A number with no
    unit must be 10 or more and not part of a larger numeral (“20” is not in “二十四”), except
    in the name of a five-year plan: “14” (of “14th Five-Year Plan”) in “十四五”."""
    match = re.fullmatch(r"(第?)(\d{1,3})(\D*)", number)
    if not match:
        return False
    ordinal, value, unit = match[1], int(match[2]), match[3]
    if not unit and not ordinal and value < 10:
        return False  # 一, 三, 五 alone are in every other word
    written = int_to_chinese(value)
    forms = {written, re.sub(r"^二(?=[百千])", "两", written)} | (
        {"两"} if value == 2 and not ordinal else set()
    )
    after = re.escape(unit) if unit else f"(?![{CHINESE_DIGITS}])|五(?=”?(?:规划|时期|期间))"
    return any(re.search(rf"(?<![{CHINESE_DIGITS}]){ordinal}{form}(?:{after})", text) for form in forms)
