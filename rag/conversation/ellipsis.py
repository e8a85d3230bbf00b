"""Ellipsis: a fragment (“那长春高新区呢？”) put into the previous question in place of the
phrases that play the same role there."""

from __future__ import annotations

import re

from rag.conversation.phrases import ANCHORS, INTERROGATIVES, PUNCTUATION, Parsed, Phrase, Token, tidy
from rag.conversation.referents import asked, asked_phrase, main_entity
from rag.lexicon import posseg

_PROPER = frozenset({"nz", "nt", "nr", "nrt", "nrfg", "eng"})
# Words that make a fragment a respect in which to ask the same question (“校企融合这块呢？”).
_TOPIC_MARKERS = frozenset({"方面", "这块", "这一块", "那块", "这方面", "层面"})
_QUANTITY = re.compile(r"多少|多大|多高|多长|多久|(?<!哪)几[个家项年倍]|比例|比重|占比")  # 哪几个 asks which


def content(parsed: Parsed, body: int) -> list[Token]:
    """The tokens after the connectives, without the closing 的/呢 and punctuation."""
    tokens = parsed.tokens[body:]
    while tokens and (tokens[-1].text in ("的", "呢", "吗", "啊") or tokens[-1].text in PUNCTUATION):
        tokens = tokens[:-1]
    return tokens


def fill(fragment: Parsed, body: int, previous: Parsed) -> str:
    """The previous question with the fragment's phrases in place of their counterparts."""
    words = content(fragment, body)
    if not words:
        return previous.text
    if len(words) > 1 and words[-1].text in _TOPIC_MARKERS:
        start, end = words[0].start, words[-2].end
        # “科研人员自主权方面呢？”; but “深圳方面呢？” is 深圳's side: the place replaces the place
        if not any(p.kind in ANCHORS and start <= p.start and p.end <= end for p in fragment.phrases):
            return _in_scope(fragment.text[start:end], previous)
    return _replaced(fragment, words, previous)


def _replaced(fragment: Parsed, words: list[Token], previous: Parsed) -> str:
    """The previous question with the phrases of ``words`` (a fragment's content) in place of
    their counterparts, or the fragment's topic asked of the previous subject."""
    lo, hi = words[0].start, words[-1].end
    phrases = _cover([p for p in fragment.phrases if p.start >= lo and p.end <= hi], fragment, lo, hi)
    if not phrases:  # words jieba does not tag as nouns (增速): one topic, its last word the head
        if all(t.text in INTERROGATIVES or t.tag in ("d", "c", "v") and len(t.text) == 1 for t in words):
            return previous.text
        phrases = [Phrase("topic", lo, hi, fragment.text[lo:hi], words[-1].text, tuple(words))]
    matched = _assign(phrases, previous)
    edits: list[tuple[int, int, str]] = []
    for n, phrase in enumerate(phrases):
        if n in matched:
            start, end, first, last = matched[n]
            edits.append((start, end, fragment.text[phrases[first].start : phrases[last].end]))
            continue
        if any(first <= n <= last for *_, first, last in matched.values()):
            continue  # replaced together with its neighbour: 合肥的 + 国家实验室
        own = any(p.kind in ANCHORS for p in phrases)
        wanted = asked(previous)
        if (
            phrase.kind == "topic"
            and not own
            and wanted is not None
            and all(wanted.noun.start != e[0] for e in edits)
        ):
            edits.append(
                (wanted.noun.start, wanted.noun.end, phrase.text)
            )  # another thing asked for: “那财政补贴呢？”
            continue
        anchor = next((p for p in previous.phrases if p.kind in ANCHORS), None)
        if phrase.kind == "topic" and anchor is not None and all(w.tag in _PROPER for w in phrase.words):
            edits.append((anchor.start, anchor.end, phrase.text))  # a name jieba cannot place: “腾讯呢？”
            continue
        if phrase.kind == "topic":  # an attribute of the previous subject: “年利率呢？”
            subject = "" if own else (main_entity(previous) or "")
            ask = "是多少" if _QUANTITY.search(previous.text) else "是什么"
            stem = fragment.text[lo:hi]
            return tidy(
                f"{subject}的{stem}{ask}？" if subject and not stem.startswith(subject) else f"{stem}{ask}？"
            )
        if phrase.kind == "ordinal":
            wh = asked_phrase(previous) or previous.text.rstrip(PUNCTUATION)
            return tidy(f"{wh}中的{phrase.text}是什么？")
        edits.append(_insertion(phrase, previous))
    text = previous.text
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return tidy(text)


def _in_scope(topic: str, previous: Parsed) -> str:
    """The previous question asked of ``topic`` (“那校企融合这块呢？”, “科研人员自主权方面呢？”:
    the same question, in that respect): in place of the respect it named (“在基础研究投入上”),
    else ahead of it."""
    topic = topic.removeprefix("在")
    tokens = previous.tokens
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].text != "在" or tokens[i].tag != "p":
            continue
        for end in tokens[i + 1 :]:
            if end.text in PUNCTUATION:
                break
            if end.text in ("上", "方面"):
                return tidy(f"{previous.text[: tokens[i].start]}在{topic}方面{previous.text[end.end :]}")
        break
    return tidy(f"在{topic}方面，{previous.text}")


