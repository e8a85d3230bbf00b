"""Domain errors: each carries a stable ``code`` and a Chinese message for the user."""

from __future__ import annotations

from collections.abc import Sequence


class RagError(Exception):
    """Base class of every error the user should see as one clear line. ``param`` names the
    request field at fault, where there is one (OpenAI clients show it)."""

    code = "rag_error"
    param: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RagError):
    code = "config_error"


class UnknownBackendError(ConfigError):
    code = "unknown_backend"


class MissingExtraError(ConfigError):
    code = "missing_extra"


class DocumentError(RagError):
    """A file that cannot be ingested (corrupt, scanned, empty, unsupported)."""

    code = "document_error"


class FileTooLargeError(DocumentError):
    code = "too_large"


class IndexMissingError(RagError):
    code = "index_missing"


class IndexCorruptError(RagError):
    code = "index_corrupt"


class EmbedderMismatchError(RagError):
    code = "embedder_mismatch"


class SearchEngineError(RagError):
    """The search engine behind the index (Milvus) cannot be reached, timed out or failed."""

    code = "search_engine_unavailable"


class IndexLockedError(RagError):
    code = "index_locked"


class BadInputError(RagError):
    code = "bad_input"


class UnknownDocumentError(BadInputError):
    code = "unknown_document"


class DocumentExistsError(BadInputError):
    code = "document_exists"


def batch_error(errors: Sequence[RagError]) -> RagError:
    """One error for a batch of files none of which was added: the files' own kind when they
    share one (all names taken, all too large…), else ``DocumentError``; the message lists each."""
    kinds = {type(error) for error in errors}
    kind = kinds.pop() if len(kinds) == 1 else DocumentError
    return kind("；".join(error.message for error in errors))


class NeedsKeyError(ConfigError):
    """A remote LLM backend without an API key."""

    code = "needs_key"


class PromptError(ConfigError):
    code = "prompt_error"


class BackendError(RagError):
    """The LLM backend failed: unreachable, HTTP error, or an answer we cannot read."""

    code = "backend_unavailable"


class BackendTimeoutError(BackendError):
    code = "backend_timeout"


class BackendResponseError(BackendError):
    code = "backend_bad_response"


class EvalSetError(BadInputError):
    code = "eval_set_error"


class ModelNotFoundError(BadInputError):
    """A /v1 request naming a model (answerer) that is not available."""

    code = "model_not_found"
    param = "model"


class UnsupportedParameterError(BadInputError):
    """A /v1 request asking for something we cannot honour (``n`` > 1, tools, logprobs…):
    refused by name rather than silently ignored."""

    code = "unsupported_parameter"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


class BusyError(RagError):
    """Every answer slot is taken and the queue is full: try again after ``retry_after_s``."""

    code = "busy"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnknownRunError(BadInputError):
    code = "unknown_run"


class EvalRunningError(RagError):
    code = "eval_running"
