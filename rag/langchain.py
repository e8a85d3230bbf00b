"""LangChain's chat model for a briefing-rag server: ``ChatOpenAI`` with the citations kept.

Stock ``ChatOpenAI`` already works against ``/v1`` (the answer with its ``[n]`` markers and the
“参考来源” list, usage, streaming), but it keeps only OpenAI's own response fields.
``ChatBriefingRAG`` is the provider-specific subclass LangChain recommends for a provider's
own fields (as ``ChatDeepSeek`` does for its reasoning): it also copies briefing-rag's fields
(``citations``, ``query``, ``refused``, ``notices``, ``sentences``) into the message's
``response_metadata``, on ``invoke`` and on the last chunk of ``stream``::

    from rag.langchain import ChatBriefingRAG

    llm = ChatBriefingRAG(base_url="http://127.0.0.1:8000/v1", api_key="…")
    message = llm.invoke("广东的“卓粤”计划是什么？")
    message.response_metadata["citations"]  # [{"n": 1, "title": …, "page": …, "reference": …}]

Needs ``pip install 'briefing-rag[langchain]'``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import Field

# The fields /v1 adds beside OpenAI's (server/routes/openai.py EXTRA_FIELDS).
BRIEFING_FIELDS = ("citations", "query", "refused", "notices", "sentences")


class ChatBriefingRAG(ChatOpenAI):
    """A chat model answering from the briefings behind a briefing-rag server's ``/v1``."""

    model_name: str = Field(default="briefing-rag", alias="model")
    stream_usage: bool | None = True  # the server sends a usage chunk when asked

    def _create_chat_result(self, response: Any, generation_info: dict[str, Any] | None = None) -> ChatResult:
        result: ChatResult = super()._create_chat_result(response, generation_info)
        fields = _briefing_fields(response if isinstance(response, dict) else response.model_dump())
        for generation in result.generations:
            generation.message.response_metadata.update(fields)
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict[str, Any], default_chunk_class: type, base_generation_info: dict[str, Any] | None
    ) -> ChatGenerationChunk | None:
        generation: ChatGenerationChunk | None = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        if generation is not None:
            generation.message.response_metadata.update(_briefing_fields(chunk))
        return generation


def _briefing_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in BRIEFING_FIELDS if name in data}
