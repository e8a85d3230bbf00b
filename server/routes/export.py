"""Export answers into drafts: a Word document whose citations are real footnotes, or Markdown."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from rag.drafts import DraftTurn, conversation_markdown
from rag.word import DOCX_MEDIA_TYPE, draft_docx
from server.schemas import ErrorBody, ExportRequest

router = APIRouter(tags=["写进文稿"])
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\s]+')


@router.post(
    "/api/export/docx",
    summary="导出 Word 文档",
    response_class=Response,
    responses={
        200: {
            "content": {DOCX_MEDIA_TYPE: {}},
            "description": "Word 文档：每个问题是标题，每处引用是 Word 脚注",
        },
        400: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
async def export_docx(body: ExportRequest) -> Response:
    """把一个或多个问答导出为 Word 文档（.docx）：回答中的每个 [n] 成为 Word 脚注，脚注内容是参考文献
    （默认 GB/T 7714）；问题作标题，给出 title 时作为文档标题（整段对话导出）。拒答照原文写出，不带脚注。"""
    content = await run_in_threadpool(draft_docx, _turns(body), body.title)
    return Response(content, media_type=DOCX_MEDIA_TYPE, headers=_attachment(body, ".docx"))


@router.post(
    "/api/export/markdown",
    summary="导出 Markdown",
    response_class=Response,
    responses={
        200: {
            "content": {"text/markdown": {}},
            "description": "Markdown：每个问题是二级标题，脚注编号在整个文件中唯一",
        },
        400: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
async def export_markdown(body: ExportRequest) -> Response:
    """把一个或多个问答导出为 Markdown：每个问题是二级标题，引用是脚注（[^2-1] 是第 2 个回答的第 1 条），
    整个文件中脚注编号不重复。"""
    content = conversation_markdown(_turns(body), body.title or "问答记录")
    return Response(content, media_type="text/markdown; charset=utf-8", headers=_attachment(body, ".md"))


def _turns(body: ExportRequest) -> list[DraftTurn]:
    return [DraftTurn.from_record(turn.question, turn.model_dump()) for turn in body.turns]


def _attachment(body: ExportRequest, suffix: str) -> dict[str, str]:
    """A download named after the title or the first question (characters file systems refuse
    replaced), with an ASCII name for old clients."""
    name = _UNSAFE_IN_NAMES.sub("_", body.title or body.turns[0].question[:40]).strip("_") or "问答"
    quoted = quote(name + suffix, safe="")
    return {"Content-Disposition": f"attachment; filename=\"answer{suffix}\"; filename*=UTF-8''{quoted}"}
