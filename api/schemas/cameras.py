"""Cameras: configuration, stream state and counters, as the API shows them; the masks body."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import Box
from store.cameras import Masks
from streams.config import MaskList, check_polygons


class CameraCounters(BaseModel):
    decoded: int = Field(description="Frames produced by the decoder.")
    sampled: int = Field(description="Frames taken for analysis.")
    dropped: int = Field(description="Sampled frames replaced before analysis.")
    analysed: int = Field(description="Frames scored by the model.")
    reconnects: int


class LookAlikeOut(BaseModel):
    cls: str
    box: Box = Field(description="x0, y0, x1, y1 in 0..1.")


class CameraOut(BaseModel):
    id: str
    name: str
    url: str = Field(description="Stream URL with credentials masked.")
    enabled: bool
    state: str = Field(description="connecting, streaming, backoff or stopped.")
    counters: CameraCounters
    interval_s: float = Field(description="Analysis interval.")
    keyframes_only: bool
    fps: float | None
    gop_s: float | None = Field(description="Measured keyframe interval.")
    last_frame_at: AwareDatetime | None
    last_frame_age_s: float | None
    lag_s: float | None = Field(description="Age of the last analysed frame when scored.")
    analysis_age_s: float | None = Field(
        None, description="Seconds since the camera's last analysed frame."
    )
    behind: bool = Field(
        False,
        description="True while the camera streams but was not analysed for more than twice "
        "its interval: the detector cannot keep up (overload).",
    )
    last_error: str | None
    scores: dict[str, float] = Field(description="Latest raw model score per class.")
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Opening threshold per class in force: the model's, or the camera's own "
        "(`thresholds` in its configuration); empty while the camera is not analysed.",
    )
    model: str | None = Field(
        None,
        description="Name of the model that scores the camera (its model.yaml `name`; "
        "`demo-plume` in demo mode); null while the camera is not analysed (disabled).",
    )
    latitude: float | None
    longitude: float | None
    heading_deg: float | None
    fov_deg: float | None
    masks: list[list[tuple[float, float]]] = Field(description="Ignored polygons, 0..1.")
    focus: bool = Field(
        True,
        description="Whether the camera's frames get focus crops where its view changed (when "
        "the model has them; `focus` in its configuration).",
    )
    look_alikes: list[LookAlikeOut] = Field(
        default_factory=list,
        description="Regions that have scored above threshold for a long time without an event "
        "(`smoothing.look_alike_s`): likely look-alikes (fog, chimney, glare), mask candidates.",
    )
    muted_regions: int = Field(
        0,
        description="Regions muted by dismissals and not lifted (`GET /api/mutes?camera=`): "
        "inside them the camera alerts only on evidence that grows beyond or rises above them.",
    )
    latest_url: str
    worker: str | None = Field(
        None,
        description="With workers on a bus (`serve --bus`): the worker that holds the camera; "
        "null on a single node.",
    )
    held_since: AwareDatetime | None = Field(
        None, description="When that worker took the camera (`serve --bus`)."
    )
    handover: bool = Field(
        False,
        description="True while no worker reports on the camera: its worker stopped and another "
        "takes it over (`serve --bus`).",
    )


class MasksIn(BaseModel):
    """Body of ``PUT /api/cameras/{id}/masks``."""

    model_config = ConfigDict(extra="forbid")

    masks: MaskList = Field(
        description="Polygons to ignore, each a list of at least 3 [x, y] points in 0..1 of "
        "the frame; [] removes every mask."
    )

    @field_validator("masks")
    @classmethod
    def _polygons(cls, value: Masks) -> Masks:
        # The same rules as a camera's masks in the YAML file (and the same messages).
        return check_polygons(value)
