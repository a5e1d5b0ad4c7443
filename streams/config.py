"""Validated camera and stream settings."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class DecodeMode(StrEnum):
    AUTO = "auto"  # keyframes only when the analysis interval is at least the GOP length
    KEYFRAMES = "keyframes"
    ALL = "all"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def expand_env(value: str) -> str:
    """Replace ``${NAME}`` with the environment variable NAME (for camera passwords).

    Raises:
        ValueError: naming the variable when it is not set.
    """

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REF.sub(repl, value)


Point = tuple[float, float]

_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
# The rules check_polygons enforces, stated in the JSON schema (the messages stay its own).
MASKS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "array",
        "minItems": 3,
        "items": {"type": "array", "prefixItems": [_UNIT, _UNIT], "minItems": 2, "maxItems": 2},
    },
}


def check_polygons(polygons: list[list[Point]]) -> list[list[Point]]:
    """Validate mask polygons: at least 3 points each, all within 0..1.

    Raises:
        ValueError: naming the mask index and the offending point.
    """
    for i, poly in enumerate(polygons):
        if len(poly) < 3:
            raise ValueError(f"mask {i} has {len(poly)} points; a polygon needs at least 3")
        for x, y in poly:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"mask {i} point ({x}, {y}) is outside 0..1")
    return polygons


#: Mask polygons as configured and sent; validated by :func:`check_polygons`.
MaskList = Annotated[list[list[Point]], WithJsonSchema(MASKS_SCHEMA)]


#: URL schemes a camera may use (PyAV reads them); anything else is refused when configured.
CAMERA_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "rtp", "file")
_URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def check_scheme(url: str) -> str:
    """``url`` unchanged when it is a file path or uses one of :data:`CAMERA_SCHEMES`.

    >>> check_scheme("ftp://archive/cam.mp4")
    Traceback (most recent call last):
    ...
    ValueError: unsupported scheme 'ftp': use rtsp://, rtsps://, rtmp://, rtmps://, http://, \
https://, srt://, udp://, rtp://, file:// or a file path
    """
    match = _URL_SCHEME.match(url)
    if match is None or match.group("scheme").lower() in CAMERA_SCHEMES:
        return url
    allowed = ", ".join(f"{s}://" for s in CAMERA_SCHEMES)
    raise ValueError(f"unsupported scheme {match.group('scheme')!r}: use {allowed} or a file path")


class CameraConfig(StrictModel):
    id: str = Field(pattern=_ID, description="Stable identifier, used in URLs and the database.")
    name: str = Field("", description="Human-readable name; defaults to the id.")
    url: str = Field(
        description="rtsp://user:pass@host/path, or a video file path. ${VAR} expands from the "
        "environment so passwords stay out of the file."
    )
    loop: bool = Field(False, description="Files only: start again at the end (demo cameras).")
    realtime: bool = Field(True, description="Files only: play at the file's frame rate.")
    interval_s: float = Field(5.0, gt=0, le=3600, description="Analyse one frame every N seconds.")
    decode: DecodeMode = DecodeMode.AUTO
    enabled: bool = True
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    heading_deg: float | None = Field(None, ge=0, lt=360, description="Bearing of image centre.")
    fov_deg: float | None = Field(None, gt=0, le=360, description="Horizontal field of view.")
    masks: MaskList = Field(
        default_factory=list,
        description="Polygons to ignore, as lists of (x, y) normalised to 0..1 of the frame.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-class opening thresholds overriding the model's."
    )
    focus: bool = Field(
        True,
        description="Score focus crops where the view changed, if the model has them; turn off "
        "for a camera that pans, zooms or shakes (its whole view changes).",
    )
    model_dir: Path | None = Field(
        None,
        description="This camera's own model directory (configuration file only). Default: "
        "detector.model_dir, the model of every other camera.",
    )

    @field_validator("url")
    @classmethod
    def _expand(cls, value: str) -> str:
        return check_scheme(expand_env(value))

    @field_validator("masks")
    @classmethod
    def _polygons(cls, value: list[list[Point]]) -> list[list[Point]]:
        return check_polygons(value)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class StreamSettings(StrictModel):
    open_timeout_s: float = Field(5.0, gt=0, description="Timeout to open a stream.")
    read_timeout_s: float = Field(5.0, gt=0, description="Timeout for a read on an open stream.")
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
