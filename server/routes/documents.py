from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from rag.errors import BadInputError, DocumentError, DocumentExistsError, FileTooLargeError
from rag.ingest import MAX_FILE_BYTES
from rag.sources import source_context
from server.deps import PipelineDep, ServiceDep
from server.schemas import DocumentInfo, ErrorBody, IndexReportOut, RebuildStatus, SourceContext
from server.service import check_upload_name

router = APIRouter(tags=["文档"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 404, 409, 413, 422)
}
_CHUNK = 1024 * 1024


@router.get("/api/documents", response_model=list[DocumentInfo], summary="简报列表")
def list_documents(service: ServiceDep) -> list[dict[str, Any]]:
    """已索引的简报：文件名、标题、发布单位、日期、类型与分块数。"""
    return service.documents()


@router.post("/api/documents", response_model=IndexReportOut, summary="上传简报", responses=_ERRORS)
async def upload_documents(
    service: ServiceDep,
    files: Annotated[list[UploadFile], File(description="一个或多个 .pdf / .txt / .md 文件")],
    replace: Annotated[bool, Query(description="同名简报已存在时替换它")] = False,
) -> dict[str, Any]:
    """上传并索引简报（只嵌入新文件，其余简报不重算）。完成前查询继续使用旧索引。
    扫描版或损坏的 PDF、空文件、不支持的类型在 `failed` 中给出中文原因；全部失败时返回 4xx。"""
    names = [check_upload_name(upload.filename) for upload in files]
    if len(set(names)) != len(names):
        raise BadInputError("一次上传中有同名文件，请只保留一个")
    workdir = Path(tempfile.mkdtemp(prefix="rag-upload-"))
    try:
        uploads = []
        for name, upload in zip(names, files, strict=True):
            path = workdir / name
            await _save(upload, path)
            uploads.append((name, path))
        report = await run_in_threadpool(service.add, uploads, replace)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if report.failed and not (report.added or report.updated):
        messages = "；".join(report.failed.values())
        if all("已有同名简报" in message for message in report.failed.values()):
            raise DocumentExistsError(messages)
        raise DocumentError(messages)
    return report.record()


async def _save(upload: UploadFile, path: Path) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise FileTooLargeError(f"{path.name}：文件过大（上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）")
            out.write(chunk)


@router.delete("/api/documents/{doc_id}", response_model=IndexReportOut, summary="删除简报", responses=_ERRORS)
def delete_document(doc_id: str, service: ServiceDep) -> dict[str, Any]:
    """从索引（向量、BM25、分块记录）中删除简报，文件移到 data/.removed/。返回后立即生效。"""
    return service.remove(doc_id).record()


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
    pipeline: PipelineDep, chunk_id: Annotated[str, Query(description="段落编号，例如 简报.txt#3", max_length=500)]
) -> dict[str, Any]:
    """被引用段落在简报中的上下文：PDF 给出所在页的全文，文本文件给出前后各约 800 字；
    `highlight_start`/`highlight_end` 标出段落本身，供核对引用。"""
    return source_context(pipeline.index, chunk_id)
