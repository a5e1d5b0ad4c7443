"""Cross-camera batching: one model run scores the latest frames of many cameras.

The scheduler never waits for every camera (one slow or dead camera must not delay the others):
it collects whatever frames are ready, waits a short collection timeout after the first one for
more, stops early when the batch is full, and visits cameras in a rotating order so that under
overload every camera keeps being analysed, each less often, always on its latest frame.

The collection timeout adapts (:class:`AdaptiveTimeout`) between ``batch_timeout_s`` and
``batch_timeout_max_s``: longer while waiting brings more frames and the model has spare time
(fewer, larger batches cost less per frame), shorter when batches fill anyway or nothing comes.

With ``scoring_threads`` above 1, several threads take turns collecting, and each runs the batch
it collected while the next thread collects: model runs overlap (onnxruntime sessions allow
concurrent runs), so one thread's Python work between runs no longer idles the cores. A camera
whose frame is being scored is skipped until its result is handled, so each camera's frames are
still scored and smoothed one at a time and in order.

Each scoring thread is supervised (:mod:`streams.supervise`): an exception in a round (the
model run, the handler the detections go to, the tick) is logged with the cameras of the
batch, counted, and the thread goes on with the next batch; the frames of the failed batch
are lost, never the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import onnxruntime as ort

from detector.config import DetectorConfig
from detector.model import CameraRules, OnnxModel
from detector.types import Detection
from streams.frame import Frame
from streams.supervise import Heartbeat, Supervisor

log = logging.getLogger(__name__)

# How often the idle loop wakes up to call ``on_tick`` (expiring events of silent cameras).
TICK_S = 1.0
# A scoring thread beats at least this often: an idle wait is TICK_S, a large batch on CPU a few
# seconds. It counts as stalled after streams.supervise.STALL_INTERVALS of these.
BEAT_S = 5.0
# Pause after a failed round, so that an error on every round cannot spin a core.
ERROR_PAUSE_S = 0.1


class FrameSource(Protocol):
    @property
    def id(self) -> str: ...

    def take(self) -> Frame | None: ...


class BatchObserver(Protocol):
    def observe_batch(self, frames: int, inputs: int, seconds: Mapping[str, float]) -> None: ...


Handler = Callable[[list[Detection]], None]

# Smoothing of the model's busy fraction (share of wall time spent in model runs).
_BUSY_ALPHA = 0.2
# Grow the timeout only while the model is busy less than this share of the time.
_IDLE_BELOW = 0.5
_GROW, _SHRINK_FULL, _SHRINK_LONE = 1.5, 0.5, 0.75
# Smallest non-zero timeout when growing from a configured 0.
_MIN_GROWN_S = 0.005


class AdaptiveTimeout:
    """How long to wait for more frames once a batch has its first one (seconds).

    After each batch :meth:`update` moves the timeout within ``[base_s, max_s]``:

    * the batch was full: frames queue up anyway, waiting only adds latency -> halve it;
    * frames arrived while waiting and the model was idle more than half the time -> x1.5
      (larger batches are cheaper per frame and there is time to spare);
    * nothing arrived while waiting -> x0.75 (waiting did not pay off).

    A timeout below 5 ms cannot show whether waiting pays off, so an idle model probes with
    5 ms.

    ``max_s <= base_s`` keeps the timeout fixed at ``base_s``.

    >>> t = AdaptiveTimeout(0.05, 0.5)
    >>> round(t.update(full=False, extra_frames=3, busy=0.1), 3)
    0.075
    >>> round(t.update(full=True, extra_frames=7, busy=0.9), 3)
    0.05
    """

    def __init__(self, base_s: float, max_s: float) -> None:
        self.base_s = base_s
        self.max_s = max(base_s, max_s)
        self.value = base_s

    def update(self, *, full: bool, extra_frames: int, busy: float) -> float:
        if self.max_s <= self.base_s:
            return self.value
        if full:
            value = self.value * _SHRINK_FULL
        elif busy < _IDLE_BELOW and (extra_frames > 0 or self.value < _MIN_GROWN_S):
            # A timeout near 0 cannot show whether waiting pays off: probe with a short one.
            value = max(self.value * _GROW, _MIN_GROWN_S)
        else:
            value = self.value * _SHRINK_LONE
        self.value = min(self.max_s, max(self.base_s, value))
        return self.value


@dataclass
class _Pace:
    """One scoring thread's last model run: when it started and how long it took (seconds)."""

    start: float | None = None
    run_s: float = 0.0


