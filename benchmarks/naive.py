"""The loop most people would write, as the throughput benchmark's baseline.

One ``cv2.VideoCapture`` thread per camera decodes every frame and keeps the latest one; one
inference thread scores each camera's latest frame, batch 1, once per analysis interval, with
the same :class:`detector.model.OnnxModel` Emberwatch uses. Nothing here is used by the service.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from detector.model import OnnxModel
from streams.frame import Frame

# OpenCV's FFmpeg backend reads RTSP over UDP unless told otherwise; TCP like Emberwatch.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

# (camera id, monotonic time the frame was decoded, monotonic time its score came out)
ScoreHook = Callable[[str, float, float], None]


@dataclass(frozen=True, slots=True)
class _Latest:
    image: np.ndarray  # H x W x 3 uint8, BGR as OpenCV decodes it
    received: float  # time.monotonic() when decoded


class NaiveCamera:
    """Decodes every frame of ``url`` on its own thread; keeps the newest one."""

    def __init__(self, camera_id: str, url: str) -> None:
        self.id = camera_id
        self.url = url
        self.decoded = 0
        self._latest: _Latest | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"naive-{camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def latest(self) -> _Latest | None:
        return self._latest

    def _run(self) -> None:
        while not self._stop.is_set():
            cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG)
            while not self._stop.is_set():
                ok, image = cap.read()
                if not ok:
                    break
                self.decoded += 1
                self._latest = _Latest(image, time.monotonic())
            cap.release()
            self._stop.wait(1.0)  # reconnect after a pause, as a simple loop would


class NaiveLoop:
    """One thread scoring each camera's latest frame at ``interval_s``, one frame per call."""

    def __init__(
        self,
        model: OnnxModel,
        cameras: Sequence[NaiveCamera],
        interval_s: float,
        on_score: ScoreHook,
    ) -> None:
        self.model = model
        self.cameras = list(cameras)
        self.interval_s = interval_s
        self._on_score = on_score
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="naive-infer", daemon=True)

    def start(self) -> None:
        """Start scoring; the caller starts the cameras (the benchmark spreads them out)."""
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        for cam in self.cameras:
            cam.stop()

    def _run(self) -> None:
        last: dict[str, float] = {}
        while not self._stop.is_set():
            served = 0
            for cam in self.cameras:
                now = time.monotonic()
                latest = cam.latest()
                if latest is None or now - last.get(cam.id, -1e9) < self.interval_s:
                    continue
                last[cam.id] = now
                self._score(cam.id, latest)
                served += 1
            if not served:
                self._stop.wait(0.01)

    def _score(self, camera_id: str, latest: _Latest) -> None:
        rgb = cv2.cvtColor(latest.image, cv2.COLOR_BGR2RGB)
        frame = Frame(camera_id, time.time(), 0, rgb, received=latest.received)
        self.model.score([frame])
        self._on_score(camera_id, latest.received, time.monotonic())
