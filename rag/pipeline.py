"""One Pipeline (index + embedder + retriever + answerer) for the CLI, the server and eval."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from rag.answerers import Answerer, AnswerEvent, get_answerer
from rag.config import Settings
from rag.embedders import Embedder, get_embedder
from rag.errors import BadInputError
from rag.indexing import IndexProgress, build_index
from rag.retrieve import Retriever
from rag.store import Index, index_exists, load_index
from rag.text import to_simplified, tokenize
from rag.types import Answer, Hit

MAX_QUESTION_CHARS = 2000


class Pipeline:
    def __init__(self, settings: Settings, embedder: Embedder, index: Index, answerer: Answerer) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.retriever = Retriever(index, embedder, settings.retrieval)
        self.answerer = answerer
        # Load jieba's dictionary and OpenCC now rather than on the first question.
        tokenize(to_simplified("预热"))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, build_missing: bool = False, progress: IndexProgress | None = None
    ) -> Pipeline:
        """Load the configured index; with ``build_missing``, build it first when absent."""
        embedder = get_embedder(settings.embedder)
        if build_missing and not index_exists(settings.index_dir):
            ensure_corpus(settings)
            build_index(settings, embedder, progress=progress)
        index = load_index(settings.index_dir, embedder.spec)
        return cls(settings, embedder, index, get_answerer(settings.answerer, settings, embedder))

    def reload(self) -> None:
        """Pick up a new index version written by ``rag index``/``add``/``remove``."""
        self.index = load_index(self.settings.index_dir, self.embedder.spec)
        self.retriever = Retriever(self.index, self.embedder, self.settings.retrieval)

    def search(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> list[Hit]:
        return self.retriever.search(check_question(question), k, docs)

    def stream(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> Iterator[AnswerEvent]:
        hits = self.search(question, k or self.settings.answer.passages, docs)
        return self.answerer.stream(question, hits)

    def ask(self, question: str, k: int | None = None, docs: Collection[str] | None = None) -> Answer:
        hits = self.search(question, k or self.settings.answer.passages, docs)
        return self.answerer.answer(question, hits)


def check_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise BadInputError("问题不能为空")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInputError(f"问题过长（{len(question)} 字），上限 {MAX_QUESTION_CHARS} 字")
    return question


def ensure_corpus(settings: Settings) -> None:
    from rag.ingest import list_sources

    if not list_sources(settings.data_dir):
        raise BadInputError(
            f"在 {settings.data_dir} 中没有找到简报（.pdf/.txt/.md）。请把文件放入 data/，或设置 RAG_HOME 指向项目目录"
        )
