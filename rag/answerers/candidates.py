"""The sentences an extractive answer may quote (the enumerations a list answer gathers are in
``rag.answerers.enumerations``).

An answer sentence must read as a sentence on its own, wherever the passage was cut:

- it is a **whole sentence of the document**: a sentence the chunk boundary cut is completed
  from the briefing's cleaned text, and a line wrap inside it is joined (“产业链核\\n心技术” →
  “产业链核心技术”);
- it **ends with 。！？；**, or with a colon that leads into a list (a heading, a table cell or a
  line without an end is not a sentence);
- it has **at least eight characters and a verb** (jieba's ``v*`` tags): “2023年4”, document
  numbers “规〔2023〕4号）” and addresses are not statements;
- it is **not a parenthetical** such as a byline “（供稿：长春高新区）”, nor a **question** the
  briefing asks (“在此背景下，广东发展数控机床产业，技术从哪里来？”): it states nothing;
  except that a line or parenthesis opening with a full date and ending with a verb records what
  was done that day, with or without a full stop (a law's “（2020年7月31日……会议通过）”);
- it is **not a run of table cells**: text broken into several short lines.

"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.chunking import section_blocks
from rag.lexicon import tagged
from rag.sentences import CLOSERS, SENTENCE_END, TERMINAL, content_length, sentence_spans
from rag.text import to_simplified
from rag.types import Chunk, Document

_CJK_BREAK = re.compile(
    r"(?<=[\u3400-\u9fff，。、；：“”（）《》])\n(?=[\u3400-\u9fff，。、；：“”（）《》\d])"
)
MIN_SENTENCE_CHARS = 8
_ASKS = re.compile(r"[？?][”’」』）)]*\s*$")  # a question the briefing asks states nothing
# A line or parenthesis opening with a full date records what was done that day, in or out of
# parentheses, after a field's label or not, and with no full stop: a law's “（2020年7月31日……
# 常务委员会第十九次会议通过）”, a summary's “审议通过时间：2022年2月28日……会议审议通过”.
_DATED_RECORD = re.compile(
    r"^(?:[\u3400-\u9fff]{2,6}[：:])?\s*[（(]?\s*(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}"
    r"|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3})\s*日"
)
_MIN_RECORD_CHARS = 6
_CJK = re.compile(r"[\u3400-\u9fff]")
# Co-verbs jieba tags as prepositions that are the verb when they end a record: “……会议通过”.
_COVERBS = frozenset({"通过", "经过"})
_CELL_CHARS = 12  # a line shorter than this, in a run of them, is a table cell
_BULLETS = tuple("◆◇●○■□▲△▶►•·★☆")
# A field's label at the start of a line: two to four characters, maybe spaced out (“简 介”), and a colon.
_FIELD_LABEL = re.compile(r"\s*((?:[\u3400-\u9fff]\s*){2,4})[：:]")
_BYLINE_REACH = 12  # paragraphs an article may run on before the byline that closes it
_ARTICLE_REACH = 60  # paragraphs an article's sections may run on after the byline before it


@dataclass(frozen=True)
class Candidate:
    """A sentence a passage offers as an answer: ``start``/``end`` are offsets in its document's
    cleaned text (in the chunk's text when the document is not at hand)."""

    text: str
    passage: int  # 1-based passage number
    start: int
    end: int
    paragraph: int  # index in the document's paragraphs, -1 without the document
    context: str  # the passage's title and section headings, simplified and lower-cased
    complete: bool  # passes the sentence test of the module docstring
    # The sentence's own section headings (a passage may span sections; without the title,
    # whose year in “火炬动态 2022年第6期” dates the issue), simplified.
    headings: str = ""
    # Its headings, its section up to its paragraph and the byline closing the paragraph's
    # article (as written): where its places and people are named.
    scope: str = ""


def passage_sentences(number: int, chunk: Chunk, document: Document | None) -> list[Candidate]:
    """The sentences of passage ``number`` (from its document when given, so none is cut)."""
    context = to_simplified(f"{chunk.title}\n{chunk.section_path}").lower()
    if document is None or document.text[chunk.char_start : chunk.char_end] != chunk.text:
        headings = to_simplified(chunk.section_path)
        scope = f"{headings}\n{chunk.text}"
        return [
            Candidate(joined, number, s, e, -1, context, is_answer_sentence(raw), headings, scope)
            for s, e, raw, joined in split_sentences_at(chunk.text, 0, len(chunk.text))
        ]
    blocks = section_blocks(document)
    block_starts = [block.start for block in blocks]
    out = []
    first = max(bisect.bisect_right(document.paragraphs, chunk.char_start, key=lambda p: p.start) - 1, 0)
    for index in range(first, len(document.paragraphs)):
        paragraph = document.paragraphs[index]
        if paragraph.start >= chunk.char_end:
            break
        if paragraph.heading and not paragraph.inline:
            continue
        continues = _continues_previous(document, index)
        block = blocks[max(bisect.bisect_right(block_starts, paragraph.start) - 1, 0)] if blocks else None
        headings = to_simplified(" › ".join(block.section)) if block else ""
        opening = block.start if block and block.start <= paragraph.start else paragraph.start
        opening = _article_start(document, opening, index)
        byline = _byline_after(document, index, block.end if block else paragraph.end)
        # One string for the paragraph's sentences.
        scope = f"{headings}\n{document.text[opening : paragraph.end]}\n{byline}"
        for s, e, raw, joined in split_sentences_at(document.text, paragraph.start, paragraph.end):
            complete = is_answer_sentence(raw) and not (continues and s == paragraph.start)
            # A sentence belongs to the passage when most of it lies inside the chunk.
            if min(e, chunk.char_end) - max(s, chunk.char_start) >= (e - s) / 2:
                out.append(Candidate(joined, number, s, e, index, context, complete, headings, scope))
    return out


def _article_start(document: Document, opening: int, index: int) -> int:
    """Where the article holding paragraph ``index`` begins, when the text is a series of
    articles each closed by a byline (“（来源：深圳商报）”): after the last byline before the
    paragraph in its section (which starts at ``opening``), else, when the section's earlier
    sections are of the same or a lower rank, after the byline before the section (an article
    titled only in the contents, its places named before its subheadings: “今日之青岛……” ahead
    of “创新之源”); else ``opening``."""
    first = bisect.bisect_left(document.paragraphs, opening, key=lambda p: p.start)
    for earlier in range(index - 1, max(first, index - _ARTICLE_REACH) - 1, -1):
        if document.paragraphs[earlier].ends_article:  # a source line (来源/供稿…), not any aside
            return document.paragraphs[earlier].end
    rank: int | None = None  # the rank of the section's own heading
    for before in range(first - 1, max(first - _ARTICLE_REACH, 0) - 1, -1):
        paragraph = document.paragraphs[before]
        if paragraph.heading:
            if rank is None:
                rank = paragraph.rank
            elif paragraph.rank is not None and paragraph.rank < rank:
                return opening  # a section above this one: no article to extend over
        elif is_parenthetical(document.text[paragraph.start : paragraph.end]):
            return paragraph.end
    return opening


def _byline_after(document: Document, index: int, section_end: int) -> str:
    """The byline that closes paragraph ``index``'s article in its section (“（杨华勇，中国工程院
    院士）” after an expert's paragraphs), or ""."""
    for following in document.paragraphs[index + 1 : index + 1 + _BYLINE_REACH]:
        if following.start >= section_end or following.heading:
            break
        text = document.text[following.start : following.end]
        if is_parenthetical(text):
            return text
    return ""


def document_sentences(document: Document, chunks: Sequence[Chunk]) -> list[str]:
    """The distinct sentences the chunks of ``document`` offer an answer, in order: what
    indexing embeds ahead of the questions (``rag.sentence_vectors``)."""
    texts = (c.text for chunk in chunks for c in passage_sentences(0, chunk, document))
    return list(dict.fromkeys(texts))


def _continues_previous(document: Document, index: int) -> bool:
    """Whether paragraph ``index`` goes on with a sentence the previous body paragraph left
    open (a break the cleaner kept inside a sentence, such as a table row)."""
    if index == 0:
        return False
    previous = document.paragraphs[index - 1]
    text = document.text[previous.start : previous.end].rstrip()
    here = document.paragraphs[index]
    return (
        previous.heading is None
        and previous.rank is None  # a contents line or one-line item demoted from a heading is closed
        and content_length(text) >= MIN_SENTENCE_CHARS  # so is a name on its own line (“樊杰”)
        and not re.search(rf"[{TERMINAL}：:…][{re.escape(CLOSERS)}]*$", text)
        and not is_parenthetical(text)  # a byline “（杨华勇，中国工程院院士）” is closed
        and not text.lstrip().startswith(_BULLETS)  # so is a bulleted title “◆ 广东“工业母机”突围记”
        and not _in_cell_column(document, index - 1)  # and a table cell “佛山市发改局印/发《……》”
        # A field (“发布时间：2021年8月2日” / “简介：《意见》提出……”) is closed, and one opens anew.
        and not _is_field(document, text)
        and not _is_field(document, document.text[here.start : here.end])
    )


def _is_field(document: Document, text: str) -> bool:
    """Whether ``text`` opens with a field's label: two to four characters and a colon that
    open other lines of the document too (“发布时间：”, “简 介：” in each row of a policy
    table; not a one-off “我们认为：”)."""
    label = _FIELD_LABEL.match(text)
    return label is not None and re.sub(r"\s", "", label.group(1)) in _repeated_labels(document.text)


@lru_cache(maxsize=64)
def _repeated_labels(text: str) -> frozenset[str]:
    """The labels (``_FIELD_LABEL``) that open two lines of ``text`` or more."""
    labels = (_FIELD_LABEL.match(line) for line in text.splitlines())
    found = Counter(re.sub(r"\s", "", label.group(1)) for label in labels if label)
    return frozenset(label for label, count in found.items() if count >= 2)


def _looks_like_cells(text: str) -> bool:
    """Table cells, one per line: three lines or more, under 12 characters on average."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= 3 and sum(map(len, lines)) / len(lines) < _CELL_CHARS


def _in_cell_column(document: Document, index: int) -> bool:
    """Whether paragraph ``index`` and the one before it are both short lines (under 12
    characters): a table column laid out one cell line per paragraph."""
    if index < 1:
        return False
    lines = [document.text[p.start : p.end].strip() for p in document.paragraphs[index - 1 : index + 1]]
    return all(0 < len(line) < _CELL_CHARS for line in lines)


def is_parenthetical(text: str) -> bool:
    """Whether ``text`` is one parenthesis, nested ones allowed: “（郭万达，（深圳）综合开发研究院常务副院长）”."""
    body = text.strip().rstrip("。；;.")
    depth = 0
    for i, char in enumerate(body):
        depth += (char in "（(") - (char in "）)")
        if depth <= 0:
            return i == len(body) - 1 and i > 0
    return False


def is_answer_sentence(raw: str) -> bool:
    """The sentence test of the module docstring, on the text as the document has it."""
    text = raw.strip()
    if _looks_like_cells(text):
        return False
    flat = join_lines(text)
    if content_length(flat) < MIN_SENTENCE_CHARS:
        return False
    if _ASKS.search(flat):
        return False
    if SENTENCE_END.search(flat) and not is_parenthetical(flat) and has_verb(flat):
        return True
    # “（2020年7月31日……会议通过）”: when what was done; not a web page's “发布时间：2023年3月1日
    # 字号：大 中 小 打印” (another field) or “2023年3月1日 分享到” (too short to record anything)
    dated = _DATED_RECORD.match(flat)
    if dated is None:
        return False
    record = flat[dated.end() :]
    return (
        len(_CJK.findall(record)) >= _MIN_RECORD_CHARS
        and not _FIELD_LABEL.search(record)
        and _ends_with_verb(flat)
    )


def _ends_with_verb(text: str) -> bool:
    """Whether ``text``'s last word is a verb (“……会议通过”, “……批准”), not a byline's name or a
    page's “【打印】【关闭】”."""
    words = [(word, flag) for word, flag in tagged(text.rstrip("。；;）) \n")) if word.strip()]
    return bool(words) and (words[-1][1].startswith("v") or words[-1][0] in _COVERBS)


@lru_cache(maxsize=4096)
def has_verb(text: str) -> bool:
    """A jieba ``v*`` token, the copula 为 before a number (“国产化率分别为59.55%”, which
    jieba tags as the preposition), a co-verb ending its clause (“……会议通过”), or 在 after a
    noun with no 的 after it in its clause, where it is the predicate (“49个布局在南沙”, “总部在
    深圳”; not “数字经济在广东的新格局”)."""
    tokens = tagged(text)
    return any(
        flag.startswith("v")
        or (word == "为" and i + 1 < len(tokens) and tokens[i + 1][1] == "m")
        or (word in _COVERBS and (i + 1 == len(tokens) or tokens[i + 1][0] in "，,。；;）)"))
        or (
            word == "在"
            and i > 0
            and tokens[i - 1][1].startswith("n")
            and _ends_clause_without_de([w for w, _ in tokens], i)
        )
        for i, (word, flag) in enumerate(tokens)
    )


def _ends_clause_without_de(words: Sequence[str], at: int) -> bool:
    """Whether no 的 follows ``words[at]`` before the end of its clause: 在 is then the predicate
    (“49个布局在南沙”), not inside a noun phrase (“数字经济在广东的新格局”)."""
    for word in words[at + 1 :]:
        if word in "，,。；;！？":
            return True
        if word == "的":
            return False
    return True


def join_lines(text: str) -> str:
    """A sentence with its line wraps joined: none between Chinese characters, a space elsewhere."""
    return re.sub(r"\s*\n\s*", " ", _CJK_BREAK.sub("", text.strip()))


def split_sentences_at(text: str, start: int, end: int) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, raw, joined) of each sentence in ``text[start:end]``."""
    for span_start, span_end in sentence_spans(text, start, end, line_breaks=False):
        raw = text[span_start:span_end]
        if not raw.strip():
            continue
        s = span_start + len(raw) - len(raw.lstrip())
        e = span_start + len(raw.rstrip())
        yield s, e, text[s:e], join_lines(text[s:e])
