"""Typed FastAPI dependencies: the objects the app's lifespan put on ``app.state``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.config import AppConfig
from api.metrics import Metrics
from api.recording import Recorder
from api.store import EventStore
from streams.supervise import Supervisor

if TYPE_CHECKING:
    from api.pipeline import PipelineLike
    from api.publish.runtime import PublishRuntime


def get_config(request: Request) -> AppConfig:
    config: AppConfig = request.app.state.config
    return config


def get_store(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


def get_pipeline(request: Request) -> PipelineLike:
    pipeline: PipelineLike = request.app.state.pipeline
    return pipeline


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_supervisor(request: Request) -> Supervisor:
    supervisor: Supervisor = request.app.state.supervisor
    return supervisor


def get_recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.recorder
    return recorder


def get_publish(request: Request) -> PublishRuntime:
    publish: PublishRuntime = request.app.state.publish
    return publish


ConfigDep = Annotated[AppConfig, Depends(get_config)]
StoreDep = Annotated[EventStore, Depends(get_store)]
PipelineDep = Annotated["PipelineLike", Depends(get_pipeline)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PublishDep = Annotated["PublishRuntime", Depends(get_publish)]
SupervisorDep = Annotated[Supervisor, Depends(get_supervisor)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
