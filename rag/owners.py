"""The place a question asks a thing of: a sentence that gives the same thing of another place
answers for that one. Asked for 张江集成电路产业销售收入, “上海市集成电路产业实现销售收入2578.85
亿元” is about all of Shanghai.

The owner is the place name just before the thing (with or without 的, the same in both; the
thing at least two words and four characters), or the place an organisation's name opens with
(英国政府投入: 英国's 政府投入); a determiner between them (深圳整个集成电路产业) changes nothing.
The sentence is kept when it names the asked place anywhere, when its place is also in the
question (“张江和上海市……分别是多少”), when one name abbreviates the other (深圳/深圳市), or when
its owner is the text's own place or all of them (本市, 全省, 该区, 各地); the whole country
(全国, 我国, with or without 的, not after another modifier's 的) owns the figure a province, a
city or another country is asked for (全国高铁营业里程 is not 广东's). A sentence that
also gives the thing without an owner or as the text's own (“全省软件业务收入1.3万亿元，其中南京
……7000亿元，苏州……”) is kept: the rest is a breakdown of the asked total. Owners that are not
places (服务 vs 工业机器人, 科研院所 vs 高校) were tried and dropped: synonyms and paraphrases
(芯片/集成电路, 企业/主体) refused answerable questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.lexicon import tagged
from rag.names import leading_places, place_names
from rag.text import normalize_for_match, to_simplified

# A thing shorter than this, or of one word, is too common to tell one place's from another's.
MIN_THING_CHARACTERS = 4
_CHINESE = re.compile(r"[\u3400-\u9fff]{2,}")
_REFERS_TO_ITS_OWN = re.compile(r"^[本我全该各此其每这那]")
# Words between the owner and its thing that do not change what is owned (深圳整个集成电路产业).
_DETERMINERS = frozenset("整个 全部 所有 总体 整体".split())
# The whole country owns what follows it with or without 的 (全国高铁营业里程): never a province's,
# a city's or another country's, though the text may call it its own.
_NATIONAL = re.compile(r"(?<!的)(全国|我国)的?$")
_THE_COUNTRY = frozenset(("全国", "我国", "中国", "国家"))
# How far before the thing the sentence's owner is looked for (characters).
_OWNER_WINDOW = 12


@dataclass(frozen=True)
class Owned:
    owner: str
    joint: str  # "的" or ""
    thing: tuple[str, ...]  # the words after the owner, to the end of the question

    def __str__(self) -> str:
        return self.owner + self.joint + "".join(self.thing)


def owned_things(question: str) -> tuple[Owned, ...]:
    """Each place name of ``question`` (simplified) with what follows it."""
    words = [(word, flag) for word, flag in tagged(question) if word.strip()]
    found = []
    for start in range(1, len(words)):
        if words[start][0] == "的":
            continue
        at, joint = start - 1, ""
        if words[at][0] == "的" and at > 0:
            at, joint = at - 1, "的"
        owner, flag = words[at]
        thing = [word for word, _ in words[start:]]
        while thing and thing[0] in _DETERMINERS:
            thing.pop(0)
        place, rest = _split_place(owner) if flag == "nt" and not joint else ("", "")
        if place:  # 英国政府投入: 英国's 政府投入
            found.append(Owned(place, "", (rest, *thing)))
        elif _is_owner(owner, flag):
            found.append(Owned(owner, joint, tuple(thing)))
    return tuple(found)


def _split_place(organisation: str) -> tuple[str, str]:
    """An organisation named after its place, split there (英国政府 → 英国, 政府), or two empty
    strings."""
    for place in leading_places(organisation):
        rest = organisation[len(place) :]
        if len(rest) >= 2 and not _place_forms(rest):
            return place, rest
    return "", ""


def other_owner(
    question: str, asked: tuple[Owned, ...], sentence: str, figure: bool
) -> tuple[str, str] | None:
    """The asked thing of another place in ``sentence``, and the asked one (“上海市集成电路产业”,
    “张江集成电路产业”), or None. Every time the sentence names the thing, another place must own
    it: not the asked one, not one of a series (“上海、江苏、浙江、安徽集成电路产业”), not the
    text's own (全省); the whole country only when the question asks a ``figure``."""
    flat = to_simplified(normalize_for_match(sentence))
    for owned in asked:
        if any(name in flat for name in (owned.owner, *_place_forms(owned.owner))):
            continue
        thing = _shared_thing(owned.thing, flat)
        if not thing:
            continue
        owners = [
            _owner_before(flat[: match.start()], owned.joint, figure)
            for match in re.finditer(re.escape(thing), flat)
        ]
        foreign = [
            o
            for o in owners
            if o
            and o not in question
            and not _abbreviates(o, owned.owner)
            and not (o in _THE_COUNTRY and owned.owner in _THE_COUNTRY)
        ]
        if foreign and len(foreign) == len(owners):
            return foreign[0] + owned.joint + thing, owned.owner + owned.joint + thing
    return None


def _owner_before(before: str, joint: str, figure: bool) -> str | None:
    """The place that owns what follows ``before`` (with ``joint`` between), if one does alone;
    the whole country only of a ``figure`` (of 全国科技创新中心, 全国 says what kind of centre)."""
    national = _NATIONAL.search(before) if figure else None
    if national:
        return national[1]
    if joint:
        if not before.endswith(joint):
            return None
        before = before[: -len(joint)]
    elif before.endswith("的"):
        return None
    owner = _last_owner(before[-_OWNER_WINDOW:])
    if owner is None or before[: -len(owner)].endswith(("、", "和", "与", "及")):
        return None  # one of a series
    return owner


def _shared_thing(thing: tuple[str, ...], flat: str) -> str:
    """The longest run of ``thing``'s first words that ``flat`` contains, if long enough."""
    shared = ""
    for end in range(1, len(thing) + 1):
        run = "".join(thing[:end])
        if run not in flat:
            break
        shared = run if end >= 2 else ""
    return shared if len(shared) >= MIN_THING_CHARACTERS else ""


def _last_owner(text: str) -> str | None:
    words = [(word, flag) for word, flag in tagged(text) if word.strip()]
    if not words:
        return None
    word, flag = words[-1]
    return word if _is_owner(word, flag) else None


def _is_owner(word: str, flag: str) -> bool:
    return (
        flag.startswith("n")
        and _CHINESE.fullmatch(word) is not None
        and not _REFERS_TO_ITS_OWN.match(word)
        and bool(_place_forms(word))
    )


@lru_cache(maxsize=8192)
def _place_forms(word: str) -> tuple[str, ...]:
    """The place names in ``word`` (深圳市 → 深圳), cached: the same words come back in question
    after question and sentence after sentence."""
    return place_names(word)


def _abbreviates(one: str, other: str) -> bool:
    """Whether either is the other with characters left out (深圳/深圳市, 中科院/中国科学院)."""
    short, long = sorted((one, other), key=len)
    rest = iter(long)
    return all(character in rest for character in short)