def _assign(phrases: list[Phrase], previous: Parsed) -> dict[int, tuple[int, int, int, int]]:
    """Fragment phrase → (start, end) of the span it replaces in ``previous``, best pairs
    first; plus the fragment phrases it carries along (first, last): the unmatched modifiers
    joined to it by nothing or 的 (“合肥的国家实验室” for 张江实验室)."""
    pairs = [
        (score, n, index, start, end)
        for n, phrase in enumerate(phrases)
        for index, other in enumerate(previous.phrases)
        for score, start, end in [_pair(phrase, other)]
        if score
    ]
    matched: dict[int, tuple[int, int, int, int]] = {}
    taken: set[int] = set()
    for _, n, index, start, end in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if n not in matched and index not in taken:
            matched[n] = (start, end, n, n)
            taken.add(index)
    for n in sorted(matched):
        start, end, first, last = matched[n]
        while first > 0 and first - 1 not in matched and _joined(phrases[first - 1], phrases[first]):
            first -= 1
        matched[n] = (start, end, first, last)
    return matched


def _joined(left: Phrase, right: Phrase) -> bool:
    return (
        right.start - left.end <= 1
        and left.kind not in ("time", "ordinal")
        and right.kind not in ("time", "ordinal")
    )


def _cover(phrases: list[Phrase], fragment: Parsed, lo: int, hi: int) -> list[Phrase]:
    """A fragment's phrases stretched over the words jieba left out of them (瞪 of 瞪羚企业,
    其他 of 其他高新区)."""
    covered: list[Phrase] = []
    for n, phrase in enumerate(phrases):
        if phrase.kind not in ("time", "ordinal", "level"):
            start = phrases[n - 1].end if n else lo
            end = phrases[n + 1].start if n + 1 < len(phrases) else hi
            text = fragment.text[start:end]
            start += len(text) - len(text.lstrip("的 "))
            end -= len(text) - len(text.rstrip("的 "))
            words = tuple(t for t in fragment.tokens if start <= t.start and t.end <= end)
            phrase = Phrase(phrase.kind, start, end, fragment.text[start:end], phrase.head, words)
        covered.append(phrase)
    return covered


def _pair(phrase: Phrase, other: Phrase) -> tuple[int, int, int]:
    """How well ``other`` plays ``phrase``'s role (0: not at all) and the span to replace."""
    score, end = _similarity(phrase, other), other.end
    if phrase.kind == "topic" and other.kind == "topic":
        inner = next((w for w in other.words if _same_head(w.text, phrase.head)), None)
        end = inner.end if inner is not None else other.end
    return score, other.start, end


def _similarity(phrase: Phrase, other: Phrase) -> int:
    """How well ``other`` plays ``phrase``'s role: 0 when it cannot."""
    if phrase.kind == "topic":
        if other.kind != "topic":
            return 0
        words = {w.text for w in other.words}
        if phrase.head in words:
            return 13
        if any(_same_head(word, phrase.head) for word in words):
            return 12
        return 11 if words & {w.text for w in phrase.words if len(w.text) >= 2} else 0
    if phrase.kind == other.kind:
        score = 10
    elif {phrase.kind, other.kind} == {"place", "org"} and phrase.head:
        score = 7
    elif phrase.kind == "name" and other.kind == "topic" and phrase.head in {w.text for w in other.words}:
        score = 5
    else:
        return 0
    if phrase.head and phrase.head == other.head:
        score += 3
    elif phrase.head and other.head and phrase.head[-1] == other.head[-1]:
        score += 1
    return score


def _same_head(word: str, head: str) -> bool:
    """Whether two words end alike in two characters or more (中小企业 ↔ 企业)."""
    return word == head or (len(word) >= 2 and len(head) >= 2 and word[-2:] == head[-2:])


def _insertion(phrase: Phrase, previous: Parsed) -> tuple[int, int, str]:
    """Where a phrase the previous question lacks goes: a year first, a place before its
    subject, a level before the noun it qualifies; a person or name replaces the subject."""
    phrases = previous.phrases
    if phrase.kind in ("person", "name"):
        subject = next((p for p in phrases if p.kind in ANCHORS | {"topic"}), None)
        if subject is not None:
            return subject.start, subject.end, phrase.text
    if phrase.kind in ("place", "org"):
        first = next((p for p in phrases if p.kind != "time"), None)
        at = first.start if first is not None else 0
        return at, at, phrase.text
    if phrase.kind == "level":
        # 国家 of 国家自主创新示范区 is a level too, since jieba knows 国家级 as one.
        level = next((t for t in previous.tokens if posseg.dt.word_tag_tab.get(t.text + "级") == "b"), None)
        if level is not None:
            return level.start, level.end, phrase.text
        noun = next((p for p in phrases if p.kind in ("org", "topic")), None)
        at = noun.start if noun is not None else 0
        return at, at, phrase.text
    return 0, 0, phrase.text
