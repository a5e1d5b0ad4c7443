"""Temporal smoothing: per-camera state machine from raw scores to event transitions, per region.

An event belongs to a *region* of the view, not to the camera: the cells (fixed tiles) whose
evidence rose (:mod:`detector.evidence`). Several events of one class can be open at once, so a
look-alike in one corner never hides a fire in another. Works on the frames' timestamps in
seconds, never on frame counts, and reads no clock and does no I/O: time is an argument.

Per cell and class::

    idle --evidence >= threshold--> pending --held min_persistence_s--> ready

Ready cells that touch each other form one region, which opens an event (OPENED). An event
holds its cells, takes in neighbouring cells that rise, and closes (CLOSED) once all its cells
stayed below ``threshold x close_ratio`` (hysteresis) for ``quiet_s``, or :data:`QUIET_FRAMES`
frame intervals when frames come further apart than that.

An open event is never silently changed into a bigger one: when its region grows to
``growth_ratio`` times its size at the last alert, or its evidence rises by ``rise_delta`` above
that alert's, it closes (reason ``continued``) and a new event linked to it opens (``grew`` or
``rose``), at most once every ``realert_min_s``.

A :class:`~detector.night.NightRule` switches the opening thresholds to the model's night
values while the camera sees night (:class:`detector.night.Light`), judged on every frame.

Mutes (an operator dismissed a region) raise the threshold of the cells they cover to the muted
level plus ``mute_margin``; the level halves every ``mute_half_life_s``. A region that opens in
spite of a mute, or that spreads from it, links to the dismissed event (``rose since dismissed``,
``grew since dismissed``).

>>> from detector.config import SmoothingConfig
>>> cfg = SmoothingConfig(min_persistence_s=10)
>>> s = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)
>>> scores = [0.1, 0.1, 0.9, 0.9, 0.9, 0.9]  # a clear view, then smoke
>>> [(t, u.transition.value) for t, x in zip(range(0, 60, 10), scores)
...  for u in s.update_scores(t, {"smoke": x})]
[(40, 'opened'), (50, 'updated')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from detector import regions
from detector.config import SmoothingConfig
from detector.evidence import WHOLE_FRAME, CellEvidence, area, fold, intersection
from detector.night import NightRule
from detector.types import (
    Box,
    Detection,
    EventUpdate,
    LookAlike,
    Mute,
    Reason,
    Region,
    Transition,
)
from streams.frame import Frame

#: The quiet period lasts at least this many intervals between a camera's frames.
QUIET_FRAMES = 2


@dataclass
class _Episode:
    track: int
    cls: str
    cells: set[int]
    since: float  # ts of the first frame above threshold
    last_above: float
    peak: float = 0.0
    reported_peak: float = 0.0
    alert_area: float = 0.0  # region size at the last alert (open or re-alert)
    alert_level: float = 0.0  # evidence at the last alert
    alert_ts: float = 0.0
    last_sent: float = 0.0  # ts of the last update emitted
    parent_event: int | None = None


@dataclass
class _Frame:
    """What one observation brings, for the updates it causes."""

    ts: float
    evidence: np.ndarray  # [T, C]
    regions: Sequence[Region] = ()
    frame: Frame | None = None
    updates: list[EventUpdate] = field(default_factory=list)


class CameraSmoother:
    """Smooths one camera's scores per region and class; emits :class:`EventUpdate` transitions."""

    def __init__(
        self,
        camera_id: str,
        classes: Sequence[str],
        thresholds: Mapping[str, float],
        config: SmoothingConfig,
        *,
        night: NightRule | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.config = config
        self.classes = tuple(classes)
        self.thresholds = dict(thresholds)  # in force for the current frame
        self._day_thresholds = self.thresholds
        self._night = night
        self._night_thresholds = dict(night.thresholds) if night else self.thresholds
        self.is_night = False  # what the last frame's light was judged to be
        self._cells = CellEvidence(classes, config)
        self._pending = np.full((0, len(self.classes)), np.nan)
        self._high_since = self._pending.copy()
        self._episodes: list[_Episode] = []
        self._mutes: tuple[Mute, ...] = ()
        self._next_track = 1

    # --- reading ----------------------------------------------------------------------------

    def smoothed(self, cls: str) -> float:
        """Current evidence of ``cls`` in its strongest cell (0 before the first frame)."""
        ev = self._cells.evidence()
        return float(ev[:, self.classes.index(cls)].max()) if ev.size else 0.0

    def active(self) -> list[str]:
        return sorted({e.cls for e in self._episodes})

    def mutes(self) -> tuple[Mute, ...]:
        return self._mutes

    def look_alikes(self) -> tuple[LookAlike, ...]:
        """Regions (touching cells of one class) that have scored at or above their class
        threshold for ``look_alike_s`` or longer without an event, top-left first."""
        last = self._cells.last_ts
        if last is None:
            return ()
        steady = (last - np.nan_to_num(self._high_since, nan=last)) >= self.config.look_alike_s
        steady &= ~self._held()
        cells = self._cells.cells
        found = [
            LookAlike(cls, regions.region_box(cells, group))
            for c, cls in enumerate(self.classes)
            for group in regions.groups(cells, (int(t) for t in np.flatnonzero(steady[:, c])))
        ]
        return tuple(sorted(found, key=lambda la: (la.cls, la.box[1], la.box[0])))

    # --- feeding ----------------------------------------------------------------------------

    def update(self, detection: Detection) -> list[EventUpdate]:
        """Feed one scored frame; return the transitions it causes (often none)."""
        self._judge_light(detection.frame)
        if detection.input_scores is None or detection.tiles == 0:
            return self.update_scores(
                detection.ts, detection.scores, regions=detection.regions, frame=detection.frame
            )
        return self.observe(
            detection.ts,
            detection.boxes,
            detection.input_scores,
            detection.tiles,
            regions=detection.regions,
            frame=detection.frame,
        )

    def _judge_light(self, frame: Frame) -> None:
        if self._night is None:
            return
        self.is_night = self._night.light.is_night(frame.image, frame.ts)
        self.thresholds = self._night_thresholds if self.is_night else self._day_thresholds

    def update_scores(
        self,
        ts: float,
        scores: Mapping[str, float],
        *,
        regions: Sequence[Region] = (),
        frame: Frame | None = None,
    ) -> list[EventUpdate]:
        """Feed per-class scores observed at ``ts`` seconds (the whole frame is one cell)."""
        row = np.array([[scores.get(c, 0.0) for c in self.classes]])
        return self.observe(ts, WHOLE_FRAME, row, 1, regions=regions, frame=frame)

    def observe(
        self,
        ts: float,
        boxes: Sequence[Box],
        scores: np.ndarray,
        tiles: int,
        *,
        regions: Sequence[Region] = (),
        frame: Frame | None = None,
    ) -> list[EventUpdate]:
        """Feed every network input of a frame: ``boxes`` and ``scores [N, C]``, of which the
        first ``tiles`` are the fixed cells (the rest, focus crops, are folded into them)."""
        cells = tuple(boxes[:tiles])
        if cells != self._cells.cells:
            self._pending = np.full((len(cells), len(self.classes)), np.nan)
            self._high_since = self._pending.copy()
        raw = fold(cells, boxes, scores)
        evidence = self._cells.observe(ts, cells, raw, self._held())
        self._note_steady(ts)
        step = _Frame(ts, evidence, regions, frame)
        for ci, cls in enumerate(self.classes):
            self._step_class(step, ci, cls)
        return step.updates

    def set_mutes(self, mutes: Sequence[Mute], now: float) -> list[EventUpdate]:
        """Replace this camera's muted regions (all classes); return the closes they cause.

        An active episode whose region overlaps a mute it did not have before is closed with
        reason ``dismissed``: the operator dismissed it. Lifting a mute (leaving it out) only
        lets its region alert at the ordinary threshold again.
        """
        known = {m.event_id for m in self._mutes}
        self._mutes = tuple(mutes)
        updates: list[EventUpdate] = []
        for mute in (m for m in self._mutes if m.event_id not in known):
            for ep in [e for e in self._episodes if e.cls == mute.cls]:
                if intersection(self._box(ep.cells), mute.box) > 0.0:
                    updates.append(self._close(ep, now, Reason.DISMISSED))
        return updates

    def expire(self, now: float) -> list[EventUpdate]:
        """Close active events of a camera that has sent no frame for ``quiet_s`` (it went dark)."""
        last = self._cells.last_ts
        if last is not None and now - last < self._quiet():
            return []
        return [self._close(ep, now, Reason.NONE) for ep in list(self._episodes)]

    def _note_steady(self, ts: float) -> None:
        """Remember since when each cell's smoothed score (not its evidence) is high."""
        limits = np.array([self.thresholds.get(c, 0.5) for c in self.classes])
        high = self._cells.ema >= limits
        self._high_since[~high] = np.nan
        self._high_since[high & np.isnan(self._high_since)] = ts

    # --- one class, one frame ---------------------------------------------------------------

    def _step_class(self, step: _Frame, ci: int, cls: str) -> None:
        open_thr = self.thresholds.get(cls, 0.5)
        ev = step.evidence[:, ci]
        for ep in [e for e in self._episodes if e.cls == cls]:
            self._follow(step, ep, ev, open_thr)
        thresholds = regions.thresholds(
            self._cells.cells,
            [m for m in self._mutes if m.cls == cls],
            open_thr,
            step.ts,
            half_life_s=self.config.mute_half_life_s,
            margin=self.config.mute_margin,
        )
        held = self._held()[:, ci]
        above = (ev >= thresholds) & ~held
        pending = self._pending[:, ci]
        pending[~above] = np.nan
        pending[above & np.isnan(pending)] = step.ts
        ready = above & (step.ts - np.nan_to_num(pending, nan=step.ts) >= self._persistence())
        for group in regions.groups(self._cells.cells, (int(c) for c in np.flatnonzero(ready))):
            since = float(np.nanmin(pending[list(group)]))
            pending[list(group)] = np.nan
            self._start(step, cls, group, float(ev[list(group)].max()), since)

    def _follow(self, step: _Frame, ep: _Episode, ev: np.ndarray, open_thr: float) -> None:
        """Keep an open episode alive, close it after the quiet period, report new peaks."""
        level = float(ev[list(ep.cells)].max())
        if level >= open_thr * self.config.close_ratio:
            ep.last_above = step.ts
        elif step.ts - ep.last_above >= self._quiet():
            step.updates.append(self._close(ep, step.ts, Reason.NONE))
            return
        if self._rose(ep, level, step.ts):
            self._continue(step, ep, set(), level, Reason.ROSE)
            return
        ep.peak = max(ep.peak, level)
        if ep.peak >= ep.reported_peak + self.config.update_min_delta:
            ep.reported_peak = ep.peak
            step.updates.append(
                self._emit(ep, Transition.UPDATED, step, level, is_peak=level >= ep.peak)
            )
        elif ep.last_above == step.ts and step.ts - ep.last_sent >= self.config.keepalive_s:
            # The detection holds without a new peak: its last-seen time and duration keep
            # moving, and an event that a restart leaves active ends near its last detection.
            step.updates.append(self._emit(ep, Transition.UPDATED, step, level, is_peak=False))

    def _start(self, step: _Frame, cls: str, cells: set[int], level: float, since: float) -> None:
        """Ready cells of one region: a new event, or the growth of an open one."""
        grown = [e for e in self._episodes if e.cls == cls and self._adjacent(e.cells, cells)]
        if grown:
            ep = grown[0]
            for other in grown[1:]:  # the region joins two open events: one goes on
                ep.cells |= other.cells
                step.updates.append(self._close(other, step.ts, Reason.CONTINUED))
            box = self._box(ep.cells | cells)
            if self._due(ep, step.ts) and area(box) >= self.config.growth_ratio * ep.alert_area:
                self._continue(step, ep, cells, level, Reason.GREW)
            else:
                ep.cells |= cells  # a neighbouring tile of the same plume: no news yet
            return
        mutes = [m for m in self._mutes if m.cls == cls]
        reason, parent = regions.muted_reason(self._cells.cells, cells, mutes)
        ep = _Episode(self._new_track(), cls, cells, since, step.ts, parent_event=parent)
        self._announce(step, ep, level, reason, None)

    def _continue(
        self, step: _Frame, old: _Episode, cells: set[int], level: float, reason: Reason
    ) -> None:
        """Close ``old`` and open a linked episode over its cells and ``cells``."""
        step.updates.append(self._close(old, step.ts, Reason.CONTINUED))
        ep = _Episode(self._new_track(), old.cls, old.cells | cells, step.ts, step.ts)
        self._announce(step, ep, level, reason, old.track)

    def _announce(
        self, step: _Frame, ep: _Episode, level: float, reason: Reason, parent: int | None
    ) -> None:
        ep.peak = ep.reported_peak = ep.alert_level = level
        ep.alert_area, ep.alert_ts = area(self._box(ep.cells)), step.ts
        self._episodes.append(ep)
        opened = self._emit(ep, Transition.OPENED, step, level, is_peak=True, reason=reason)
        step.updates.append(replace(opened, parent_track=parent))

    # --- rules ------------------------------------------------------------------------------

    def _rose(self, ep: _Episode, level: float, ts: float) -> bool:
        return self._due(ep, ts) and level >= ep.alert_level + self.config.rise_delta

    def _due(self, ep: _Episode, ts: float) -> bool:
        return ts - ep.alert_ts >= self.config.realert_min_s

    # --- helpers ----------------------------------------------------------------------------

    def _held(self) -> np.ndarray:
        """``[T, C]``: True where an open episode holds the cell."""
        held = np.zeros((len(self._cells.cells), len(self.classes)), dtype=bool)
        for ep in self._episodes:
            held[list(ep.cells), self.classes.index(ep.cls)] = True
        return held

    def _adjacent(self, a: set[int], b: set[int]) -> bool:
        return regions.adjacent(self._cells.cells, a, b)

    def _box(self, cells: set[int]) -> Box:
        return regions.region_box(self._cells.cells, cells)

    def _persistence(self) -> float:
        return self.config.min_persistence_s

    def _quiet(self) -> float:
        return max(self.config.quiet_s, QUIET_FRAMES * self._cells.gap)

    def _new_track(self) -> int:
        self._next_track += 1
        return self._next_track - 1

    def _close(self, ep: _Episode, ts: float, reason: Reason) -> EventUpdate:
        self._episodes.remove(ep)
        level = float(self._cells.evidence()[list(ep.cells), self.classes.index(ep.cls)].max())
        step = _Frame(ts, np.zeros(0))
        return self._emit(ep, Transition.CLOSED, step, level, is_peak=False, reason=reason)

    def _emit(
        self,
        ep: _Episode,
        transition: Transition,
        step: _Frame,
        score: float,
        *,
        is_peak: bool,
        reason: Reason = Reason.NONE,
    ) -> EventUpdate:
        ep.last_sent = step.ts
        box = self._box(ep.cells)
        regions = tuple(r for r in step.regions if r.cls == ep.cls and intersection(r.box, box) > 0)
        return EventUpdate(
            camera_id=self.camera_id,
            cls=ep.cls,
            transition=transition,
            started_at=ep.since,
            ts=step.ts,
            score=score,
            peak_score=ep.peak,
            is_peak=is_peak,
            regions=regions,
            frame=step.frame,
            track=ep.track,
            box=box,
            parent_event=ep.parent_event,
            reason=reason,
        )
