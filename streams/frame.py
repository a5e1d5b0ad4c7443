"""The unit that travels from a camera to the detector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded picture of one camera.

    Attributes:
        camera_id: id of the camera in the configuration.
        ts: capture time in seconds. Wall-clock epoch seconds for live cameras; for recorded
            clips played by the benchmarks, real-world seconds since the start of the clip
            (frame index x seconds_per_frame_real).
        index: position of the frame in the decoded stream, 0-based, counting every frame the
            decoder produced since the stream was (re)opened.
        image: ``H x W x 3`` uint8 array, RGB channel order.
        keyframe: True when the frame was an intra (key) frame of the bitstream.
        received: ``time.monotonic()`` when the decoder produced the frame; used to measure the
            latency from arrival to score.
    """

    camera_id: str
    ts: float
    index: int
    image: np.ndarray
    keyframe: bool = False
    received: float = 0.0

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
