"""The attribute a question asks about: “……的售价是多少？” asks for a 售价, and a passage that never
says 售价 does not give one, however close it is otherwise.

A near-miss question keeps the topic of a passage and changes what is asked of it: “利润总额目标”
where the briefing gives 营业收入, “面额上限” of a voucher the regulation only introduces, “学历和职称
条件” of an office whose duties it lists. The passage then matches most of the question's words and
the relevance signals cannot tell it apart from an answer. What is asked is grammatical: the noun
phrase that is the subject of a copula before the question word (“X是多少”, “X有什么要求”, “X达到
多少”, “X是怎么规定的”, “X是谁”), or of a verb of change (“X同比增长多少”: 产值's growth does not answer for
增加值's). Its specific words must occur in the passage; of attributes asked together
(“学历和职称条件”) one is enough, and none is checked when one of them is generic only.

Only specific words count: a generic noun (目标、比例、条件、要求、标准、措施、特点) says what kind of
answer is wanted, not what it is about, and a passage answers it in other words (“比例” by “30%”).
A word is specific when its inverse document frequency in jieba's general Chinese corpus is at
least ``SPECIFIC_IDF`` (generic nouns lie below 6.5, 售价 7.8, 利润总额 8.6, 职称 9.9). Place and
person names are left out (``rag.question`` checks them, with 本市/我省), and so are Latin-letter
abbreviations (“AI”, which a passage writes 人工智能), and words jieba's dictionary lacks (its
guesses join characters across word boundaries: “2022年物联网” → 年物). A compound the passage
splits counts as present when a part of it is there (总产值 by 产值). Measured on all eleven eval
sets: 6.5 and 7.0 decide alike, 7.5 lets two near misses through (README “回答”).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.lexicon import idf_table, jieba, posseg, tagged
from rag.text import STOPWORDS, to_simplified

SPECIFIC_IDF = 7.0
_COPULAS = frozenset("是 有 为 达 达到 约为".split())
# Verbs of change that ask a figure of their subject as a copula does (“工业增加值同比增长多少”).
_CHANGES = frozenset("增长 增加 提高 提升 上升 下降 下滑 减少 降低".split())
# Adverbs between the subject, the copula and the question word (“一共有多少”, “有什么具体要求”).
_ADVERBS = frozenset(
    "约 大约 大概 一共 共 总共 具体 主要 分别 各 都 又 还 最多 至少 现在 目前 已经 究竟 到底 同比 环比 了".split()
)
# “全市/本省/我国”: the scope of a figure, which a passage gives as 我市 or not at all.
_SCOPE = re.compile(r"[全本我该各][市省国区县镇]")
_CONJUNCTIONS = frozenset("和 与 及 以及 、 或 或者".split())
_QUESTION_WORDS = frozenset(
    "多少 什么 怎么 怎样 怎么样 如何 多大 多高 多长 多久 啥 谁 何 何时 何种 何地 何处 为何 几 几成".split()
)


def is_question_word(word: str) -> bool:
    """A question word: 哪个/哪些…, 几个/几项…, 多少亿元… (not the surname 何 of 何立峰, nor 几乎)."""
    return word in _QUESTION_WORDS or word.startswith(("哪", "多少")) or (word[:1] == "几" and word != "几乎")


@lru_cache(maxsize=1024)
def asked_attribute(question: str) -> tuple[tuple[str, ...], ...]:
    """The specific words of the noun phrase the question asks about, one tuple per conjunct
    (“联影医疗的uAngio 960介入手术系统市场售价是多少？” → ((手术, 售价),); “学历和职称条件有什么
    要求？” → ((学历,), (职称,))); empty when it asks no attribute through a copula."""
    tokens = [(word, flag) for word, flag in tagged(to_simplified(question)) if word.strip()]
    asked = next((i for i, (word, _) in enumerate(tokens) if is_question_word(word)), None)
    if asked is None:
        return ()
    i = asked - 1
    while i >= 0 and tokens[i][0] in _ADVERBS:
        i -= 1
    if i < 0 or (tokens[i][0] not in _COPULAS and tokens[i][0] not in _CHANGES):
        return ()
    i -= 1
    while i >= 0 and tokens[i][0] in _ADVERBS:
        i -= 1
    conjuncts: list[list[str]] = [[]]
    while i >= 0:
        word, flag = tokens[i]
        if word in _CONJUNCTIONS and conjuncts[-1]:
            conjuncts.append([])
            i -= 1
            continue
        # The word before the copula is its subject whatever jieba tags it (“面额上限/v是”).
        nominal = flag.startswith(("n", "eng", "j", "vn")) or (
            not conjuncts[-1] and flag.startswith(("v", "b"))
        )
        if not nominal or flag.startswith(("ns", "nr")) or word in _ADVERBS:
            break
        conjuncts[-1].append(word)
        i -= 1
    return tuple(
        tuple(word for word in reversed(conjunct) if is_specific_word(word))
        for conjunct in reversed(conjuncts)
        if conjunct
    )


def unnamed_attribute(question: str, text: str) -> list[str]:
    """The asked attribute's words that ``text`` (simplified, without spaces) does not name,
    when it names none of the conjuncts whole. A conjunct of generic words only (“奖励比例和上限
    是多少？”: 比例) may be answered in other words, so the question is then not checked."""
    conjuncts = asked_attribute(question)
    if not conjuncts or not all(conjuncts):
        return []
    if any(all(says(text, word) for word in conjunct) for conjunct in conjuncts):
        return []
    return [word for conjunct in conjuncts for word in conjunct if not says(text, word)]


def is_specific(word: str) -> bool:
    """Whether ``word`` names something in particular rather than a kind of thing (see the
    module docstring): its IDF in jieba's general corpus is at least ``SPECIFIC_IDF``."""
    idf, median = idf_table()
    return word not in STOPWORDS and idf.get(word, median) >= SPECIFIC_IDF


def is_specific_word(word: str) -> bool:
    """A specific word of two characters or more from jieba's dictionary, not Latin letters
    (“AI” a passage writes 人工智能) nor a word jieba guessed across a boundary (“2022年物联网”
    → 年物)."""
    return (
        len(word) >= 2
        and not word.isascii()
        and not _SCOPE.fullmatch(word)
        and word in posseg.dt.word_tag_tab
        and is_specific(word)
    )


def says(text: str, word: str) -> bool:
    """Whether ``text`` (simplified, without spaces) has ``word`` or, for a compound of three or
    more characters, one of the words it is made of (jieba's search mode: 总产值 → 产值)."""
    if word in text:
        return True
    return len(word) >= 3 and any(
        len(part) >= 2 and part != word and part in text for part in jieba.cut_for_search(word)
    )
