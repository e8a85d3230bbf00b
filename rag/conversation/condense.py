"""The offline rewrite of a follow-up question into a standalone one.

Three kinds of follow-up, told apart by the structure of the question (see ``phrases``):

- **ellipsis** (“那长春高新区呢？”, “省级的呢？”, “集成电路产业呢？”): each phrase of the fragment
  replaces the phrase of the previous question that plays the same role: the same kind
  (place, time, level, ordinal, person, name), preferring the same suffix (高新区 ↔ 高新区), or
  for a topic the noun phrase with the same head word (产业 ↔ 物联网产业); the predicate stays.
  A place, year or level the previous question lacks is added to it; “还有呢？” repeats it.
  A name followed by 这个/该 + noun (“美国的这个比例是多少？”) asks the previous question of that name.
- **reference** (“该计划由谁牵头？”, “它的营收…”, “其中…”): the pronoun becomes the main entity of
  the previous question: the thing it asked about (“设立了什么基金” → “…设立的基金”), its subject
  (“X是什么”), or its first name; the previous answer's when the question had none.
- **elided subject** (“由谁牵头？”): the main entity is put in front.

The previous questions are themselves rewritten first, so a chain of follow-ups keeps its topic.
A question with its own subject and predicate stands alone and is left unchanged.
``question_parts`` treats the later questions of one that asks several (“……由谁出资？投入规模
是怎样的？”) as follow-ups of the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.attribute import is_specific_word
from rag.citations import REFUSAL
from rag.conversation.ellipsis import content, fill
from rag.conversation.phrases import (
    ANCHORS,
    CONNECTIVES,
    INTERROGATIVES,
    PERSONAL,
    PRONOUNS,
    PUNCTUATION,
    Parsed,
    Token,
    is_measured,
    tidy,
)
from rag.conversation.referents import (
    another,
    asked_phrase,
    main_entity,
    named,
    noun_pointed_at,
    people_named,
)
from rag.conversation.turns import Turn
from rag.lexicon import idf_table, tagged
from rag.names import PROPER_NOUN, place_names
from rag.sentences import TERMINAL, content_length, split_sentences, strip_markers
from rag.types import TokenUsage

_QUESTION_PART = re.compile(r"[^？?]+[？?]?")
_BARE_PART_CHARS = 12  # a later question this short that the rewrite leaves alone has no subject

_PLURAL = frozenset({"它们", "这些", "那些", "上述", "他们", "她们"})
_DETERMINERS = frozenset({"该", "此"})
_DEMONSTRATIVES = frozenset({"这个", "这一", "这项", "这些", "此项", "该项"})
_ELIDED_MAX_CHARS = 12
# Words that point back to the time of what was just discussed; a question opening with one
# asks about that, whatever its length.
_BACK_IN_TIME = frozenset({"当时", "那时", "那时候", "届时", "此时", "彼时"})
# The words of a request to say more about an item (“第二点展开说说”, “请详细介绍一下第三条”).
_ASKS_FOR_MORE = frozenset(
    "请 再 能 能否 可以 麻烦 展开 说 说说 讲 讲讲 谈谈 聊聊 介绍 解释 阐述 细说 一下 具体 详细 详细分析 是 什么 的 呢 吗 吧 下".split()
)
_SAYS = frozenset("说 讲 写".split())
# What may stand around an item's ordinal in a question that only asks for the item.
_ITEM_REQUEST = _ASKS_FOR_MORE | _SAYS | CONNECTIVES
_COMPARED_WITH = frozenset({"和", "与", "跟", "同"})
_COMPARED_TO = frozenset({"比", "较", "比起", "相较于", "相比于"})
# “……有多少家X？”: what is counted (a noun phrase after the measure word), and where
# (“无锡高新区有多少家物联网企业？”); in the question's last clause, 共有 read as 有.
_COUNTED = re.compile(
    r"([^，,。；;？?]*?)(?:总共|一共|共)?有(?:多少|几)[个家名位项件所座台种类批条只]?"
    r"((?![个家名位项件所座台种类批条只])[^，,。；;？?]{2,})[？?]?$"
)


@dataclass(frozen=True)
class Rewrite:
    """A question made standalone with the conversation.

    ``query`` is what retrieval and answering should see (the question itself when it stands
    alone); ``unresolved`` is a Chinese reason when a follow-up's referent could not be found;
    ``usage`` is what an LLM spent rewriting it (None: no model was asked).
    """

    query: str
    unresolved: str | None = None
    usage: TokenUsage | None = None


@dataclass(frozen=True)
class _Context:
    previous: Parsed | None  # the most recent user question with something to refer to, rewritten
    answer: Parsed | None  # the first sentence of the most recent answer
    asked: bool  # whether there was any earlier user question


def condense_offline(question: str, history: Sequence[Turn]) -> Rewrite:
    """``question`` rewritten into a standalone question with the previous user turns (most
    recent first) and, for a pronoun, the previous answer; see the module docstring."""
    question = question.strip()
    return _rewrite(question, _context(history))


def rewrite_follow_up(question: str, history: Sequence[Turn]) -> str:
    """The standalone question of ``condense_offline`` (the question itself when unresolved)."""
    return condense_offline(question, history).query


def _context(history: Sequence[Turn]) -> _Context:
    previous: Parsed | None = None
    answer: Parsed | None = None
    asked = False
    for turn in history:
        text = turn.content.strip()
        if not text:
            continue
        if turn.role == "assistant":
            if text == REFUSAL:
                continue  # a refusal names nothing to refer to
            sentences = split_sentences(strip_markers(text))
            answer = Parsed(sentences[0].rstrip(TERMINAL)) if sentences else None
            answer = answer if answer is not None and _has_content(answer) else None
            continue
        rewritten = _rewrite(text, _Context(previous, answer, asked))
        asked = True
        parsed = Parsed(rewritten.query)
        if _has_content(parsed):
            previous, answer = parsed, None
    return _Context(previous, answer, asked)


def _has_content(parsed: Parsed) -> bool:
    """Whether a question names something a follow-up can refer to (“你好”, “谢谢” do not)."""
    predicate = any(t.predicate for t in parsed.tokens)
    return any(p.kind != "person" or predicate for p in parsed.phrases if p.kind in ANCHORS | {"topic"})


def _rewrite(question: str, context: _Context) -> Rewrite:
    parsed = Parsed(question)
    body = _body_start(parsed)
    pronoun = _pronoun(parsed, body)
    fragment = _is_fragment(parsed, body)
    if context.previous is None and (context.answer is None or fragment):
        if pronoun is None and not fragment:
            return Rewrite(question)
        if context.asked:
            reason = f"追问“{question}”指代不明：此前的对话没有可指代的对象，请把问题说完整"
        else:
            reason = f"问题“{question}”指代不明：没有此前的对话可以参照，请把问题说完整"
        return Rewrite(question, reason)
    if pronoun is not None:
        referent = _referent(parsed, pronoun, context)
        if referent is None:
            reason = f"追问“{question}”指代不明：此前的对话没有可指代的对象，请把问题说完整"
            return Rewrite(question, reason)
        start, end, text = referent
        resolved = Parsed(tidy(parsed.text[:start] + text + parsed.text[end:]))
        if context.previous is not None and _is_fragment(resolved, _body_start(resolved)):
            return Rewrite(fill(resolved, _body_start(resolved), context.previous))
        return Rewrite(resolved.text)
    if context.previous is None:
        return Rewrite(question)
    as_fragment = (parsed, body) if fragment else _item_fragment(parsed)
    if as_fragment is not None:
        return Rewrite(fill(*as_fragment, context.previous))
    demonstrative = _demonstrative_after_name(parsed)
    if demonstrative is not None:  # “美国的这个比例是多少？”: the previous question, about 美国
        at = parsed.tokens[demonstrative].start
        names = "".join(p.text for p in parsed.phrases if p.kind in ANCHORS and p.end <= at)
        return Rewrite(fill(Parsed(names + "呢？"), 0, context.previous))
    subject = main_entity(context.previous)
    tokens = parsed.tokens[body:]
    if tokens and _compares_with(tokens):  # the comparison is of what was counted, where it was
        subject = _counted(context.previous.text) or subject
    if subject and _elides_subject(parsed, body):
        return Rewrite(tidy(subject + parsed.text[parsed.tokens[body].start :]))
    return Rewrite(question)


def _body_start(parsed: Parsed) -> int:
    """The index of the first token after the opening connectives (那、还有、另外…)."""
    i = 0
    while i < len(parsed.tokens) and (parsed.tokens[i].text in CONNECTIVES or parsed.tokens[i].tag == "x"):
        i += 1
    return i


def _item_fragment(parsed: Parsed) -> tuple[Parsed, int] | None:
    """A question that names nothing but an item (“第二点展开说说”, “第三条具体是什么？”) as the
    fragment “第二点呢？”, with where its body starts: it asks for that item of what the previous
    question asked."""
    phrases = parsed.phrases
    if len(phrases) != 1 or phrases[0].kind != "ordinal":
        return None
    ordinal = phrases[0]
    outside = [t.text for t in parsed.tokens if t.end <= ordinal.start or t.start >= ordinal.end]
    # “那第一条具体怎么说的？”: a connective, and 怎么 asking what the item says
    said = [
        w
        for w, after in zip(outside, [*outside[1:], ""], strict=True)
        if not (w == "怎么" and after in _SAYS)
    ]
    if any(w not in _ITEM_REQUEST and w not in PUNCTUATION for w in said):
        return None  # “第二点为什么重要？”, “第一批有几家？” ask something of the item
    return Parsed(ordinal.text + "呢？"), 0


def _is_fragment(parsed: Parsed, body: int) -> bool:
    """“X呢？” without a question word, or a connective and no predicate (“那2021年？”)."""
    tokens = parsed.tokens
    words = [t for t in tokens if t.text not in PUNCTUATION]
    if any(t.text in INTERROGATIVES for t in words):
        return False
    if words and words[-1].text == "呢":
        return True
    return body > 0 and not any(t.predicate for t in content(parsed, body))


def _pronoun(parsed: Parsed, body: int) -> int | None:
    """The index of a pronoun that refers back: one before any name the question gives itself."""
    first_anchor = min((p.start for p in parsed.phrases if p.kind in ANCHORS), default=len(parsed.text))
    for i, token in enumerate(parsed.tokens[body:], start=body):
        if token.start >= first_anchor:
            return None
        after = parsed.tokens[i + 1] if i + 1 < len(parsed.tokens) else None
        if token.text in _DETERMINERS and (after is None or not after.nominal):
            continue  # 该 of “该如何申报” is a modal verb; 该/此 point back only before a noun
        if (
            token.text in PRONOUNS
            or is_measured(token.text)
            or (token.tag == "r" and len(token.text) == 2 and token.text[0] in "该此")
        ):
            return i
    return None


def _referent(parsed: Parsed, i: int, context: _Context) -> tuple[int, int, str] | None:
    """The span of the pronoun (with the noun after a demonstrative) and what it stands for."""
    tokens = parsed.tokens
    pronoun = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    sources = [p for p in (context.previous, context.answer) if p is not None]
    if pronoun.text == "其中":
        found = next((r for p in sources if (r := asked_phrase(p) or main_entity(p))), None)
        return (pronoun.start, pronoun.end, found + "中") if found else None
    measured = is_measured(pronoun.text)  # 那家公司: one the conversation named, not any 公司
    people = people_named(sources)
    if pronoun.text in PERSONAL:
        # a person, named or by surname and title (卢教授); 他们 may also be what was asked about;
        # else what the question was about (“组长是谁？” … “他还兼任什么？”), but not one
        # character (华 of “在华转网”)
        found = (
            people[0] if people else next((r for p in sources if len(r := main_entity(p) or "") >= 2), None)
        )
        return (pronoun.start, pronoun.end, found) if found else None
    if measured and pronoun.text[-1] in "位名" and people:  # 这位专家, 那名院士: the person named
        return pronoun.start, after.end if after is not None and after.nominal else pronoun.end, people[0]
    noun, end = noun_pointed_at(parsed, i, sources)
    # the turn that names the noun first (“……天使母基金” in the answer), else the question
    sources.sort(key=lambda source: bool(noun) and noun not in source.text)
    if i > 0 and tokens[i - 1].text in ("另外", "另"):  # “另外那个园区”: not the one just asked about
        other = another(noun, sources, context.previous)
        return (pronoun.start, end, other) if other else None
    for source in sources:
        if measured and noun not in source.text:
            continue  # the turn names no such thing
        found = named(source, noun, pronoun.text in _PLURAL)
        if found and _names_something(found):
            if pronoun.text == "其" and after is not None and after.nominal:
                found += "的"
            return pronoun.start, end, found
    if measured:  # “这份文件” of a 《提案》, “这批企业” of 瞪羚企业: named in other words; asked as it is
        return pronoun.start, pronoun.end, pronoun.text
    return None


def _names_something(referent: str) -> bool:
    """Whether ``referent`` can stand for what a pronoun points back to: it has a name (quoted,
    a place, a person, an organisation, an acronym) or a specific noun (``rag.attribute.is_specific_word``),
    not only generic words (“帮我查点资料。”“请问您想了解哪方面内容？” … “它的总投资是多少？”:
    neither 资料 nor 方面内容 is a thing with an investment)."""
    if "“" in referent or place_names(referent):
        return True  # a quoted name (“卓粤”计划), a place (not 东西) or a person (张广军; not 谢谢)
    if any(
        p.kind in ANCHORS and p.words[0].tag in PROPER_NOUN and len(p.words) > 1
        for p in Parsed(referent).phrases
    ):
        return True  # a name heads a kind of thing: 海尔 + 生物医疗股份有限公司 (not 国家高新区, 谢谢)
    for word, flag in tagged(referent):
        if len(word.strip()) < 2:
            continue
        if flag in ("nt", "nz"):
            return True  # an organisation
        if word.isascii() and word.isupper() and len(word) >= 3:
            return True  # an acronym: UNCTAD, FDI (not OK, AI)
        # a dictionary noun of some weight in the general corpus (not 资料), not a set phrase
        # the dictionary lists with no weight of its own (问个问题)
        if flag in ("n", "vn") and word in idf_table()[0] and is_specific_word(word):
            return True
    return False


def _counted(question: str) -> str | None:
    """What “……有多少家X？” counts, with where it is counted: “无锡高新区物联网企业”."""
    match = _COUNTED.search(question.strip())
    return tidy(match[1] + match[2]) if match else None


def _compares_with(tokens: Sequence[Token]) -> bool:
    """Whether ``tokens`` open with a comparison whose subject is left out: “和/与/跟/同 X 相比”
    or “比/较/比起/相较于 X”, then straight on to the predicate (“……相比增长了多少？”; not “与传统
    产业相比，新兴产业有什么特点？”, which names its subject after the comma)."""
    if any(t.text in "，,；;" for t in tokens):
        return False
    first = tokens[0].text
    if first in _COMPARED_WITH:
        return any(t.text in ("相比", "相较", "比较") for t in tokens[1:])
    return first in _COMPARED_TO


def _demonstrative_after_name(parsed: Parsed) -> int | None:
    """The index of “这个/该/此 + noun” after a name the question gives (“美国的这个比例…”): it
    asks the previous question's thing of that name. None when there is none."""
    first = next((p for p in parsed.phrases if p.kind in ANCHORS), None)
    if first is None:
        return None
    tokens = parsed.tokens
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        points = token.text in _DEMONSTRATIVES or token.text in _DETERMINERS
        if token.start >= first.end and points and after is not None and after.nominal:
            return i
    return None


