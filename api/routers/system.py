"""Service health and Prometheus metrics."""

from __future__ import annotations

import logging
from collections import Counter

from fastapi import APIRouter, Response, status
from sqlalchemy.exc import SQLAlchemyError

from api.deps import MetricsDep, PipelineDep, StoreDep
from api.schemas import HealthOut

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get(
    "/healthz",
    summary="Liveness and readiness: database reachable, storage, cameras per stream state",
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def healthz(store: StoreDep, pipeline: PipelineDep, response: Response) -> HealthOut:
    cameras = dict(Counter(str(view.stats.state) for view in pipeline.cameras()))
    storage, free = store.health.status(), store.health.free_bytes()
    try:
        store.ping()
    except SQLAlchemyError as exc:
        # Details go to the log only: driver messages can carry host names or user names.
        log.error("health check: database unreachable: %s", type(exc).__name__)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthOut(
            status="error", database="unreachable", cameras=cameras, storage=storage,
            free_bytes=free,
        )  # fmt: skip
    overall = "ok" if storage == "ok" else "degraded"
    return HealthOut(
        status=overall, database="ok", cameras=cameras, storage=storage, free_bytes=free
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Text exposition format."}},
)
def metrics(metrics: MetricsDep) -> Response:
    data, content_type = metrics.render()
    return Response(content=data, media_type=content_type)
