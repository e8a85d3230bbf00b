"""Retrieval quality on the dev set: a common peer recipe vs ours and its ablations.

Every configuration is scored by ``rag.evaluate.score_run`` on the answerable items, so
relevance (a passage whose normalised text contains a normalised evidence span), recall@k
and MRR@10 are exactly what ``rag eval`` computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import faiss
from langchain_text_splitters import RecursiveCharacterTextSplitter
from measure import Timing, timed

from rag.config import RetrievalSettings
from rag.embedders import Embedder
from rag.evaluate import RUN_PASSAGES, EvalItem, score_run
from rag.ingest import list_sources
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.text import normalize_for_match

# question, k -> passages as ``Hit.record()`` gives them (at least "rank" and "text")
Search = Callable[[str, int], list[dict[str, Any]]]

PEER_CHUNK_SIZE = 250
PEER_CHUNK_OVERLAP = 50
TEXT_SUFFIXES = (".txt", ".md")  # the peer recipe loads text files as they are
PEER_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]

CONFIGS = {
    "peer": "Peer recipe: LangChain recursive splitter 250/50 on raw text, dense only (FAISS flat IP)",
    "ours": "Ours, default settings: cleaned section chunks, hybrid BM25 + dense",
    "ours_dense": "Ours, dense only (weighted, dense_weight 1.0)",
    "ours_bm25": "Ours, BM25 only (weighted, dense_weight 0.0)",
    "ours_weighted": "Ours, weighted fusion (dense_weight 0.5)",
    "ours_rrf": "Ours, reciprocal-rank fusion (RRF)",
}


class PeerBaseline:
    """What Langchain-Chatchat/RAGFlow/QAnything-style setups commonly do with text files:
    load the raw text, split it recursively on Chinese punctuation, embed, search a flat index."""

    def __init__(self, data_dir: Path, embedder: Embedder) -> None:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=PEER_CHUNK_SIZE, chunk_overlap=PEER_CHUNK_OVERLAP, separators=PEER_SEPARATORS
        )
        files = [path for path in list_sources(data_dir) if path.suffix.lower() in TEXT_SUFFIXES]
        self.raw = [path.read_text(encoding="utf-8") for path in files]
        self.chunks = [piece for text in self.raw for piece in splitter.split_text(text)]
        self.embedder = embedder
        self.index = faiss.IndexFlatIP(embedder.dim)
        self.index.add(embedder.embed_documents(self.chunks))

    def search(self, question: str, k: int) -> list[dict[str, Any]]:
        _, rows = self.index.search(self.embedder.embed_query(question).reshape(1, -1), k)
        return [
            {"rank": rank, "text": self.chunks[row]} for rank, row in enumerate(rows[0], start=1) if row >= 0
        ]


def build_peer(data_dir: Path, embedder: Embedder) -> tuple[PeerBaseline, Timing]:
    """The peer index, timed end to end (read, split, embed, FAISS)."""
    return timed(partial(PeerBaseline, data_dir, embedder))


def our_searches(pipeline: Pipeline) -> dict[str, Search]:
    """Ours as configured (default settings) and the ablations, over the same index."""

    def with_settings(**overrides: Any) -> Search:
        retriever = Retriever(pipeline.index, pipeline.embedder, RetrievalSettings.model_validate(overrides))
        return lambda question, k: [hit.record() for hit in retriever.search(question, k)]

    return {
        "ours": lambda question, k: [hit.record() for hit in pipeline.search(question, k)],
        "ours_dense": with_settings(fusion="weighted", dense_weight=1.0),
        "ours_bm25": with_settings(fusion="weighted", dense_weight=0.0),
        "ours_weighted": with_settings(fusion="weighted", dense_weight=0.5),
        "ours_rrf": with_settings(fusion="rrf"),
    }


def _retrieval_only(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k == "items" or k.startswith(("recall@", "mrr@"))}


def score_search(items: Sequence[EvalItem], search: Search, doc_names: dict[str, str]) -> dict[str, Any]:
    """recall@1/3/5/10 and MRR@10 of ``search`` over the answerable items, overall, by type and by briefing."""
    answerable = [item for item in items if item.answerable]
    run = [
        {
            "id": item.id,
            "passages": search(item.question, RUN_PASSAGES),
            "answer": "",
            "citations": [],
            "refused": False,
        }
        for item in answerable
    ]
    metrics = score_run(answerable, run, doc_names=doc_names)
    return {
        "overall": _retrieval_only(metrics["overall"]),
        "by_type": {name: _retrieval_only(m) for name, m in metrics["by_type"].items()},
        "by_doc": {name: _retrieval_only(m) for name, m in metrics["by_doc"].items()},
    }


def evidence_reachable(items: Sequence[EvalItem], texts: Sequence[str]) -> int:
    """Answerable items with an evidence span somewhere in ``texts`` (a ceiling on recall)."""
    corpus = normalize_for_match("\n".join(texts))
    return sum(
        any(normalize_for_match(span) in corpus for span in item.evidence_any)
        for item in items
        if item.answerable
    )
