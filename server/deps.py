"""Dependencies the routes declare: the service and its pipeline, loaded once in lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.pipeline import Pipeline
from server.service import Service


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    service.notice_new_index()
    return service


def get_pipeline(request: Request) -> Pipeline:
    return get_service(request).pipeline


ServiceDep = Annotated[Service, Depends(get_service)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
