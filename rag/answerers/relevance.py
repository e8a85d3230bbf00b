"""How likely a passage sentence is to answer a question: a calibrated logistic model.

Seven signals, none tied to a document:

- ``semantic``: cosine between the question and the sentence (the embedder's query/passage encoding);
- ``semantic_margin``: how far that cosine stands above the median of the retrieved sentences'
  (an off-topic question is about equally far from all of them);
- ``passage_semantic``: cosine between the question and the whole passage (from retrieval);
- ``coverage``: the share of the question's content words found in the sentence or in the title
  and section headings above it (“深圳：建立关键核心技术攻关新机制” speaks for its sentences),
  each word weighted by its inverse document frequency in jieba's general Chinese corpus, so
  “专利权” counts for more than “东西” or “规定”;
- ``passage_coverage``: the same share over the whole passage;
- ``bigrams``: the share of the question's Chinese character pairs found in the sentence and its
  headings (a paraphrase shares characters where it shares no whole word);
- ``retrieval``: the passage's fused retrieval score (``Hit.score``: 1 for the best passage).

A question without Chinese characters (English) cannot share words with Chinese text: its
coverage is the share of its words the text gives in Chinese (any translation CC-CEDICT lists,
``rag.glossary``: revenue → 收入、营收) and of the pinyin names it writes (“Shenzhen”) that the
text spells; it has a model of its own (cross-lingual cosines run lower).

``probability = sigmoid(w · [1, signals])``. The weights and the refusal threshold are fitted
per embedder by ``eval/calibrate_answerer.py`` on the development sets (dev and briefings-v1:
a sentence is positive when it holds an evidence span of an answerable item; every sentence
retrieved for an unanswerable item is negative) and checked on the held-out ones; the
precision/recall curve and the choice of threshold are in README (“回答”).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from rag.attribute import is_question_word
from rag.glossary import english_terms, is_cross_lingual
from rag.lexicon import idf_table, jieba, posseg, tagged
from rag.names import PROPER_NOUN, pinyin_names, spelt_words
from rag.text import STOPWORDS, to_simplified

log = logging.getLogger(__name__)

FEATURES = (
    "semantic",
    "semantic_margin",
    "passage_semantic",
    "coverage",
    "passage_coverage",
    "bigrams",
    "retrieval",
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_TERM = re.compile(r"[\w\u3400-\u9fff]+")
_NUMBER = re.compile(r"[\d.]+")


# A Chinese question whose content words (IDF-weighted) occur in the briefings less than this
# is not about them. Set on the training sets (dev, briefings-v1): their answerable questions
# cover 0.63 or more, off-topic ones 0.40 or less; see README “回答”.
CORPUS_COVERAGE_FLOOR = 0.5


def question_terms(question: str) -> dict[str, float]:
    """The question's content words (jieba, no function words or bare numbers) with their IDF weights."""
    idf, median = idf_table()
    terms: dict[str, float] = {}
    for word in jieba.cut(to_simplified(question).lower()):
        word = word.strip()
        if word and _TERM.fullmatch(word) and word not in STOPWORDS and not _NUMBER.fullmatch(word):
            terms[word] = idf.get(word, median)
    return terms


def coverage(
    question: str, terms: dict[str, float], texts: Sequence[str], titles: Sequence[str] | None = None
) -> np.ndarray:
    """For each text, the weighted share of ``terms`` it contains (of the pinyin names it
    spells and the words it translates, for an English question). With ``titles`` (each text's
    document title, simplified and lower-cased), a Chinese question that names a text's
    document (``names_document``) is judged on the rest of its terms, when any are left: every
    sentence of that document shares its title, so the words naming it (“中关村国家自主创新示范区
    条例”) say which document is meant, not whether it answers what is asked of it
    (“……对排污许可有什么特别规定？”)."""
    if is_cross_lingual(question):
        names, translated = pinyin_names(question), english_terms(question)
        if not names and not translated:
            return np.zeros(len(texts))
        spelt = [spelt_words(text) for text in texts]
        return np.array(
            [
                (
                    sum(any(w.startswith(n) for w in words) for n in names)
                    + sum(any(t in text for t in term) for term in translated)
                )
                / (len(names) + len(translated))
                for text, words in zip(texts, spelt, strict=True)
            ]
        )
    titles = titles or [""] * len(texts)
    named = {title: bool(title) and names_document(terms, title) for title in set(titles)}
    shares = []
    for text, title in zip(texts, titles, strict=True):
        asked = terms
        if named[title]:
            asked = {t: w for t, w in terms.items() if t not in title} or terms
        total = sum(asked.values())
        shares.append(sum(w for t, w in asked.items() if t in text) / total if total else 0.0)
    return np.array(shares)


def names_document(terms: dict[str, float], title: str) -> bool:
    """Whether a question with content words ``terms`` names the document titled ``title``:
    it has at least half of the title's content words (IDF-weighted)."""
    title_terms = _title_terms(title)
    total = sum(w for _, w in title_terms)
    return bool(total) and sum(w for t, w in title_terms if t in terms) >= total / 2


@lru_cache(maxsize=1024)
def _title_terms(title: str) -> tuple[tuple[str, float], ...]:
    """A title's content words with their IDF weights (``question_terms``); the same few titles
    come back question after question."""
    return tuple(question_terms(title).items())


def corpus_coverage(question: str, corpus: str) -> tuple[float, list[str]]:
    """The weighted share of the question's terms (``question_terms``) that occur anywhere in
    ``corpus`` (``Index.searchable_text``), and the terms that do not. An off-topic question
    (“红烧肉怎么做才好吃？”) is mostly made of words the briefings never use; a paraphrase of a
    question they answer is not. Pronouns (jieba ``r``: 那类, 这些) say nothing of a topic and are
    left out, and so are question words (哪本, 几家: a briefing never writes them); a negated word
    (不合格) is there when the word (合格) is, a place and a noun (北京高校) when both are."""
    simplified = to_simplified(question)
    tags = dict(tagged(simplified))

    def ignored(term: str) -> bool:  # a pronoun, or a question word that is not a name (几内亚, 哪吒)
        flag = tags.get(term, "")
        return flag == "r" or (is_question_word(term) and flag not in PROPER_NOUN)

    topical = {t: w for t, w in question_terms(simplified).items() if not ignored(t)}
    total = sum(topical.values())
    absent = [t for t in topical if not _occurs(t, corpus)]
    if not total:
        return 1.0, absent
    return 1.0 - sum(topical[t] for t in absent) / total, absent


def _occurs(term: str, corpus: str) -> bool:
    """Whether ``corpus`` has ``term``, the word it negates (不合格: 合格) or, for a place joined
    to a noun (北京高校, which jieba keeps whole), both the place and the noun."""
    if term in corpus or (term[0] == "不" and len(term) > 2 and term[1:] in corpus):
        return True
    tags = posseg.dt.word_tag_tab
    return any(
        tags.get(term[:cut]) == "ns" and term[:cut] in corpus and term[cut:] in corpus
        for cut in range(2, len(term) - 1)
    )


def bigram_coverage(question: str, texts: Sequence[str]) -> np.ndarray:
    """For each text, the share of the question's Chinese character pairs it contains."""
    chars = "".join(_CJK.findall(to_simplified(question)))
    pairs = {chars[i : i + 2] for i in range(len(chars) - 1)}
    if not pairs:
        return np.zeros(len(texts))
    return np.array([sum(pair in text for pair in pairs) / len(pairs) for text in texts])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[float, ...]:
    """Weights (bias first) of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return tuple(round(float(v), 4) for v in w)
