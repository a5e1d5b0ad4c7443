"""Events per region: a look-alike never hides another fire; a dismissal mutes, never deafens."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synth import SMOKE, SynthSpec, render_frame
from detector.config import DEMO_MODEL, SmoothingConfig
from detector.evidence import fold
from detector.model import OnnxModel
from detector.regions import mute_level
from detector.smoothing import CameraSmoother
from detector.types import Box, EventUpdate, LookAlike, Mute, Reason, Transition
from streams.frame import Frame

# A 2 x 2 view: cells 0 1 on top, 2 3 below.
CELLS: tuple[Box, ...] = (
    (0.0, 0.0, 0.5, 0.5),
    (0.5, 0.0, 1.0, 0.5),
    (0.0, 0.5, 0.5, 1.0),
    (0.5, 0.5, 1.0, 1.0),
)
ABSOLUTE = SmoothingConfig(tau_s=1.0, min_persistence_s=10, quiet_s=60, baseline_tau_s=None)


def smoother(cfg: SmoothingConfig = ABSOLUTE) -> CameraSmoother:
    return CameraSmoother("cam", ("smoke",), {"smoke": 0.5}, cfg)


def feed(sm: CameraSmoother, ts: float, cells: dict[int, float]) -> list[EventUpdate]:
    scores = np.zeros((len(CELLS), 1))
    for cell, score in cells.items():
        scores[cell, 0] = score
    return sm.observe(ts, CELLS, scores, len(CELLS))


def opened(updates: list[EventUpdate]) -> list[EventUpdate]:
    return [u for u in updates if u.transition is Transition.OPENED]


def test_a_haze_band_from_the_first_frame_does_not_hide_a_later_plume() -> None:
    """One event per camera and class would keep the haze's event open and never announce the
    plume: each region has its own event."""
    sm = smoother()
    got = []
    for i in range(80):
        got += feed(sm, i * 10.0, {0: 0.8, 3: 0.9 if i >= 60 else 0.05})
    events = opened(got)
    assert [(u.ts, u.box) for u in events] == [(10.0, CELLS[0]), (610.0, CELLS[3])]
    assert events[0].track != events[1].track
    assert sm.active() == ["smoke"]


def test_change_relative_evidence_ignores_a_steady_haze_and_opens_on_new_smoke() -> None:
    sm = smoother(SmoothingConfig(tau_s=1.0, min_persistence_s=10, quiet_s=60))  # default baseline
    got = []
    for i in range(80):
        got += feed(sm, i * 10.0, {0: 0.8, 3: 0.9 if i >= 60 else 0.05})
    assert [(u.ts, u.box) for u in opened(got)] == [(610.0, CELLS[3])]


def test_smoke_under_a_haze_band_stands_out_against_the_band() -> None:
    sm = smoother(SmoothingConfig(tau_s=1.0, min_persistence_s=10, quiet_s=60))
    got = []
    for i in range(80):
        got += feed(sm, i * 10.0, {0: 0.97 if i >= 60 else 0.8})
    assert [(u.ts, u.box) for u in opened(got)] == [(610.0, CELLS[0])]


def test_dismissing_the_haze_closes_it_and_the_later_plume_still_opens() -> None:
    sm = smoother()
    for i in range(10):
        feed(sm, i * 10.0, {0: 0.8})
    assert sm.expire(95.0) == []  # frames keep coming: nothing expires
    closes = sm.set_mutes([Mute(7, "smoke", CELLS[0], 0.8, 95.0)], now=95.0)
    assert [(u.transition, u.reason, u.box) for u in closes] == [
        (Transition.CLOSED, Reason.DISMISSED, CELLS[0])
    ]
    got = []
    for i in range(10, 40):
        got += feed(sm, i * 10.0, {0: 0.8, 3: 0.9 if i >= 20 else 0.0})
    events = opened(got)
    assert [(u.box, u.reason, u.parent_event) for u in events] == [(CELLS[3], Reason.NONE, None)]


def test_a_dismissed_plume_that_spreads_re_alerts_linked_to_the_dismissal() -> None:
    sm = smoother()
    for i in range(5):
        feed(sm, i * 10.0, {2: 0.6})
    sm.set_mutes([Mute(7, "smoke", CELLS[2], 0.6, 45.0)], now=45.0)
    got = []
    for i in range(5, 30):
        got += feed(sm, i * 10.0, {2: 0.6, 3: 0.7 if i >= 15 else 0.0})
    events = opened(got)
    assert [(u.box, u.reason, u.parent_event) for u in events] == [
        (CELLS[3], Reason.GREW_SINCE_DISMISSED, 7)
    ]


def test_a_muted_region_alerts_again_only_clearly_above_its_muted_level() -> None:
    sm = smoother()
    sm.set_mutes([Mute(7, "smoke", CELLS[1], 0.6, 0.0)], now=0.0)
    quiet = [u for i in range(30) for u in feed(sm, i * 10.0, {1: 0.7})]
    assert opened(quiet) == []  # above the class threshold, not above 0.6 + 0.15
    loud = [u for i in range(30, 40) for u in feed(sm, i * 10.0, {1: 0.9})]
    assert [(u.reason, u.parent_event) for u in opened(loud)] == [(Reason.ROSE_SINCE_DISMISSED, 7)]


def test_a_mute_fades_by_itself() -> None:
    mute = Mute(1, "smoke", CELLS[0], 0.8, 1000.0)
    assert mute_level(mute, 1000.0, 3600) == pytest.approx(0.8)
    assert mute_level(mute, 1000.0 + 7200, 3600) == pytest.approx(0.2)
    sm = smoother()
    sm.set_mutes([mute], now=1000.0)
    late = [u for i in range(10) for u in feed(sm, 1000.0 + 4 * 3600 + i * 10.0, {0: 0.7})]
    assert [u.reason for u in opened(late)] == [Reason.ROSE_SINCE_DISMISSED]


def test_lifting_a_mute_restores_the_ordinary_threshold() -> None:
    sm = smoother()
    sm.set_mutes([Mute(7, "smoke", CELLS[1], 0.9, 0.0)], now=0.0)
    assert opened([u for i in range(5) for u in feed(sm, i * 10.0, {1: 0.7})]) == []
    sm.set_mutes([], now=50.0)
    assert len(opened([u for i in range(5, 10) for u in feed(sm, i * 10.0, {1: 0.7})])) == 1


def test_an_open_event_that_grows_closes_and_opens_a_linked_event() -> None:
    cfg = ABSOLUTE.model_copy(update={"realert_min_s": 120.0})
    sm = smoother(cfg)
    got = []
    for i in range(40):
        got += feed(sm, i * 10.0, {0: 0.9, 1: 0.9 if i >= 20 else 0.0})
    first, second = opened(got)
    assert first.box == CELLS[0] and first.reason is Reason.NONE
    assert second.reason is Reason.GREW and second.parent_track == first.track
    assert second.box == (0.0, 0.0, 1.0, 0.5)
    continued = [u for u in got if u.transition is Transition.CLOSED]
    assert [(u.track, u.reason) for u in continued] == [(first.track, Reason.CONTINUED)]


def test_a_neighbouring_tile_of_a_young_event_joins_it_without_a_re_alert() -> None:
    sm = smoother()  # realert_min_s 300: the plume crossing a tile edge a minute later is no news
    got = []
    for i in range(20):
        got += feed(sm, i * 10.0, {0: 0.9, 1: 0.9 if i >= 6 else 0.0})
    assert len(opened(got)) == 1
    assert sm.active() == ["smoke"]


def test_an_open_event_whose_evidence_jumps_re_alerts() -> None:
    cfg = ABSOLUTE.model_copy(update={"realert_min_s": 60.0, "rise_delta": 0.3})
    sm = smoother(cfg)
    got = []
    for i in range(30):
        got += feed(sm, i * 10.0, {2: 0.55 if i < 15 else 0.95})
    first, second = opened(got)
    assert second.reason is Reason.ROSE and second.parent_track == first.track


def test_focus_crops_raise_the_cell_they_overlap_most() -> None:
    boxes = (*CELLS, (0.45, 0.6, 0.7, 0.8))  # mostly in cell 3
    scores = np.array([[0.1], [0.1], [0.1], [0.2], [0.9]])
    assert fold(CELLS, boxes, scores)[:, 0].tolist() == pytest.approx([0.1, 0.1, 0.1, 0.9])


def _frame(ts: float, plume: bool, background: np.ndarray) -> Frame:
    image = background.copy()
    image[20:100, 20:150] = SMOKE  # a grey-brown band the colour rule scores all along
    if plume:
        image[200:260, 340:400] = SMOKE
    return Frame("cam", ts, int(ts), image)


def test_two_events_on_one_camera_through_the_model() -> None:
    """The synthetic view through the demo colour-rule model and the service's smoother: a band
    that scores from the first frame (top left) and a plume that appears later (bottom right)."""
    model = OnnxModel(DEMO_MODEL)
    background = render_frame(SynthSpec(width=480, height=288, plume_start_s=None), 0.0)
    sm = CameraSmoother("cam", model.classes, model.thresholds(), ABSOLUTE)
    events = []
    for i in range(60):
        (det,) = model.score([_frame(i * 10.0, i >= 30, background)])[0]
        events += opened(sm.update(det))
    assert len(events) == 2
    band, plume = (u.box for u in events)
    assert band is not None and plume is not None
    assert band[0] < 0.5 and band[1] < 0.5  # top left
    assert plume[2] > 0.5 and plume[3] > 0.5  # bottom right


def test_a_tile_that_scores_high_for_long_without_an_event_is_a_look_alike() -> None:
    sm = smoother(SmoothingConfig(tau_s=1.0, min_persistence_s=10, quiet_s=60, look_alike_s=600))
    for i in range(50):
        feed(sm, i * 10.0, {0: 0.8, 3: 0.9 if i >= 45 else 0.0})
    assert sm.look_alikes() == ()  # 490 s so far
    for i in range(50, 70):
        feed(sm, i * 10.0, {0: 0.8, 3: 0.9})
    assert sm.look_alikes() == (LookAlike("smoke", CELLS[0]),)  # the plume holds an event
