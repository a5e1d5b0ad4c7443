"""Typed FastAPI dependencies: the objects the app's lifespan put on ``app.state``.

Every route takes them from here (``StoreDep``, ``AuthDep``...), never from ``app.state``.
They are ``async def`` on purpose: they only read ``app.state``, and FastAPI runs a plain
``def`` dependency on a worker thread, one hand-off per dependency per request, which under
many viewers queues behind the endpoints themselves. (:func:`get_auth` is also called directly,
by :func:`api.auth.current_principal`, so it stays a plain function.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.login_guard import LoginGuard
from api.page_cache import RenderedPages
from service.camera_registry import CameraRegistry
from service.config import AppConfig
from service.metrics import Metrics
from service.recording import Recorder
from store.accounts import AuthStore
from store.events import EventStore
from streams.supervise import Supervisor

if TYPE_CHECKING:
    from alerts.runtime import PublishRuntime
    from service.pipeline import PipelineLike


async def get_config(request: Request) -> AppConfig:
    config: AppConfig = request.app.state.config
    return config


async def get_store(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


async def get_event_pages(request: Request) -> RenderedPages:
    pages: RenderedPages = request.app.state.event_pages
    return pages


async def get_pipeline(request: Request) -> PipelineLike:
    pipeline: PipelineLike = request.app.state.pipeline
    return pipeline


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_supervisor(request: Request) -> Supervisor:
    supervisor: Supervisor = request.app.state.supervisor
    return supervisor


async def get_recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.recorder
    return recorder


async def get_publish(request: Request) -> PublishRuntime:
    publish: PublishRuntime = request.app.state.publish
    return publish


async def get_registry(request: Request) -> CameraRegistry:
    registry: CameraRegistry = request.app.state.cameras
    return registry


def get_auth(request: Request) -> AuthStore:
    store: AuthStore = request.app.state.auth
    return store


async def get_login_guard(request: Request) -> LoginGuard:
    guard: LoginGuard = request.app.state.login
    return guard


ConfigDep = Annotated[AppConfig, Depends(get_config)]
StoreDep = Annotated[EventStore, Depends(get_store)]
EventPagesDep = Annotated[RenderedPages, Depends(get_event_pages)]
PipelineDep = Annotated["PipelineLike", Depends(get_pipeline)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PublishDep = Annotated["PublishRuntime", Depends(get_publish)]
RegistryDep = Annotated[CameraRegistry, Depends(get_registry)]
AuthDep = Annotated[AuthStore, Depends(get_auth)]
LoginGuardDep = Annotated[LoginGuard, Depends(get_login_guard)]
SupervisorDep = Annotated[Supervisor, Depends(get_supervisor)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
