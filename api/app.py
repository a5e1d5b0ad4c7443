"""The FastAPI application factory.

``create_app(config)`` builds an app whose lifespan opens the database, closes events a
previous run left active, builds and starts the pipeline (unless one is passed in, as tests
do) and the recorder that stores its events (:mod:`service.recording`), and on shutdown stops the
pipeline, lets the recorder store what is queued and closes the database. Long-lived threads
report to one :class:`streams.supervise.Supervisor` (``app.state.supervisor``), which
``/healthz`` and ``/metrics`` read. Each camera's smoother gets
the stored muted regions when it is built, and again whenever a dismissal or a lift changes
them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from alerts.runtime import PublishRuntime, pipeline_cameras
from api import errors
from api.login_guard import LoginGuard
from api.page_cache import RenderedPages
from api.routers import (
    acks,
    auth,
    cameras,
    console,
    departments,
    docs,
    events,
    export,
    maps,
    mutes,
    publish,
    stats,
    stream,
    system,
    users,
)
from api.routers.stats import OperatorStatsCollector
from detector.types import EventUpdate, Mute
from service.camera_registry import CameraRegistry
from service.config import AppConfig
from service.metrics import Metrics
from service.recording import Recorder
from store.accounts import AuthStore
from store.alert_tables import DepartmentRow
from store.cameras import RuntimeCameraRow
from store.db import init_db, make_engine
from store.events import EventStore
from store.private_files import private_dir
from store.sealing import KEY_FILE as SEALING_KEY_FILE
from store.sealing import bind_box, load_or_create_box, seal_plaintext
from streams.supervise import Supervisor

if TYPE_CHECKING:
    from service.pipeline import PipelineLike

log = logging.getLogger(__name__)

# Columns that hold credentials, stored sealed (store.sealing).
SEALED_COLUMNS = (
    DepartmentRow.__table__.c.webhook_url,
    DepartmentRow.__table__.c.secret,
    DepartmentRow.__table__.c.webhook_template,
    RuntimeCameraRow.__table__.c.definition,
)

DESCRIPTION = """Wildfire smoke and flame events from the configured cameras.

Times are UTC (ISO 8601). Boxes are `[x0, y0, x1, y1]` normalised to 0..1 of the frame.
Errors are JSON objects with a `detail` string naming the problem."""


def make_sink(store: EventStore, metrics: Metrics) -> Callable[[EventUpdate], None]:
    """The pipeline's event sink: store the transition, then count it."""

    def sink(update: EventUpdate) -> None:
        if store.apply(update) is not None:
            metrics.observe_event(update)

    return sink


def stored_mutes(store: EventStore) -> Callable[[str], Sequence[Mute]]:
    """A camera id -> its muted regions in force, as the detector takes them."""

    def mutes(camera_id: str) -> list[Mute]:
        return [record.mute() for record in store.mutes(camera_id)]

    return mutes


def _build_pipeline(
    config: AppConfig, store: EventStore, recorder: Recorder, metrics: Metrics
) -> PipelineLike:
    # Imported here: the real pipeline loads the model and opens cameras; tests pass a fake.
    from service.pipeline import Pipeline

    return Pipeline(
        config,
        recorder.submit,  # the scoring threads only queue; the recorder stores
        observer=metrics,
        mutes=stored_mutes(store),
        supervisor=recorder.supervisor,
    )


def _follow_mutes(store: EventStore, pipeline: PipelineLike) -> None:
    """After a dismissal or a lift, hand that camera's muted regions to the detector."""
    mutes = stored_mutes(store)
    store.add_mute_listener(lambda camera_id: pipeline.set_mutes(camera_id, mutes(camera_id)))


