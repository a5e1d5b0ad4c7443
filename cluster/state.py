"""What the API decides and the workers apply: camera configurations and muted regions.

Both live in key-value buckets keyed by camera id, written by the API replicas and read by
every worker on each tick. Values are JSON; an unreadable one is logged and skipped (a worker
never stops over one bad camera).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from detector.types import Mute
from streams.config import CameraConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DesiredState:
    """The cameras to watch and each camera's muted regions, as the API last wrote them."""

    cameras: Mapping[str, CameraConfig] = field(default_factory=dict)
    mutes: Mapping[str, tuple[Mute, ...]] = field(default_factory=dict)


def encode_camera(cam: CameraConfig) -> bytes:
    return cam.model_dump_json().encode()


def decode_cameras(raw: Mapping[str, bytes]) -> dict[str, CameraConfig]:
    out = {}
    for key, value in raw.items():
        try:
            out[key] = CameraConfig.model_validate_json(value)
        except ValidationError as exc:
            log.error("camera %s: configuration on the bus is invalid: %s", key, exc)
    return out


def encode_mutes(mutes: Sequence[Mute]) -> bytes:
    body = [
        {"event_id": m.event_id, "cls": m.cls, "box": list(m.box), "level": m.level,
         "since": m.since}
        for m in mutes
    ]  # fmt: skip
    return json.dumps(body).encode()


def _mute(item: Mapping[str, object]) -> Mute:
    x0, y0, x1, y1 = (float(v) for v in item["box"])  # type: ignore[attr-defined]
    return Mute(
        event_id=int(item["event_id"]),  # type: ignore[call-overload]
        cls=str(item["cls"]),
        box=(x0, y0, x1, y1),
        level=float(item["level"]),  # type: ignore[arg-type]
        since=float(item["since"]),  # type: ignore[arg-type]
    )


def decode_mutes(raw: Mapping[str, bytes]) -> dict[str, tuple[Mute, ...]]:
    out = {}
    for key, value in raw.items():
        try:
            out[key] = tuple(_mute(item) for item in json.loads(value))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("camera %s: muted regions on the bus are unreadable: %s", key, exc)
    return out