class Scheduler:
    """Runs the model over frames taken from ``sources()`` on background threads.

    ``config.scoring_threads`` threads score batches; ``on_tick`` runs on one of them.
    """

    def __init__(
        self,
        model: OnnxModel,
        sources: Callable[[], Sequence[FrameSource]],
        handle: Handler,
        config: DetectorConfig,
        *,
        rules: Callable[[], Mapping[str, CameraRules]] = dict,
        observer: BatchObserver | None = None,
        on_tick: Callable[[], None] | None = None,
        supervisor: Supervisor | None = None,
        label: str = "",
    ) -> None:
        """``supervisor``: where the scoring threads' heartbeats and errors go (a private one
        when None); ``label`` names this scheduler's threads there (e.g. the model's name)."""
        self.model = model
        self._sources = sources
        self._handle = handle
        self._rules = rules
        self._config = config
        self._observer = observer
        self._on_tick = on_tick
        self._supervisor = supervisor or Supervisor()
        self._label = label
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._collecting = threading.Lock()  # one thread collects at a time
        self._flight_lock = threading.Lock()
        self._in_flight: set[str] = set()  # cameras whose frame is being scored
        self._stats_lock = threading.Lock()
        self._offset = 0
        self._carry: Frame | None = None  # taken, did not fit: it leads the next batch
        self.timeout = AdaptiveTimeout(config.batch_timeout_s, config.batch_timeout_max_s)
        self.busy = 0.0  # smoothed share of wall time spent in model runs
        self._extra = 0  # frames that arrived while the last batch was being collected
        self._full = False  # the last batch collected could take no more frames
        self._last_tick = time.monotonic()
        self.batches = 0
        self.frames = 0

    def wake(self) -> None:
        """Tell the scheduler a frame is ready (sources call this from their threads)."""
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        count = self._config.scoring_threads
        names = ["scheduler" if count == 1 else f"scheduler-{i}" for i in range(count)]
        self._threads = [
            threading.Thread(
                target=self._loop, args=(self._heartbeat(name),), name=name, daemon=True
            )
            for name in names
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        self._threads = []
        self._carry = None  # a frame left over is stale by the next start
        self._in_flight.clear()

    def _heartbeat(self, thread: str) -> Heartbeat:
        name = f"{thread} ({self._label})" if self._label else thread
        return self._supervisor.heartbeat(name, "scorer", BEAT_S)

    def _loop(self, beat: Heartbeat) -> None:
        pace = _Pace()
        try:
            while not self._stop.is_set():
                beat.beat()
                failed = False
                frames: list[Frame] = []
                try:
                    frames, full, extra = self._take_batch()
                    if frames:
                        self._score(frames, pace, full=full, extra=extra)
                except Exception as exc:  # loop boundary: the thread outlives any one batch
                    cams = ", ".join(sorted({f.camera_id for f in frames}))
                    failed = self._failed(beat, exc, f"cameras {cams}" if cams else "collecting")
                try:
                    self._maybe_tick()
                except Exception as exc:  # e.g. expiring events; the next tick tries again
                    failed = self._failed(beat, exc, "the once-a-second tick")
                if not failed:
                    beat.ok()
        finally:
            self._supervisor.retire(beat)

    def _failed(self, beat: Heartbeat, exc: Exception, context: str) -> bool:
        beat.failed(exc, context)
        self._stop.wait(ERROR_PAUSE_S)
        return True

    def _take_batch(self) -> tuple[list[Frame], bool, int]:
        """Collect a batch and mark its cameras in flight: (frames, full, extra frames)."""
        with self._collecting:
            frames = self.collect()
            full, extra = self._full, self._extra
            with self._flight_lock:
                self._in_flight.update(f.camera_id for f in frames)
        return frames, full, extra

    def _score(self, frames: list[Frame], pace: _Pace, *, full: bool, extra: int) -> None:
        try:
            self._timed_batch(frames, pace, full=full, extra=extra)
        finally:
            with self._flight_lock:
                self._in_flight.difference_update(f.camera_id for f in frames)
            self._wake.set()  # their next frames may be waiting

    def _maybe_tick(self) -> None:
        """Call ``on_tick`` about once a second, from whichever scoring thread is free."""
        if self._on_tick is None:
            return
        now = time.monotonic()
        with self._stats_lock:
            if now - self._last_tick < TICK_S:
                return
            self._last_tick = now
        self._on_tick()

    def collect(self) -> list[Frame]:
        """Gather ready frames: at most one per camera and at most ``max_batch`` network inputs.

        A frame that would not fit leads the next batch, and this one counts as full (a single
        frame larger than ``max_batch`` still runs, alone).
        """
        frames: list[Frame] = []
        taken: set[str] = set()
        inputs = 0
        if self._carry is not None:
            frames.append(self._carry)
            taken.add(self._carry.camera_id)
            inputs = self._inputs_of(self._carry)
            self._carry = None
        deadline: float | None = None
        first = 0
        full = False
        while not self._stop.is_set():
            self._wake.clear()
            inputs, full = self._take_ready(frames, taken, inputs)
            now = time.monotonic()
            if full:
                break
            if frames and deadline is None:
                deadline, first = now + self.timeout.value, len(frames)
            if deadline is not None and now >= deadline:
                break
            wait = TICK_S if deadline is None else deadline - now
            if not self._wake.wait(wait) and deadline is None:
                break  # idle tick: let the loop run on_tick
        self._extra = len(frames) - first if deadline is not None else 0
        self._full = full
        return frames

    def _timed_batch(self, frames: list[Frame], pace: _Pace, *, full: bool, extra: int) -> None:
        """Run a batch and adapt the collection timeout to how busy the model is.

        ``busy`` follows the share of time a scoring thread spends in model runs, averaged over
        the threads.
        """
        start = time.monotonic()
        if pace.start is not None and start > pace.start:
            # The thread's previous run's share of the time from its start to this batch's.
            share = min(1.0, pace.run_s / (start - pace.start))
            with self._stats_lock:
                self.busy += _BUSY_ALPHA * (share - self.busy)
        self.run_batch(frames)
        pace.start, pace.run_s = start, time.monotonic() - start
        with self._stats_lock:
            self.timeout.update(full=full, extra_frames=extra, busy=self.busy)

    def _take_ready(self, frames: list[Frame], taken: set[str], inputs: int) -> tuple[int, bool]:
        """Take the ready frames that fit; return the batch's inputs and whether it is full."""
        sources = list(self._sources())
        full = inputs >= self._config.max_batch
        if not sources:
            return inputs, full
        start = self._offset % len(sources)
        with self._flight_lock:
            busy = taken | self._in_flight
        for source in sources[start:] + sources[:start]:
            if full:
                break
            if source.id in busy:
                continue
            frame = source.take()
            if frame is None:
                continue
            size = self._inputs_of(frame)
            if frames and inputs + size > self._config.max_batch:
                self._carry, full = frame, True
                break
            taken.add(source.id)
            busy.add(source.id)
            frames.append(frame)
            inputs += size
            full = inputs >= self._config.max_batch
        # Next batch starts after the last camera served, so a capped batch rotates fairly.
        self._offset = start + len(taken)
        return inputs, full

    def _inputs_of(self, frame: Frame) -> int:
        return self.model.inputs_per_frame(frame.width, frame.height)

    def run_batch(self, frames: list[Frame]) -> list[Detection]:
        """Score ``frames`` in one model run and pass the detections on; errors are logged."""
        try:
            detections, times = self.model.score(frames, self._rules())
        except (RuntimeError, ValueError, ort.capi.onnxruntime_pybind11_state.Fail) as exc:  # type: ignore[attr-defined]
            cams = sorted({f.camera_id for f in frames})
            log.error("model run failed for cameras %s: %s", cams, exc)
            return []
        with self._stats_lock:
            self.batches += 1
            self.frames += len(frames)
        if self._observer is not None:
            inputs = sum(self._inputs_of(f) for f in frames)
            self._observer.observe_batch(len(frames), inputs, times.as_dict())
        self._handle(detections)
        return detections
