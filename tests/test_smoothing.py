"""Temporal smoothing: timestamps in seconds, persistence, hysteresis, quiet period."""

from __future__ import annotations

import numpy as np
import pytest

from detector.config import SmoothingConfig
from detector.smoothing import CameraSmoother
from detector.types import Detection, Transition
from streams.frame import Frame

# Absolute evidence (no baseline): the state machine's timing on its own. Keep-alive updates
# out of the way of the transitions these tests look at; they have their own.
CFG = SmoothingConfig(
    tau_s=1.0,
    close_ratio=0.8,
    min_persistence_s=10,
    quiet_s=30,
    baseline_tau_s=None,
    keepalive_s=10_000,
)


def run(scores: list[tuple[float, float]], cfg: SmoothingConfig = CFG) -> list[tuple[float, str]]:
    """Feed (ts, smoke score) pairs; return (ts, transition) of every update."""
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)
    out = []
    for ts, score in scores:
        out += [(u.ts, u.transition.value) for u in sm.update_scores(ts, {"smoke": score})]
    return out


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        # one odd frame never opens an event
        ([(0, 0.0), (60, 0.99), (120, 0.0), (180, 0.0)], []),
        # sustained for >= 10 s opens once, at the first frame past the persistence
        ([(0, 0.9), (5, 0.9), (10, 0.9), (15, 0.9)], [(10, "opened")]),
        # one frame a minute: the second frame above threshold opens it
        ([(0, 0.9), (60, 0.9), (120, 0.9)], [(60, "opened")]),
        # below threshold never opens
        ([(t, 0.45) for t in range(0, 100, 5)], []),
    ],
)
def test_opening(series: list[tuple[float, float]], expected: list[tuple[float, str]]) -> None:
    assert run(series) == expected


def test_hysteresis_keeps_event_open_between_close_and_open_threshold() -> None:
    series = [(t, 0.9) for t in range(0, 20, 5)] + [(t, 0.42) for t in range(20, 200, 5)]
    assert run(series) == [(10, "opened")]  # 0.42 >= 0.5 * 0.8: still active


def test_closes_after_quiet_period_below_close_threshold() -> None:
    series = [(t, 0.9) for t in range(0, 20, 5)] + [(t, 0.1) for t in range(20, 100, 5)]
    events = run(series)
    assert events[0] == (10, "opened")
    assert events[1][1] == "closed"
    # last frame at or above the close threshold is t=15; closing needs 30 quiet seconds
    assert events[1][0] == 45


def test_a_slow_camera_keeps_its_event_over_one_low_frame() -> None:
    """One frame a minute (a time-lapse, or interval_s: 60): the quiet period stretches to two
    frame intervals, so one low frame does not close the event, nor does the pipeline's expiry
    while the next frame is on its way."""
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, CFG)  # quiet_s 30
    got = []
    for i, score in enumerate([0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1]):
        assert sm.expire(i * 60 - 1) == []
        got += [(i, u.transition.value) for u in sm.update_scores(i * 60, {"smoke": score})]
    assert got == [(1, "opened"), (5, "closed")]  # last above at frame 3, then 2 minutes


def test_a_slow_camera_that_goes_silent_expires_after_two_intervals() -> None:
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, CFG)
    for i in range(3):
        sm.update_scores(i * 60, {"smoke": 0.9})
    assert sm.expire(120 + 119) == []
    assert [u.transition for u in sm.expire(120 + 120)] == [Transition.CLOSED]


def test_peak_updates_only_when_material() -> None:
    cfg = SmoothingConfig(
        tau_s=1.0, min_persistence_s=0, quiet_s=30, update_min_delta=0.1, baseline_tau_s=None
    )
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)
    kinds = []
    for ts, score in [(0, 0.6), (10, 0.62), (20, 0.65), (30, 0.75), (40, 0.74), (50, 0.9)]:
        kinds += [(u.transition, u.is_peak) for u in sm.update_scores(ts, {"smoke": score})]
    assert kinds == [
        (Transition.OPENED, True),
        (Transition.UPDATED, True),
        (Transition.UPDATED, True),
    ]


def test_same_settings_hold_at_any_frame_rate() -> None:
    fast = [(i * 0.04, 0.9) for i in range(0, 500)]  # 25 fps for 20 s
    assert run(fast)[0][0] == pytest.approx(10.0, abs=0.05)


def test_expire_closes_event_of_a_silent_camera() -> None:
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, CFG)
    for ts in (0, 5, 10):
        sm.update_scores(ts, {"smoke": 0.9})
    assert sm.expire(20) == []
    (closed,) = sm.expire(45)
    assert closed.transition is Transition.CLOSED and closed.started_at == 0


def test_baseline_ignores_a_tile_that_scores_high_all_day() -> None:
    cfg = SmoothingConfig(tau_s=1.0, min_persistence_s=10, quiet_s=30, baseline_tau_s=600)
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)
    image = np.zeros((4, 4, 3), np.uint8)
    fog = np.array([[0.8], [0.0]])  # tile 0 is fog all day
    opened = []
    for i in range(200):
        tiles = fog.copy()
        if i >= 150:
            tiles[1, 0] = 0.9  # smoke appears in tile 1
        det = Detection(
            Frame("cam", i * 10.0, i, image),
            {"smoke": float(tiles.max())},
            boxes=((0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0)),
            input_scores=tiles,
            tiles=2,
        )
        opened += [u.ts for u in sm.update(det) if u.transition is Transition.OPENED]
    assert opened == [1510.0]


def test_keep_alive_while_the_score_holds_without_a_new_peak() -> None:
    """A plume that holds steady sends an update every keepalive_s (no peak snapshot), none
    once it falls below the close threshold, then the close."""
    cfg = CFG.model_copy(update={"keepalive_s": 30})
    sm = CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)
    series = [(t, 0.9) for t in range(0, 125, 5)] + [(t, 0.1) for t in range(125, 200, 5)]
    got = [
        (u.ts, u.transition.value, u.is_peak)
        for ts, score in series
        for u in sm.update_scores(ts, {"smoke": score})
    ]
    assert got == [
        (10, "opened", True),
        (40, "updated", False),
        (70, "updated", False),
        (100, "updated", False),
        (150, "closed", False),  # last at or above the close threshold at 120
    ]
