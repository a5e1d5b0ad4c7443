"""Cameras: configuration, stream state and counters, latest frame; runtime changes (admin).

``POST``, ``PUT`` and ``DELETE`` change the running pipeline without a restart (the other
cameras keep streaming) and persist the change (:mod:`service.camera_registry`).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, RequireAdmin, require
from api.deps import ConfigDep, PipelineDep, RegistryDep, StoreDep
from api.schemas.cameras import CameraCounters, CameraOut, LookAlikeOut, MasksIn
from api.schemas.common import field_error, responses, to_datetime
from service.camera_registry import CameraExists, CameraIn, CameraNotFound
from store.events import EventStore
from store.roles import Role
from store.snapshots import SnapshotError, render_snapshot
from streams.decode import is_network_url
from streams.redact import redact_text, redact_url

if TYPE_CHECKING:
    from service.pipeline import CameraView, PipelineLike

CAMERAS_PATH = "/api/cameras"
# Reading needs the viewer role; changing cameras or masks needs RequireAdmin on the route.
router = APIRouter(
    prefix=CAMERAS_PATH,
    tags=["cameras"],
    dependencies=[Depends(require(Role.VIEWER))],
    responses=AUTH_RESPONSES,
)

_NO_CAMERA = {404: "No camera with this id is configured."}


def camera_out(view: CameraView, now: float, muted: int = 0) -> CameraOut:
    """API view of one camera with ``muted`` regions in force. URL and error text are redacted
    again here: defence in depth."""
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
        analysis_age_s=view.analysis_age_s,
        behind=view.behind,
        last_error=redact_text(stats.last_error, urls=[cfg.url]) if stats.last_error else None,
        scores=dict(view.scores),
        thresholds=dict(view.thresholds),
        model=view.model,
        latitude=cfg.latitude,
        longitude=cfg.longitude,
        heading_deg=cfg.heading_deg,
        fov_deg=cfg.fov_deg,
        masks=[list(poly) for poly in cfg.masks],
        focus=cfg.focus,
        look_alikes=[LookAlikeOut(cls=la.cls, box=la.box) for la in view.look_alikes],
        muted_regions=muted,
        latest_url=f"{CAMERAS_PATH}/{cfg.id}/latest.jpg",
        worker=view.holder,
        held_since=to_datetime(view.held_since),
        handover=view.handover,
    )


def _find(pipeline: PipelineLike, camera_id: str) -> CameraView:
    for view in pipeline.cameras():
        if view.config.id == camera_id:
            return view
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} is not configured")


@router.get("", summary="All cameras with stream state and counters")
def list_cameras(pipeline: PipelineDep, store: StoreDep) -> list[CameraOut]:
    now = time.time()
    muted = Counter(mute.camera_id for mute in store.mutes())
    return [camera_out(view, now, muted[view.config.id]) for view in pipeline.cameras()]


@router.get("/{camera_id}", summary="One camera", responses=responses(_NO_CAMERA))
def get_camera(camera_id: str, pipeline: PipelineDep, store: StoreDep) -> CameraOut:
    return _view(pipeline, store, camera_id)


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
            detail += f"; last error: {redact_text(view.stats.last_error, urls=[view.config.url])}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail)
    try:
        # JPEG encoding takes milliseconds at 1080p: keep it off the event loop.
        data = await run_in_threadpool(render_snapshot, frame.image, (), annotate=False)
    except SnapshotError as exc:
        detail = f"camera {camera_id!r}: {exc}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from exc
    headers = {"Cache-Control": "no-store", "X-Frame-Timestamp": f"{frame.ts:.3f}"}
    return Response(content=data, media_type="image/jpeg", headers=headers)


# ---------------------------------------------------------------- runtime changes (admin)

_EXISTS = {409: "A camera with this id already exists."}


def _invalid(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> RequestValidationError:
    """A validation error found after FastAPI parsed the body, as a 422 naming the field."""
    errors: list[dict[str, Any]] = [
        {"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    return RequestValidationError(errors)


def _check_source(camera: CameraIn, data_dir: Path) -> None:
    """422 for a local video file outside the data directory, or missing inside it (network
    URLs are tried by the stream).

    Outside the data directory the answer is the same whether the file exists or not, so the
    API cannot be used to find out which files the server has.
    """
    if is_network_url(camera.url):
        return
    try:
        inside = Path(camera.url).resolve().is_relative_to(data_dir.resolve())
        found = inside and Path(camera.url).is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte: no file of ours
        inside = found = False
    if not inside:
        msg = f"a video file for a camera added through the API must be inside {data_dir}"
        raise field_error("url", msg)
    if not found:
        raise field_error("url", f"no such video file in {data_dir}")


def _view(pipeline: PipelineLike, store: EventStore, camera_id: str) -> CameraOut:
    return camera_out(_find(pipeline, camera_id), time.time(), len(store.mutes(camera_id)))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a camera (admin); it starts streaming at once and survives restarts",
    responses=responses(_EXISTS),
)
def add_camera(
    body: CameraIn,
    pipeline: PipelineDep,
    registry: RegistryDep,
    store: StoreDep,
    settings: ConfigDep,
    _: RequireAdmin,
) -> CameraOut:
    _check_source(body, settings.data_dir)
    try:
        config = registry.create(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    except CameraExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _view(pipeline, store, config.id)


@router.put(
    "/{camera_id}",
    summary="Replace a camera's definition (admin); only this camera's stream restarts",
    responses=responses(_NO_CAMERA),
)
def replace_camera(
    camera_id: str,
    body: CameraIn,
    pipeline: PipelineDep,
    registry: RegistryDep,
    store: StoreDep,
    settings: ConfigDep,
    _: RequireAdmin,
) -> CameraOut:
    if body.id != camera_id:
        raise field_error("id", f"must be {camera_id!r}, the id in the path")
    _check_source(body, settings.data_dir)
    try:
        config = registry.replace(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    except CameraNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _view(pipeline, store, config.id)


@router.delete(
    "/{camera_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a camera (admin); its stored events stay",
    responses=responses(_NO_CAMERA),
)
def delete_camera(camera_id: str, registry: RegistryDep, _: RequireAdmin) -> Response:
    try:
        registry.delete(camera_id)
    except CameraNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{camera_id}/masks",
    summary="Replace a camera's ignore masks (admin); applied from its next frame",
    responses=responses(_NO_CAMERA),
)
def set_masks(
    camera_id: str,
    body: MasksIn,
    pipeline: PipelineDep,
    registry: RegistryDep,
    store: StoreDep,
    _: RequireAdmin,
) -> CameraOut:
    try:
        registry.set_masks(camera_id, body.masks)
    except CameraNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _view(pipeline, store, camera_id)
