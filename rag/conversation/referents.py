"""What a pronoun refers to in an earlier question: the thing it asked for (“设立了什么基金”
→ “…设立的基金”), what it asked about (X in “X是什么”), or its first name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.conversation.phrases import ANCHORS, PRONOUNS, PUNCTUATION, Parsed, Phrase, is_measured, tidy

_WH_OBJECT = frozenset("什么 哪个 哪些 哪家 哪几 哪几个 哪几家 哪几项 哪一个 哪类 哪种 哪项".split())
# Nouns for a quality of something or an account of it, not a thing it has (“X有什么亮点？”: 它 is
# X afterwards; after “X有什么基金？” 它 is the fund).
_QUALITIES = frozenset(
    "亮点 特点 特色 优势 劣势 短板 不足 问题 困难 挑战 经验 做法 举措 变化 作用 意义 成效 成绩 进展 贡献 影响".split()
)
_COPULA_WH = frozenset({"什么", "谁", "哪", "哪个", "何", "多少", "多大", "几"})


def named(source: Parsed, noun: str, plural: bool) -> str | None:
    """What “该{noun}” (or a bare pronoun when ``noun`` is empty) refers to in ``source``: the
    thing it asked for, a phrase with that head noun, what it asked about, or its subject."""
    wanted = asked(source)
    if not noun:
        # “X有什么亮点？” … “它现在估值多少？”: 它 is X, which has the 亮点
        if wanted and wanted.owner and not plural:
            return wanted.owner
        return wanted.phrase if wanted and wanted.plural == plural else main_entity(source)
    if wanted and wanted.noun.text.endswith(noun):
        return wanted.phrase
    subject = copula_subject(source)
    if subject and subject.endswith(noun):
        # “……部署的第二项重点工作是什么？” … “这项工作……”; its last clause (not “根据《意见》，”)
        return re.split(r"[，,；;]", subject)[-1]
    for phrase in source.phrases:
        if phrase.kind in ANCHORS | {"topic"} and (phrase.head.endswith(noun) or phrase.text.endswith(noun)):
            return _with_owner(source, phrase)
    if subject:
        return subject
    main = main_entity(source)
    if main and len(noun) >= 2 and _first_anchor(source) in ("place", "person"):
        return f"{main}的{noun}"
    return main


def _first_anchor(parsed: Parsed) -> str | None:
    return next((p.kind for p in parsed.phrases if p.kind in ANCHORS), None)


def _with_owner(parsed: Parsed, phrase: Phrase) -> str:
    """The phrase with the owner that precedes it with 的 (广东的 + “卓粤”计划), and the verbs
    that qualify it (长春高新区的 + 孵化 + 载体), or the quoted name that qualifies it
    (“投早投小” + 政府产业项目探索基金)."""
    before = [p for p in parsed.phrases if p.end <= phrase.start]
    if before and before[-1].kind in ("place", "org", "person", "name"):
        between = [t for t in parsed.tokens if before[-1].end <= t.start and t.end <= phrase.start]
        if all(t.text == "的" or (t.tag == "v" and len(t.text) == 2) for t in between):
            return parsed.text[before[-1].start : phrase.end]
    return phrase.text


def main_entity(parsed: Parsed) -> str | None:
    """What a question is about: X in “X是什么”, else its first name (with the name it owns:
    广东的“卓粤”计划), else its first noun phrase."""
    subject = copula_subject(parsed)
    if subject:
        return subject
    anchors = [p for p in parsed.phrases if p.kind in ANCHORS]
    if anchors:
        first = anchors[0]
        after = [p for p in parsed.phrases if p.start >= first.end]
        if (
            first.kind != "name"
            and after
            and after[0].kind == "name"
            and parsed.text[first.end : after[0].start] == "的"
        ):
            return parsed.text[first.start : after[0].end]
        # A noun right after the name that owns what is asked about (X + 平台 + 的总窗口) is the entity.
        if (
            after
            and after[0].kind == "topic"
            and after[0].start == first.end
            and parsed.text[after[0].end :].startswith("的")
        ):
            return parsed.text[first.start : after[0].end]
        return first.text
    topics = [p for p in parsed.phrases if p.kind == "topic"]
    return topics[0].text if topics else None


@dataclass(frozen=True)
class Asked:
    """What a question asks for: the noun after 什么/哪些, and the question as a noun phrase."""

    noun: Phrase
    phrase: str
    plural: bool
    owner: str = ""  # X of “X有什么亮点”: what has the quality asked for


def asked(parsed: Parsed) -> Asked | None:
    """“兰州高新区与金城资本合作设立了什么基金？” → 基金, “兰州高新区与金城资本合作设立的基金”."""
    tokens = parsed.tokens
    for i, token in enumerate(tokens[:-1]):
        if token.text not in _WH_OBJECT:
            continue
        noun = _asked_noun(parsed, i)
        plural = "些" in token.text or "几" in token.text
        if noun is not None and not any(p.end <= token.start for p in parsed.phrases):
            # The question opens with what it asks for: “哪些城市入选了首批创新型城市？”
            rest = parsed.text[noun.end :].strip(PUNCTUATION)
            if rest:
                return Asked(noun, tidy(f"{rest}的{noun.text}"), plural)
        k = i - 1
        while k >= 0 and tokens[k].tag in ("ul", "uguo", "d"):
            k -= 1
        if noun is None or k < 0 or not tokens[k].tag.startswith("v") or tokens[k].text == "是":
            continue
        verb = tokens[k]
        prefix = parsed.text[: verb.start if verb.text == "有" else verb.end].strip(PUNCTUATION)
        if any(p.end <= len(prefix) for p in parsed.phrases):
            had = verb.text == "有" and noun.text[-2:] in _QUALITIES
            return Asked(noun, tidy(f"{prefix}的{noun.text}"), plural, prefix if had else "")
    return None


def _asked_noun(parsed: Parsed, wh: int) -> Phrase | None:
    """The noun phrase after the question word ``wh``, with the verbs that qualify it (创新 of
    “哪些创新平台”)."""
    tokens = parsed.tokens
    k = wh + 1
    while k < len(tokens) and tokens[k].tag == "v" and len(tokens[k].text) == 2:
        k += 1
    if k >= len(tokens):
        return None
    noun = next((p for p in parsed.phrases if p.start == tokens[k].start and p.kind != "time"), None)
    if noun is None or k == wh + 1:
        return noun
    start = tokens[wh + 1].start
    words = tuple(t for t in tokens if start <= t.start and t.end <= noun.end)
    return Phrase(noun.kind, start, noun.end, parsed.text[start : noun.end], noun.head, words)


def asked_phrase(parsed: Parsed) -> str | None:
    wanted = asked(parsed)
    return wanted.phrase if wanted else None


def copula_subject(parsed: Parsed) -> str | None:
    """X in “X是什么？”, “X是多少？”."""
    tokens = parsed.tokens
    for i, token in enumerate(tokens[:-1]):
        if (
            token.text == "是"
            and tokens[i + 1].text in _COPULA_WH
            and any(p.end <= token.start for p in parsed.phrases)
        ):
            return parsed.text[: token.start].strip(PUNCTUATION)
    return None


def noun_pointed_at(parsed: Parsed, i: int, sources: Sequence[Parsed]) -> tuple[str, int]:
    """The noun a demonstrative at ``i`` points with (该计划's 计划, 这个 + 母基金), and where it ends."""
    tokens = parsed.tokens
    pronoun = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    measured = is_measured(pronoun.text)
    noun = pronoun.text[1:] if pronoun.text not in PRONOUNS and not measured else ""
    end = pronoun.end
    if (
        not noun
        and pronoun.text not in ("它", "它们", "其")
        and after is not None
        and after.nominal
        and after.start == end
    ):
        noun, end = after.text, after.end
        following = tokens[i + 2] if i + 2 < len(tokens) else None
        if len(noun) == 1 and following is not None and following.nominal:
            joined = noun + following.text
            if any(joined in source.text for source in sources):
                noun, end = joined, following.end  # 这个母基金 (of 天使母基金), not 这个区 + 人口
    return noun, end


def people_named(sources: Sequence[Parsed]) -> list[str]:
    """The people the turns name, by name or by surname and title (卢教授)."""
    return [ph.text for p in sources for ph in p.phrases if ph.kind == "person" or ph.words[0].tag == "nr"]


def another(noun: str, sources: Sequence[Parsed], previous: Parsed | None) -> str | None:
    """The first thing named with ``noun`` (威海高新区 for 高新区) that the previous question is
    not about."""
    asked_about = previous.text if previous is not None else ""
    return next(
        (
            ph.text
            for source in sources
            for ph in source.phrases
            if noun and ph.text.endswith(noun) and ph.text != noun and ph.text not in asked_about
        ),
        None,
    )