def _elides_subject(parsed: Parsed, body: int) -> bool:
    """A short question that opens with its predicate (“由谁牵头？”, “有哪些支持政策？”), one
    that opens with what its subject is compared with (“和2017年底相比增长了多少？”), or one
    that opens by pointing back in time (“当时请了谁……？”)."""
    tokens = parsed.tokens[body:]
    if tokens and _compares_with(tokens):
        return True
    if not tokens or any(p.kind in ANCHORS for p in parsed.phrases):
        return False
    first = tokens[0]
    if first.text in _BACK_IN_TIME:
        return True  # “当时请了谁来推介贷款产品？”: at the time of what was just asked about
    if len(parsed.text) > _ELIDED_MAX_CHARS:
        return False
    return (first.predicate and first.text not in INTERROGATIVES) or first.tag in ("p", "d")


def question_parts(question: str) -> list[str]:
    """The questions a question asks, each standalone: “……由谁出资？投入规模和期限是怎样的？”
    asks two, and the second takes the subject of the first, as a follow-up would. A question
    asking one thing is itself."""
    parts = [part.strip() for part in _QUESTION_PART.findall(question) if content_length(part) >= 2]
    if len(parts) < 2:
        return [question]
    later = [condense_offline(part, [Turn("user", parts[0])]).query for part in parts[1:]]
    if any(
        (rewritten == part and len(part) <= _BARE_PART_CHARS) or _item_fragment(Parsed(part)) is not None
        for part, rewritten in zip(parts[1:], later, strict=True)
    ):
        # “……由谁组织实施？内容是什么？”: the second cannot stand alone; “……提了几点要求？第三点是
        # 什么？” narrows the first down to one item
        return [question]
    return [parts[0], *later]
