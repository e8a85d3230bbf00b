"""The names a question quotes (“星火燎原”, “科技贷”): a passage that does not give the name is
about something else, while a quoted figure of speech (“押错宝”) is the asker's wording."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.lexicon import is_verb, jieba, tagged

# A name the question quotes (“星火燎原”): a passage that does not give it is about something else.
# (A title in 《》 is not one: briefings refer back to it as 《意见》, 《方案》.)
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,30})[”\"」』]")
# Verbs that ask what a quoted name means (“什么是“揭榜挂帅”？”), not verbs it is the object of.
_NAMING_VERBS = frozenset("是 叫 叫做 称为 称作 名为 指".split())


def quoted_names(text: str) -> list[str]:
    """The names ``text`` quotes, without its figures of speech: a quoted phrase that opens with
    a verb, an adjective or an idiom (jieba ``v``/``a``/``d``/``i``/``l``), is the object of the
    question's own verb (not of 是/叫/称为, which ask what a name means) and ends its clause
    (“如何避免“押错宝”？”) is the asker's wording, which the briefing need not share. A quoted
    phrase opening with a noun (“科技贷”), followed by a noun (“星火燎原”专项行动) or standing as a
    noun (“珞珈一号”呢) is a name."""
    quoted = list(_QUOTED.finditer(text))
    if not quoted:
        return []
    ends, position = [], 0  # each word of ``text`` with the offset it ends at, tagged once
    for word, flag in tagged(text):
        position += len(word)
        ends.append((position, word, flag))
    names = []
    for match in quoted:
        before = [(word, flag) for end, word, flag in ends if end <= match.start() and word.strip()][-1:]
        first = [flag for _, flag in tagged(match[1]) if flag != "x"][:1]
        figurative = (
            bool(before)
            and is_verb(before[0][1])
            and before[0][0] not in _NAMING_VERBS
            and (match.end() == len(text) or text[match.end()] in "？?，,。！!；;")
            and bool(first)
            and first[0][:1] in "vadil"
            and first[0] != "vn"
        )
        if not figurative:
            names.append(match[1])
    return names


@lru_cache(maxsize=256)
def quoted_name_pattern(name: str) -> re.Pattern[str]:
    """``name``'s words with an optional 的/之 between each two."""
    words = [word for word in jieba.cut(name.strip("“”")) if word.strip()]
    return re.compile("(?:的|之)?".join(map(re.escape, words)))
