"""Evaluation from the page: sets, runs in the background, reports, charts and comparisons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from rag.errors import BadInputError
from server.deps import ServiceDep
from server.evaluation import RUN_FILES
from server.schemas import (
    ErrorBody,
    EvalComparison,
    EvalJobStatus,
    EvalRunInfo,
    EvalRunRequest,
    EvalSetInfo,
)

router = APIRouter(tags=["评测"])
MAX_SET_BYTES = 5 * 1024 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 404, 409, 413, 422)}


@router.get("/api/eval/sets", response_model=list[EvalSetInfo], summary="评测集列表")
def eval_sets(service: ServiceDep) -> list[dict[str, Any]]:
    """项目 eval/sets/ 中的评测集（JSONL，格式见 eval/README.md）及其题数。"""
    return service.evaluations.sets()


@router.post("/api/eval/sets", response_model=EvalSetInfo, summary="上传评测集", responses=_ERRORS)
async def upload_eval_set(
    service: ServiceDep, file: Annotated[UploadFile, File(description="评测集 JSONL 文件")]
) -> dict[str, Any]:
    """检查上传的评测集（格式错误时说明第几行、什么问题）并保存到 eval/sets/；同名而内容不同时改名保存。"""
    content = await file.read(MAX_SET_BYTES + 1)
    if len(content) > MAX_SET_BYTES:
        raise BadInputError(f"评测集超过 {MAX_SET_BYTES // 1024 // 1024} MB")
    name = await run_in_threadpool(service.evaluations.save_set, file.filename or "", content)
    return next(s for s in service.evaluations.sets() if s["name"] == name)


@router.post(
    "/api/eval/runs", response_model=EvalJobStatus, status_code=202, summary="开始评测", responses=_ERRORS
)
def start_eval(body: EvalRunRequest, service: ServiceDep) -> dict[str, Any]:
    """在后台运行一个评测集（与 rag eval 相同：每题经问答流程作答后评分）；进度见 GET /api/eval/status。
    同一时间只运行一个评测（409）。"""
    return service.evaluations.start(body.set).record()


@router.get("/api/eval/status", response_model=EvalJobStatus, summary="评测进度")
def eval_status(service: ServiceDep) -> dict[str, Any]:
    """当前（或最近一次）评测的状态：作答、评分的进度，完成后的结果名，失败时的原因。"""
    return service.evaluations.job.record()


@router.get("/api/eval/runs", response_model=list[EvalRunInfo], summary="评测结果列表")
def eval_runs(service: ServiceDep) -> list[dict[str, Any]]:
    """eval/runs/ 中的评测结果（包括 rag eval 写下的），新的在前。"""
    return service.evaluations.runs()


@router.get("/api/eval/runs/{run}", summary="评测报告", responses=_ERRORS)
def eval_report(run: str, service: ServiceDep) -> dict[str, Any]:
    """一次评测的 report.json：总体、按题型、按简报的指标，每题的得分与问题；summary 是报告开头的结论。"""
    return service.evaluations.report(run)


@router.get("/api/eval/runs/{run}/items/{item_id}", summary="评测条目", responses=_ERRORS)
def eval_item(run: str, item_id: str, service: ServiceDep) -> dict[str, Any]:
    """一道题：record 是提问、对话历史、回答、引用与检索到的段落（run.jsonl 中的一行），scores 是它的各项得分与失败信息。"""
    return service.evaluations.item(run, item_id)


@router.get(
    "/api/eval/runs/{run}/files/{name}",
    summary="下载评测文件",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in RUN_FILES.values()}}, **_ERRORS},
)
def eval_file(run: str, name: str, service: ServiceDep) -> FileResponse:
    """report.md（报告）、chart.png（图表）或 run.jsonl（每题的回答与段落）。"""
    if name not in RUN_FILES:
        raise BadInputError(f"可下载的文件：{'、'.join(RUN_FILES)}")
    path = service.evaluations.run_path(run) / name
    return FileResponse(path, media_type=RUN_FILES[name], filename=f"{run}-{name}")


@router.get("/api/eval/compare", response_model=EvalComparison, summary="对比两次评测", responses=_ERRORS)
def eval_compare(
    service: ServiceDep,
    a: Annotated[str, Query(description="结果 A 的名称")],
    b: Annotated[str, Query(description="结果 B 的名称")],
) -> dict[str, str]:
    """逐条对比两次评测：配置差异、指标变化、变好与变差的条目（与 rag eval compare 相同）。"""
    return {"markdown": service.evaluations.compare(a, b)}
