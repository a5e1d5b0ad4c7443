"""Typed FastAPI dependencies: the objects the app's lifespan put on ``app.state``.

Every route takes them from here (``StoreDep``, ``AuthDep``...), never from ``app.state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.login_guard import LoginGuard
from api.metrics import Metrics
from service.camera_registry import CameraRegistry
from service.config import AppConfig
from store.accounts import AuthStore
from store.events import EventStore

if TYPE_CHECKING:
    from alerts.runtime import PublishRuntime
    from service.pipeline import PipelineLike


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


def get_publish(request: Request) -> PublishRuntime:
    publish: PublishRuntime = request.app.state.publish
    return publish


def get_registry(request: Request) -> CameraRegistry:
    registry: CameraRegistry = request.app.state.cameras
    return registry


def get_auth(request: Request) -> AuthStore:
    store: AuthStore = request.app.state.auth
    return store


def get_login_guard(request: Request) -> LoginGuard:
    guard: LoginGuard = request.app.state.login
    return guard


ConfigDep = Annotated[AppConfig, Depends(get_config)]
StoreDep = Annotated[EventStore, Depends(get_store)]
PipelineDep = Annotated["PipelineLike", Depends(get_pipeline)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PublishDep = Annotated["PublishRuntime", Depends(get_publish)]
RegistryDep = Annotated[CameraRegistry, Depends(get_registry)]
AuthDep = Annotated[AuthStore, Depends(get_auth)]
LoginGuardDep = Annotated[LoginGuard, Depends(get_login_guard)]
