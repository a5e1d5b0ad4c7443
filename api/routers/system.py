"""Service health and Prometheus metrics."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict

from fastapi import APIRouter, Response, status
from sqlalchemy.exc import SQLAlchemyError

from api.deps import MetricsDep, PipelineDep, RecorderDep, StoreDep, SupervisorDep
from api.schemas.system import HealthOut, HealthReasonOut, RecorderOut
from service.health import degraded_reasons

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get(
    "/healthz",
    summary="Liveness and readiness: database, storage, threads, recorder backlog, cameras",
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def healthz(
    store: StoreDep,
    pipeline: PipelineDep,
    supervisor: SupervisorDep,
    recorder: RecorderDep,
    response: Response,
) -> HealthOut:
    """200 with ``ok`` or ``degraded`` (and its reasons) while the database answers, else 503."""
    views = pipeline.cameras()
    cameras = dict(Counter(str(view.stats.state) for view in views))
    storage, free, backlog = store.health.status(), store.health.free_bytes(), recorder.backlog()
    reasons = degraded_reasons(
        storage=storage,
        threads=supervisor.statuses(),
        backlog=backlog,
        cameras=[view.stats for view in views],
    )
    out = HealthOut(
        status="degraded" if reasons else "ok",
        reasons=[HealthReasonOut(code=r.code, detail=r.detail) for r in reasons],
        recorder=RecorderOut(**asdict(backlog)),
        database="ok",
        cameras=cameras,
        storage=storage,
        free_bytes=free,
    )
    try:
        store.ping()
    except SQLAlchemyError as exc:
        # Details go to the log only: driver messages can carry host names or user names.
        log.error("health check: database unreachable: %s", type(exc).__name__)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return out.model_copy(update={"status": "error", "database": "unreachable"})
    return out


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Text exposition format."}},
)
def metrics(metrics: MetricsDep) -> Response:
    data, content_type = metrics.render()
    return Response(content=data, media_type=content_type)
