"""Cameras: configuration, stream state and counters, latest frame."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, HTTPException, Response, status
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, Role, require
from api.deps import PipelineDep
from api.schemas import CameraCounters, CameraOut, responses, to_datetime
from api.snapshots import SnapshotError, render_snapshot
from streams.redact import redact_text, redact_url

if TYPE_CHECKING:
    from api.pipeline import CameraView, PipelineLike

CAMERAS_PATH = "/api/cameras"
# Reading needs the viewer role; changing cameras or masks needs RequireAdmin on the route.
router = APIRouter(
    prefix=CAMERAS_PATH,
    tags=["cameras"],
    dependencies=[Depends(require(Role.VIEWER))],
    responses=AUTH_RESPONSES,
)

_NO_CAMERA = {404: "No camera with this id is configured."}


def camera_out(view: CameraView, now: float) -> CameraOut:
    """API view of one camera. URL and error text are redacted again here: defence in depth."""
    cfg, stats = view.config, view.stats
    last = stats.last_frame_ts
    return CameraOut(
        id=cfg.id,
        name=cfg.display_name,
        url=redact_url(stats.url),
        enabled=cfg.enabled,
        state=str(stats.state),
        counters=CameraCounters(
            decoded=stats.decoded,
            sampled=stats.sampled,
            dropped=stats.dropped,
            analysed=view.analysed,
            reconnects=stats.reconnects,
        ),
        interval_s=cfg.interval_s,
        keyframes_only=stats.keyframes_only,
        fps=stats.fps,
        gop_s=stats.gop_s,
        last_frame_at=to_datetime(last),
        last_frame_age_s=None if last is None else max(0.0, now - last),
        lag_s=view.lag_s,
        last_error=redact_text(stats.last_error, [cfg.url]) if stats.last_error else None,
        scores=dict(view.scores),
        latitude=cfg.latitude,
        longitude=cfg.longitude,
        heading_deg=cfg.heading_deg,
        fov_deg=cfg.fov_deg,
        masks=[list(poly) for poly in cfg.masks],
        latest_url=f"{CAMERAS_PATH}/{cfg.id}/latest.jpg",
    )


def _find(pipeline: PipelineLike, camera_id: str) -> CameraView:
    for view in pipeline.cameras():
        if view.config.id == camera_id:
            return view
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} is not configured")


@router.get("", summary="All cameras with stream state and counters")
def list_cameras(pipeline: PipelineDep) -> list[CameraOut]:
    now = time.time()
    return [camera_out(view, now) for view in pipeline.cameras()]


@router.get("/{camera_id}", summary="One camera", responses=responses(_NO_CAMERA))
def get_camera(camera_id: str, pipeline: PipelineDep) -> CameraOut:
    return camera_out(_find(pipeline, camera_id), time.time())


@router.get(
    "/{camera_id}/latest.jpg",
    summary="The camera's latest sampled frame as JPEG",
    response_class=Response,
    responses=responses(_NO_CAMERA | {503: "The camera has not delivered a frame yet."}, jpeg=True),
)
async def latest_frame(camera_id: str, pipeline: PipelineDep) -> Response:
    view = _find(pipeline, camera_id)
    frame = pipeline.latest_frame(camera_id)
    if frame is None:
        detail = f"camera {camera_id!r} has no frame yet (stream state: {view.stats.state})"
        if view.stats.last_error:
            detail += f"; last error: {redact_text(view.stats.last_error, [view.config.url])}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail)
    try:
        # JPEG encoding takes milliseconds at 1080p: keep it off the event loop.
        data = await run_in_threadpool(render_snapshot, frame.image, (), annotate=False)
    except SnapshotError as exc:
        detail = f"camera {camera_id!r}: {exc}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from exc
    headers = {"Cache-Control": "no-store", "X-Frame-Timestamp": f"{frame.ts:.3f}"}
    return Response(content=data, media_type="image/jpeg", headers=headers)
