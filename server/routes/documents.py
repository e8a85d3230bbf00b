from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from rag import ingest
from rag.errors import BadInputError, FileTooLargeError, RagError, batch_error
from rag.indexing import IndexReport
from rag.metadata import MAX_FIELD_CHARS, check_fields
from rag.readers import unsupported_type
from rag.sources import source_context
from server.deps import PipelineDep, ServiceDep
from server.schemas import (
    DocumentFields,
    DocumentInfo,
    ErrorBody,
    IndexReportOut,
    RebuildStatus,
    SourceContext,
)
from server.service import check_upload_name

router = APIRouter(tags=["文档"])
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 404, 409, 413, 422)}
_CHUNK = 1024 * 1024
_FRAMING_BYTES = 1024 * 1024  # room for the multipart boundaries and part headers


def upload_limit() -> int:
    """The most bytes one upload request may carry: one file of ``rag.ingest.MAX_FILE_BYTES``
    and its multipart framing (several files together: the same). Read on every request."""
    return ingest.MAX_FILE_BYTES + _FRAMING_BYTES


class _BodyTooLarge(Exception):
    pass


class LimitedUploadRoute(APIRoute):
    """Refuses an upload over ``upload_limit()`` as it arrives (413 ``too_large``): by its
    Content-Length before any of it is read, else as soon as the bytes received pass the limit.
    Without this the whole body would be spooled to a temporary file before the endpoint runs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = upload_limit()
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise _request_too_large(ingest.format_size(int(length)))
            received = 0

            async def receive() -> Message:
                nonlocal received
                message = await request.receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
                return message

            try:
                return await handler(Request(request.scope, receive))
            except Exception:
                # FastAPI reports any error while reading the form as a 400; say what it was.
                if received > limit:
                    raise _request_too_large(f"超过 {ingest.format_size(ingest.MAX_FILE_BYTES)}") from None
                raise

        return limited


def _request_too_large(size: str) -> FileTooLargeError:
    limit = ingest.format_size(ingest.MAX_FILE_BYTES)
    return FileTooLargeError(
        f"上传内容过大（{size}）：单个文件上限 {limit}，一次上传的文件合计也不能超过 {limit}，请分批上传"
    )


uploads = APIRouter(tags=["文档"], route_class=LimitedUploadRoute)


@router.get("/api/documents", response_model=list[DocumentInfo], summary="简报列表")
def list_documents(service: ServiceDep) -> list[dict[str, Any]]:
    """已索引的简报：文件名、标题、发布单位、日期、类型与分块数。"""
    return service.documents()


@uploads.post("/api/documents", response_model=IndexReportOut, summary="上传简报", responses=_ERRORS)
async def upload_documents(
    service: ServiceDep,
    files: Annotated[
        list[UploadFile],
        File(
            min_length=1, description="一个或多个文件：PDF、Word（.docx/.doc）、网页（.html）、OFD、.txt/.md"
        ),
    ],
    replace: Annotated[bool, Query(description="同名简报已存在时替换它")] = False,
    title: Annotated[
        str | None, Form(max_length=MAX_FIELD_CHARS, description="标题（只能用于单个文件）")
    ] = None,
    publisher: Annotated[str | None, Form(max_length=MAX_FIELD_CHARS, description="发布机构")] = None,
    date: Annotated[str | None, Form(max_length=10, description="日期，YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    """上传并索引简报（只嵌入新文件，其余简报不重算）。完成前查询继续使用旧索引。
    可同时给出标题、发布机构、日期（默认取自文件）。
    扫描版、加密或损坏的文件（PDF、Word、OFD、网页），空文件、二进制文件、无法识别编码的文本、超过大小上限的文件和不支持的类型
    在 `failed` 中逐个给出中文原因，其余文件照常索引；全部失败时返回 4xx。
    单个文件上限 200 MB，一次上传合计也不超过 200 MB（超过时 413，不等上传完就拒绝）。"""
    names: list[str] = []
    failures: dict[str, RagError] = {}
    accepted: list[tuple[str, UploadFile]] = []
    for upload in files:
        name = (upload.filename or "").strip()
        if name and (why := unsupported_type(name)):
            failures[name] = BadInputError(why)  # a name only reported, never used as a path
        else:
            name = check_upload_name(upload.filename)
            accepted.append((name, upload))
        names.append(name)
    if len(set(names)) != len(names):
        raise BadInputError("一次上传中有同名文件，请只保留一个")
    meta = check_fields({"title": title, "publisher": publisher, "date": date})
    workdir = Path(tempfile.mkdtemp(prefix="rag-upload-"))
    try:
        saved = []
        for name, upload in accepted:
            path = workdir / name
            try:
                await _save(upload, path)
            except FileTooLargeError as e:
                path.unlink(missing_ok=True)
                failures[name] = e
                continue
            saved.append((name, path))
        report = await run_in_threadpool(service.add, saved, replace, meta) if saved else IndexReport()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failures.update(report.errors())
    order = {name: i for i, name in enumerate(names)}
    report.failed = {
        name: failures[name].message for name in sorted(failures, key=lambda n: order.get(n, len(order)))
    }
    if failures and not (report.added or report.updated):
        raise batch_error(list(failures.values()))
    return report.record()


async def _save(upload: UploadFile, path: Path) -> None:
    """Copy an upload to ``path``; ``FileTooLargeError`` (naming it) past the size limit."""
    limit = ingest.MAX_FILE_BYTES
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileTooLargeError(f"{path.name}：文件过大（超过上限 {ingest.format_size(limit)}）")
            out.write(chunk)


@router.delete(
    "/api/documents/{doc_id}", response_model=IndexReportOut, summary="删除简报", responses=_ERRORS
)
def delete_document(doc_id: str, service: ServiceDep) -> dict[str, Any]:
    """从索引（向量、BM25、分块记录）中删除简报，文件移到 data/.removed/。返回后立即生效。"""
    return service.remove(doc_id).record()


@router.patch(
    "/api/documents/{doc_id}", response_model=IndexReportOut, summary="修改简报信息", responses=_ERRORS
)
def describe_document(doc_id: str, fields: DocumentFields, service: ServiceDep) -> dict[str, Any]:
    """设置简报的标题、发布机构、日期（记在 data/briefings.toml），并重新索引这篇简报，引用随之更新。
    未给出的字段不变，空字符串清除。"""
    return service.describe(doc_id, fields.model_dump(exclude_unset=True)).record()


@router.post(
    "/api/index/rebuild", response_model=RebuildStatus, status_code=202, summary="重建索引", responses=_ERRORS
)
def start_rebuild(service: ServiceDep) -> dict[str, Any]:
    """在后台全部重新解析和嵌入；进度见 GET /api/index/rebuild。重建期间查询继续使用旧索引，完成后自动切换。"""
    return service.start_rebuild().record()


@router.get("/api/index/rebuild", response_model=RebuildStatus, summary="重建进度")
def rebuild_status(service: ServiceDep) -> dict[str, Any]:
    """重建任务的状态：idle / running / done / failed，阶段（parse 解析、embed 嵌入）与进度。"""
    return service.job.record()


@router.get("/api/source", response_model=SourceContext, summary="段落原文上下文", responses=_ERRORS)
def source(
    pipeline: PipelineDep,
    chunk_id: Annotated[str, Query(description="段落编号，例如 简报.txt#3", max_length=500)],
) -> dict[str, Any]:
    """被引用段落在简报中的上下文：PDF 给出所在页的全文，文本文件给出前后各约 800 字；
    `highlight_start`/`highlight_end` 标出段落本身，供核对引用。"""
    return source_context(pipeline.index, chunk_id)


router.include_router(uploads)
