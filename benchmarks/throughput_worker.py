"""One throughput step in a process of its own: N cameras, one system, a fixed window.

Run by :mod:`benchmarks.throughput` as ``python -m benchmarks.throughput_worker SPEC.json
RESULT.json`` so that the process's CPU time and memory are those of the system under test alone
(not the RTSP server's, not the other system's). The spec names the system (``emberwatch``: the
service's real :class:`service.pipeline.Pipeline`; ``naive``: :mod:`benchmarks.naive`), the camera
URLs, the analysis interval, the model and the durations.

The cameras connect one after another, spread over ``stagger_s`` (real cameras' keyframes are not
aligned). The step warms up until every camera was analysed once (at most ``warmup_max_s``), then
measures for ``seconds``: analyses, latency from frame decode to score (``Frame.received`` to the
moment the score is handed out, both ``time.monotonic()``), each camera's analysis times, frames
decoded, process CPU time (all threads) and resident memory at the end.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from detector.types import Detection

if TYPE_CHECKING:
    from detector.model import OnnxModel

# After warm-up, let the last decode-mode switch and its batch pass before measuring.
SETTLE_S = 1.0


@dataclass(frozen=True)
class StepSpec:
    """What one worker runs. Times in seconds."""

    system: str  # "emberwatch" or "naive"
    urls: list[str]
    interval_s: float
    model_dir: str
    threads: int
    seconds: float
    warmup_max_s: float
    stagger_s: float = 0.0  # cameras connect spread over this many seconds (0: all at once)
    scoring_threads: int = 1  # Emberwatch only


@dataclass
class StepMeasure:
    """What one worker measured over its window (written as JSON)."""

    system: str
    streams: int
    window_s: float
    cpu_s: float
    rss_mb: float
    latencies_s: list[float]
    analyses: dict[str, list[float]]  # camera -> scoring times, seconds since window start
    decoded: dict[str, int]  # camera -> frames decoded during the window
    keyframes_only: dict[str, bool] = field(default_factory=dict)
    warmup_s: float = 0.0
    batch_timeout_s: float | None = None


class Recorder:
    """Thread-safe log of scores: latency and scoring time per camera, from ``start()`` on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t0: float | None = None
        self.seen: set[str] = set()
        self.latencies: list[float] = []
        self.analyses: dict[str, list[float]] = {}

    def start(self) -> None:
        with self._lock:
            self._t0 = time.monotonic()
            self.latencies, self.analyses = [], {}

    def score(self, camera_id: str, received: float, scored: float) -> None:
        with self._lock:
            self.seen.add(camera_id)
            if self._t0 is None:
                return
            self.latencies.append(scored - received)
            self.analyses.setdefault(camera_id, []).append(scored - self._t0)

    def detections(self, detections: Sequence[Detection]) -> None:
        now = time.monotonic()
        for det in detections:
            self.score(det.camera_id, det.frame.received, now)


