"""The name of the document an answer comes from, for a question that asks which document says
it (“出自哪份文件？”): when the quoted sentences name none, the section heading that does leads
the answer."""

from __future__ import annotations

import re

from rag.answerers.candidates import Candidate
from rag.question import Question
from rag.types import Hit

# A document's title; not one that is only the kind of document, referring back (《意见》提出).
_NAMES_DOCUMENT = re.compile(
    r"《(?!(?:意见|方案|通知|条例|规划|办法|决定|计划|纲要|报告|规定|细则)》)[^》]+》"
)
# The number a heading opens with: “（2）”, “三、”, “1.”.
_HEADING_NUMBER = re.compile(r"^(?:[（(][\d一二三四五六七八九十]+[)）]|[\d一二三四五六七八九十]+[、.．])\s*")


def with_document_name(
    asked: Question, passages: tuple[Hit, ...], top: Candidate, quoted: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    """``quoted``, led by the heading that names the document (“……印发《关于支持东莞……的意见》”)
    when the question asks which document says it and the quote names none (《意见》 refers back
    to the heading's)."""
    if not asked.wants_source or any(_NAMES_DOCUMENT.search(sentence) for _, sentence in quoted):
        return quoted
    section = passages[top.passage - 1].chunk.section
    heading = next((h for h in reversed(section) if "《" in h), None)
    return [(top.passage, _HEADING_NUMBER.sub("", heading)), *quoted] if heading else quoted