def _api_error(error: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """One entry of a 422's ``errors``, worded as the configuration check words it."""
    loc, kind = list(error["loc"]), error["type"]
    if kind == "json_invalid":  # loc is ("body", character offset)
        reason = str(error.get("ctx", {}).get("error", "JSON decode error"))
        pos = loc[-1] if isinstance(loc[-1], int) else 0
        msg = errors.json_problem(body or "", pos, reason)
        return {"loc": ["body"], "msg": msg, "type": kind}
    if loc == ["body"] and kind == "missing":
        msg = "empty: send a JSON object"
    elif loc == ["body"] and kind in ("model_attributes_type", "dict_type"):
        # pydantic's wording for a body that is JSON but not an object (or not JSON at all,
        # sent without a JSON content type) does not say what to send.
        msg = "must be a JSON object"
    else:
        msg = errors.message(error)
    return {"loc": loc, "msg": msg, "type": kind}


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """422 with a one-line ``detail`` naming each bad field, and the list in ``errors``."""
    body = exc.body if isinstance(exc, RequestValidationError) else None
    raw = exc.errors() if isinstance(exc, RequestValidationError) else []
    items = [_api_error(e, body) for e in raw]
    where = [errors.location(e["loc"], {"body": body}) for e in items]
    detail = "; ".join(f"{w}: {e['msg']}" for w, e in zip(where, items, strict=True))
    return JSONResponse({"detail": detail, "errors": items}, status_code=422)


# What FastAPI answers, as a bare 400, to a body it cannot even decode (not UTF-8, say).
_UNPARSED_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors as FastAPI answers them, except an undecodable body: a 422 like any other
    invalid body, naming it."""
    if isinstance(exc, StarletteHTTPException) and exc.detail == _UNPARSED_BODY:
        msg = "not valid JSON: the body must be a JSON object in UTF-8"
        error = {"loc": ["body"], "msg": msg, "type": "json_invalid"}
        return JSONResponse({"detail": f"body: {msg}", "errors": [error]}, status_code=422)
    return await http_exception_handler(request, cast(StarletteHTTPException, exc))


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("database error while serving a request: %s", type(exc).__name__)
    return JSONResponse({"detail": "the database is unavailable"}, status_code=503)


# Builds the app's pipeline from the run configuration, the event store and the metrics.
PipelineFactory = Callable[[AppConfig, EventStore, Metrics], "PipelineLike"]


def _pipeline(
    run: AppConfig,
    store: EventStore,
    recorder: Recorder,
    metrics: Metrics,
    factory: PipelineFactory | None,
) -> PipelineLike:
    """The factory's pipeline (cameras on workers), else the local one feeding ``recorder``."""
    if factory is not None:
        return factory(run, store, metrics)
    return _build_pipeline(run, store, recorder, metrics)


def create_app(
    config: AppConfig,
    *,
    pipeline: PipelineLike | None = None,
    pipeline_factory: PipelineFactory | None = None,
    close_stale: bool = True,
) -> FastAPI:
    """Build the app. ``pipeline``: use this instead of building the real one (tests).

    ``pipeline_factory``: builds the pipeline instead of the local one (``serve --bus``: the
    cameras run on workers); ``close_stale``: end the events a previous run left active (not
    where other processes are still detecting them).
    """
    supervisor = Supervisor()
    metrics = Metrics()
    operator_stats = OperatorStatsCollector()
    metrics.registry.register(operator_stats)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in (config.data_dir, config.snapshot_dir):
            private_dir(folder)  # snapshots, keys and the database: the service's user only
        engine = make_engine(config.database_url)
        login = LoginGuard.create(config.auth)  # password checks run on its small pool
        try:
            bind_box(engine, load_or_create_box(config.data_dir / SEALING_KEY_FILE))
            init_db(engine)
            seal_plaintext(engine, *SEALED_COLUMNS)  # rows written before sealing existed
            # Cameras added, changed or deleted through the API since the YAML was written.
            registry = CameraRegistry(engine)
            run = config.model_copy(update={"cameras": registry.load(config.cameras)})
            names = {cam.id: cam.display_name for cam in run.cameras}
            half_life = run.smoothing.mute_half_life_s
            store = EventStore(
                engine, config.snapshot_dir, camera_names=names, mute_half_life_s=half_life
            )
            if close_stale:
                store.close_stale()
            metrics.watch_storage(store.health)
            app.state.auth = AuthStore(engine, token_lifetime_s=config.auth.token_lifetime_s)
            app.state.login = login
            operator_stats.attach(engine)
            await run_in_threadpool(app.state.auth.ensure_initial_admin, config.data_dir)
            recorder = Recorder(make_sink(store, metrics), supervisor)
            pipe = pipeline or _pipeline(run, store, recorder, metrics, pipeline_factory)
            _follow_mutes(store, pipe)
            metrics.attach(pipe)
            metrics.watch_runtime(supervisor, recorder.backlog)
            registry.run_on(pipe, lambda cam: store.set_camera_name(cam.id, cam.display_name))
            # The declaration as given: the running cameras are the registry's, not run.cameras.
            app.state.config, app.state.store, app.state.cameras = config, store, registry
            app.state.pipeline, app.state.metrics = pipe, metrics
            app.state.event_pages = RenderedPages(lambda: store.generation)
            app.state.supervisor, app.state.recorder = supervisor, recorder
            cams = pipeline_cameras(pipe)
            publisher = PublishRuntime.create(run, engine, store, cams, supervisor=supervisor)
            app.state.publish = publisher
            publisher.start()  # before the pipeline: its listener must see the first events
            recorder.start()
            try:
                await run_in_threadpool(pipe.start)
                try:
                    yield
                finally:
                    await run_in_threadpool(pipe.stop)
            finally:
                await run_in_threadpool(recorder.stop)  # store what the pipeline queued
                await run_in_threadpool(publisher.stop)
        finally:
            login.pool.close()
            engine.dispose()

    app = FastAPI(
        title="Emberwatch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by api.routers.docs
        redoc_url=None,
    )
    if config.server.forwarded_allow_ips:
        # Only these proxies may say who the client is (the login limit counts per address).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.server.forwarded_allow_ips)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    # Starlette tries routes in registration order and the first path that matches answers, so
    # order matters where a fixed path shares a prefix with a path parameter: stream's
    # /api/events/stream must come before events' /api/events/{event_id}, which would take
    # "stream" as an id and answer 422.
    for module in (
        auth,
        users,
        stream,
        stats,
        export,
        maps,
        events,
        mutes,
        publish,
        acks,
        departments,
        cameras,
        system,
    ):
        app.include_router(module.router)
    app.include_router(console.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_URL, docs.assets(), name="docs-static")
    app.mount("/static", console.static_files(), name="static")
    return app
