"""Which of the sentences that can answer to lead with, when the likeliest one does not say what
the question asks in so many words: the sentence that does comes first."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.answerers.candidates import Candidate
from rag.question import Question

# “……有哪些高端专用装备？”, “在哪些方面的关键核心技术上攻坚？”: what a list question asks for,
# the words after 哪些 (的 left out); its first four characters are what a list of it ends with
# (“、……等方面关键核心技术”). A kind of two characters (哪些服务, 哪些产品) is too broad to tell
# the list that answers from any other list of services or products.
_LISTED_KIND = re.compile(r"哪些([\u3400-\u9fff]{2,30})")
_KIND_CHARACTERS = 4


def preferred(
    asked: Question, candidates: Sequence[Candidate], eligible: np.ndarray, best: int, threshold: float
) -> int:
    """``best``, or the likeliest sentence that can answer (``eligible`` at least ``threshold``)
    and says what ``best`` does not:

    - for a question on who does something (“由谁出资？”), the verb (“该项目由科学家主导、腾讯
      公司出资……”);
    - for a question on which things of a kind (“要加快发展哪些高端专用装备？”), a list of that
      kind (“加快高端医疗装备、农机装备、深远海装备等高端专用装备发展”)."""
    verb = asked.agent_verb
    if verb is not None:
        return _likeliest_saying(re.compile(re.escape(verb)), candidates, eligible, best, threshold)
    kind = _LISTED_KIND.search(asked.simplified)
    words = kind[1].replace("的", "") if kind else ""
    if len(words) >= _KIND_CHARACTERS:
        listing = re.compile(rf"、[^。；，]*等{re.escape(words[:_KIND_CHARACTERS])}")
        return _likeliest_saying(listing, candidates, eligible, best, threshold)
    return best


def _likeliest_saying(
    said: re.Pattern[str], candidates: Sequence[Candidate], eligible: np.ndarray, best: int, threshold: float
) -> int:
    if said.search(candidates[best].text):
        return best
    saying = [i for i, c in enumerate(candidates) if eligible[i] >= threshold and said.search(c.text)]
    return max(saying, key=lambda i: float(eligible[i])) if saying else best