class System(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def decoded(self) -> dict[str, int]: ...

    def keyframes_only(self) -> dict[str, bool]: ...

    def settled(self) -> bool: ...


def cpu_seconds() -> float:
    """CPU time of this process, every thread, user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    """Resident set size of this process now, MiB (from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def camera_ids(n: int) -> list[str]:
    return [f"cam{i:03d}" for i in range(n)]


def start_spread(
    starts: Sequence[Callable[[], None]],
    over_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call each of ``starts`` in order, evenly spread over ``over_s`` seconds.

    Each mount of the benchmark's RTSP server plays its clip from the start when its camera
    connects, so cameras that connect together send their keyframes in the same instant; real
    cameras' keyframes are not aligned. Spreading the connections over one analysis interval
    spreads the keyframes and the analysis grids the same way.
    """
    gap = over_s / len(starts) if starts else 0.0
    for i, start in enumerate(starts):
        if i and gap > 0:
            sleep(gap)
        start()


def bench_model(spec: StepSpec) -> OnnxModel:
    """The step's model, with its focus crops from a camera's second analysis on.

    A step lasts about a minute, less than a model's focus reference (two minutes), so cameras
    would never get the focus crops they get in service. With the reference at half an interval
    every analysis after the first cuts them, at the cost they have in service.
    """
    from detector.model import OnnxModel

    model = OnnxModel(Path(spec.model_dir), intra_op_threads=spec.threads)
    focus = model.spec.focus
    if focus.crops:
        sooner = focus.model_copy(update={"reference_s": spec.interval_s / 2})
        model.spec = model.spec.model_copy(update={"focus": sooner})
    return model


class _Emberwatch:
    """The service's pipeline, events discarded (smoothing still runs)."""

    def __init__(self, spec: StepSpec, rec: Recorder, data_dir: Path) -> None:
        # The benchmark measures the service's own pipeline, so it imports it (lazily: only
        # this worker process does).
        from detector.config import DetectorConfig
        from service.config import AppConfig
        from service.pipeline import Pipeline
        from streams.config import CameraConfig

        self.cams = [
            CameraConfig(id=cid, url=url, interval_s=spec.interval_s)
            for cid, url in zip(camera_ids(len(spec.urls)), spec.urls, strict=True)
        ]
        self.stagger_s = spec.stagger_s
        detector = DetectorConfig(
            model_dir=Path(spec.model_dir),
            intra_op_threads=spec.threads,
            scoring_threads=spec.scoring_threads,
        )
        config = AppConfig(data_dir=data_dir, cameras=[], detector=detector)
        self.pipeline = Pipeline(
            config, lambda update: None, model=bench_model(spec), on_scored=rec.detections
        )

    def start(self) -> None:
        self.pipeline.start()
        start_spread([partial(self.pipeline.add_camera, cam) for cam in self.cams], self.stagger_s)

    def stop(self) -> None:
        self.pipeline.stop()

    def decoded(self) -> dict[str, int]:
        return {v.config.id: v.stats.decoded for v in self.pipeline.cameras()}

    def keyframes_only(self) -> dict[str, bool]:
        return {v.config.id: v.stats.keyframes_only for v in self.pipeline.cameras()}

    def settled(self) -> bool:
        # AUTO decodes every frame until two keyframes give the GOP length: not steady state.
        return all(v.stats.gop_s is not None for v in self.pipeline.cameras())


class _Naive:
    def __init__(self, spec: StepSpec, rec: Recorder) -> None:
        from benchmarks.naive import NaiveCamera, NaiveLoop

        model = bench_model(spec)
        cams = [
            NaiveCamera(cid, url)
            for cid, url in zip(camera_ids(len(spec.urls)), spec.urls, strict=True)
        ]
        self.loop = NaiveLoop(model, cams, spec.interval_s, rec.score)
        self.stagger_s = spec.stagger_s

    def start(self) -> None:
        start_spread([cam.start for cam in self.loop.cameras], self.stagger_s)
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def decoded(self) -> dict[str, int]:
        return {cam.id: cam.decoded for cam in self.loop.cameras}

    def keyframes_only(self) -> dict[str, bool]:
        return {cam.id: False for cam in self.loop.cameras}

    def settled(self) -> bool:
        return True


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)


def measure(spec: StepSpec, system: System, rec: Recorder) -> StepMeasure:
    """Warm up, then measure ``spec.seconds`` of steady state."""
    started = time.monotonic()
    system.start()
    try:
        _wait(lambda: len(rec.seen) >= len(spec.urls) and system.settled(), spec.warmup_max_s)
        time.sleep(SETTLE_S)
        warmup = time.monotonic() - started
        decoded0 = system.decoded()
        rec.start()
        cpu0, t0 = cpu_seconds(), time.monotonic()
        time.sleep(spec.seconds)
        cpu1, t1 = cpu_seconds(), time.monotonic()
        decoded1, memory = system.decoded(), rss_mb()
        keyframes = system.keyframes_only()
    finally:
        system.stop()
    return StepMeasure(
        system=spec.system,
        streams=len(spec.urls),
        window_s=t1 - t0,
        cpu_s=cpu1 - cpu0,
        rss_mb=memory,
        latencies_s=list(rec.latencies),
        analyses={k: list(v) for k, v in rec.analyses.items()},
        decoded={k: decoded1.get(k, 0) - decoded0.get(k, 0) for k in decoded1},
        keyframes_only=keyframes,
        warmup_s=warmup,
    )


def run(spec: StepSpec) -> StepMeasure:
    rec = Recorder()
    if spec.system == "naive":
        return measure(spec, _Naive(spec, rec), rec)
    if spec.system != "emberwatch":
        raise ValueError(f"unknown system {spec.system!r}")
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        ember = _Emberwatch(spec, rec, Path(tmp))
        result = measure(spec, ember, rec)
        result.batch_timeout_s = ember.pipeline.scheduler.timeout.value
        return result


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m benchmarks.throughput_worker SPEC.json RESULT.json")
    spec = StepSpec(**json.loads(Path(args[0]).read_text(encoding="utf-8")))
    result = run(spec)
    Path(args[1]).write_text(json.dumps(asdict(result)), encoding="utf-8")


if __name__ == "__main__":
    main()
