"""What travels on the events stream: a transition (the detector's EventUpdate without its
frame, whose JPEG goes to the object store) or a camera taken by a worker.

Each message has an id, sent as ``Nats-Msg-Id``: the stream drops a repeat within its
duplicate window, and the recorder skips an id it has recorded before.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from detector.types import EventUpdate, Reason, Region, Transition
from streams.frame import Frame

#: JPEG quality of the frames sent for snapshots (the recorder draws and re-encodes them).
JPEG_QUALITY = 90


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    worker: str
    incarnation: str
    camera_id: str
    sent_at: float  # epoch seconds when it was queued for publishing


class RegionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cls: str
    score: float
    box: tuple[float, float, float, float]


class TransitionMessage(_Message):
    """One EventUpdate. ``track`` and ``parent_track`` count within one run of the camera in
    the worker's process (``run``: it starts again from 0 when the camera is taken again)."""

    kind: Literal["transition"] = "transition"
    run: str = Field("", max_length=32)
    cls: str
    transition: Transition
    started_at: float
    ts: float
    score: float
    peak_score: float
    is_peak: bool = False
    regions: tuple[RegionBody, ...] = ()
    track: int = 0
    box: tuple[float, float, float, float] | None = None
    parent_track: int | None = None
    parent_event: int | None = None
    reason: Reason = Reason.NONE
    snapshot: str | None = None  # object name of the frame's JPEG
    frame_index: int = 0


class HeldMessage(_Message):
    """A worker took ``camera_id``: episodes another process left open on it are over."""

    kind: Literal["held"] = "held"
    since: float


Message = Annotated[TransitionMessage | HeldMessage, Field(discriminator="kind")]
MESSAGE: TypeAdapter[TransitionMessage | HeldMessage] = TypeAdapter(Message)


def new_id() -> str:
    return uuid.uuid4().hex


def transition_message(
    update: EventUpdate,
    *,
    msg_id: str,
    worker: str,
    incarnation: str,
    sent_at: float,
    run: str = "",
) -> TransitionMessage:
    """The message of ``update``; its snapshot object is named after the message id."""
    regions = tuple(RegionBody(cls=r.cls, score=r.score, box=r.box) for r in update.regions)
    return TransitionMessage(
        id=msg_id,
        worker=worker,
        incarnation=incarnation,
        camera_id=update.camera_id,
        sent_at=sent_at,
        run=run,
        cls=update.cls,
        transition=update.transition,
        started_at=update.started_at,
        ts=update.ts,
        score=update.score,
        peak_score=update.peak_score,
        is_peak=update.is_peak,
        regions=regions,
        track=update.track,
        box=update.box,
        parent_track=update.parent_track,
        parent_event=update.parent_event,
        reason=update.reason,
        snapshot=f"{msg_id}.jpg" if update.frame is not None else None,
        frame_index=update.frame.index if update.frame is not None else 0,
    )


def to_update(msg: TransitionMessage, frame: Frame | None, track: int) -> EventUpdate:
    """The EventUpdate again, with the recorder's own ``track`` number for the episode."""
    return EventUpdate(
        camera_id=msg.camera_id,
        cls=msg.cls,
        transition=msg.transition,
        started_at=msg.started_at,
        ts=msg.ts,
        score=msg.score,
        peak_score=msg.peak_score,
        is_peak=msg.is_peak,
        regions=tuple(Region(cls=r.cls, score=r.score, box=r.box) for r in msg.regions),
        frame=frame,
        track=track,
        box=msg.box,
        parent_event=msg.parent_event,
        reason=msg.reason,
    )


def encode_jpeg(frame: Frame) -> bytes:
    """The frame (RGB) as a JPEG."""
    try:
        bgr = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"camera {frame.camera_id}: frame could not be encoded")
    return bytes(buf)


def decode_frame(data: bytes, msg: TransitionMessage) -> Frame | None:
    """The frame of ``msg`` from its JPEG; None when the bytes are not an image."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return Frame(msg.camera_id, msg.ts, msg.frame_index, np.ascontiguousarray(rgb))
