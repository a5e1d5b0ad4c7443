"""Temporal smoothing: per (camera, class) state machine from raw scores to event transitions.

Works on the frames' timestamps in seconds, never on frame counts, so the same settings hold at
25 fps and at one frame a minute. It reads no clock and does no I/O: time is an argument.

State per class::

    IDLE --ema >= open--> PENDING --held min_persistence_s--> ACTIVE (OPENED)
    PENDING --ema < open--> IDLE
    ACTIVE --ema below close for quiet_s--> IDLE (CLOSED)

The close threshold is ``open x close_ratio`` (hysteresis: a running event is not ended by a
score that dips a little). The quiet period is ``quiet_s``, or :data:`QUIET_FRAMES` frame
intervals when the camera's frames come further apart than that: a camera that is analysed once
a minute cannot show a minute of quiet in one frame, and it must not lose its event between two
frames either.

>>> from detector.config import SmoothingConfig
>>> s = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, SmoothingConfig(min_persistence_s=10))
>>> [u.transition.value for t in (0, 5, 10, 15) for u in s.update_scores(t, {"smoke": 0.9})]
['opened']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from detector.config import SmoothingConfig
from detector.types import Detection, EventUpdate, Region, Transition
from streams.frame import Frame

#: The quiet period lasts at least this many intervals between a camera's frames.
QUIET_FRAMES = 2


class Phase(Enum):
    IDLE = "idle"
    PENDING = "pending"
    ACTIVE = "active"


@dataclass
class _ClassState:
    ema: float | None = None
    last_ts: float | None = None
    gap: float = 0.0  # seconds between the last two frames
    phase: Phase = Phase.IDLE
    since: float = 0.0  # PENDING: first ts above open; ACTIVE: start of the event
    last_above: float = 0.0  # ACTIVE: last ts at or above the close threshold
    peak: float = 0.0
    reported_peak: float = 0.0
    last_sent: float = 0.0  # ACTIVE: ts of the last update emitted


class CameraSmoother:
    """Smooths one camera's scores for every class and emits :class:`EventUpdate` transitions."""

    def __init__(
        self,
        camera_id: str,
        classes: Sequence[str],
        thresholds: Mapping[str, float],
        config: SmoothingConfig,
    ) -> None:
        self.camera_id = camera_id
        self.config = config
        self.thresholds = dict(thresholds)
        self._states = {cls: _ClassState() for cls in classes}
        self._baseline: np.ndarray | None = None
        self._baseline_ts: float | None = None

    def smoothed(self, cls: str) -> float:
        """Current smoothed score of ``cls`` (0 before the first frame)."""
        return self._states[cls].ema or 0.0

    def active(self) -> list[str]:
        return [c for c, s in self._states.items() if s.phase is Phase.ACTIVE]

    def update(self, detection: Detection) -> list[EventUpdate]:
        """Feed one scored frame; return the transitions it causes (often none)."""
        scores = self._against_baseline(detection)
        return self.update_scores(
            detection.ts, scores, regions=detection.regions, frame=detection.frame
        )

    def update_scores(
        self,
        ts: float,
        scores: Mapping[str, float],
        *,
        regions: Sequence[Region] = (),
        frame: Frame | None = None,
    ) -> list[EventUpdate]:
        """Feed raw per-class scores observed at ``ts`` seconds."""
        updates: list[EventUpdate] = []
        for cls, state in self._states.items():
            ema = self._advance(state, ts, scores.get(cls, 0.0))
            cls_regions = tuple(r for r in regions if r.cls == cls)
            update = self._step(cls, state, ts, ema, cls_regions, frame)
            if update is not None:
                updates.append(update)
        return updates

    def expire(self, now: float) -> list[EventUpdate]:
        """Close active events of a camera that has sent no frame for ``quiet_s`` (it went dark)."""
        updates = []
        for cls, state in self._states.items():
            stale = state.last_ts is None or now - state.last_ts >= self._quiet(state)
            if state.phase is Phase.ACTIVE and stale:
                updates.append(self._close(cls, state, now))
        return updates

    def _advance(self, state: _ClassState, ts: float, score: float) -> float:
        if state.ema is None or state.last_ts is None:
            state.ema = score
        else:
            dt = max(ts - state.last_ts, 0.0)
            state.gap = dt
            alpha = 1.0 - math.exp(-dt / self.config.tau_s)
            state.ema += alpha * (score - state.ema)
        state.last_ts = ts
        return state.ema

    def _step(
        self,
        cls: str,
        state: _ClassState,
        ts: float,
        ema: float,
        regions: tuple[Region, ...],
        frame: Frame | None,
    ) -> EventUpdate | None:
        open_thr = self.thresholds.get(cls, 0.5)
        close_thr = open_thr * self.config.close_ratio
        if state.phase is Phase.IDLE and ema >= open_thr:
            state.phase, state.since = Phase.PENDING, ts
        if state.phase is Phase.PENDING:
            if ema < open_thr:
                state.phase = Phase.IDLE
            elif ts - state.since >= self.config.min_persistence_s:
                state.phase, state.last_above = Phase.ACTIVE, ts
                state.peak = state.reported_peak = ema
                return self._emit(cls, state, Transition.OPENED, ts, ema, regions, frame, True)
            return None
        if state.phase is not Phase.ACTIVE:
            return None
        if ema >= close_thr:
            state.last_above = ts
        elif ts - state.last_above >= self._quiet(state):
            return self._close(cls, state, ts)
        state.peak = max(state.peak, ema)
        if state.peak >= state.reported_peak + self.config.update_min_delta:
            state.reported_peak = state.peak
            is_peak = ema >= state.peak
            return self._emit(cls, state, Transition.UPDATED, ts, ema, regions, frame, is_peak)
        return self._keep_alive(cls, state, ts, ema, regions, frame)

    def _keep_alive(
        self,
        cls: str,
        state: _ClassState,
        ts: float,
        ema: float,
        regions: tuple[Region, ...],
        frame: Frame | None,
    ) -> EventUpdate | None:
        """An update without a new peak while the detection holds at or above the close
        threshold, at most every ``keepalive_s``: the event's last-seen time and duration keep
        moving, and an event that a restart leaves active ends near its last detection."""
        if state.last_above != ts or ts - state.last_sent < self.config.keepalive_s:
            return None
        return self._emit(cls, state, Transition.UPDATED, ts, ema, regions, frame, False)

    def _quiet(self, state: _ClassState) -> float:
        return max(self.config.quiet_s, QUIET_FRAMES * state.gap)

    def _close(self, cls: str, state: _ClassState, ts: float) -> EventUpdate:
        update = self._emit(cls, state, Transition.CLOSED, ts, state.ema or 0.0, (), None, False)
        state.phase = Phase.IDLE
        return update

    def _emit(
        self,
        cls: str,
        state: _ClassState,
        transition: Transition,
        ts: float,
        score: float,
        regions: tuple[Region, ...],
        frame: Frame | None,
        is_peak: bool,
    ) -> EventUpdate:
        state.last_sent = ts
        return EventUpdate(
            camera_id=self.camera_id,
            cls=cls,
            transition=transition,
            started_at=state.since,
            ts=ts,
            score=score,
            peak_score=state.peak,
            is_peak=is_peak,
            regions=regions,
            frame=frame,
        )

    def _against_baseline(self, detection: Detection) -> Mapping[str, float]:
        """Scores relative to each tile's own slow baseline, when ``baseline_tau_s`` is set.

        A tile that scores high all day (fog bank, glare) raises its baseline and stops opening
        events; smoke that appears and grows within minutes still stands out. The baseline
        does not learn while an event is active, so a long fire is not absorbed.
        """
        tau = self.config.baseline_tau_s
        tiles = detection.tile_scores
        if tau is None or tiles is None:
            return detection.scores
        if self._baseline is None or self._baseline.shape != tiles.shape:
            self._baseline, self._baseline_ts = tiles.copy(), detection.ts
            return dict.fromkeys(detection.scores, 0.0)
        excess = np.clip(tiles - self._baseline, 0.0, 1.0)
        if not self.active():
            dt = max(detection.ts - (self._baseline_ts or detection.ts), 0.0)
            self._baseline += (1.0 - math.exp(-dt / tau)) * (tiles - self._baseline)
        self._baseline_ts = detection.ts
        return {cls: float(excess[:, i].max()) for i, cls in enumerate(detection.scores)}
