"""The clips table (CLIPS.csv) and playing one clip through the production detector and smoothing.

CLIPS.csv columns (others are ignored): ``file`` (relative to the csv), ``label`` (smoke, flame,
smoke+flame, negative, smoke-unlabelled-onset), ``ignition_s`` (seconds of *clip* time at which
smoke or flame first exists; empty when unknown or negative), ``seconds_per_frame_real`` (the
real-world seconds one frame stands for). A bad row is reported with its line number and skipped.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from benchmarks.metrics import (
    ClipOutcome,
    ClipTruth,
    EventOpen,
    FrameScore,
    Label,
    clip_outcome,
    frame_label,
)
from detector.config import SmoothingConfig
from detector.model import OnnxModel
from detector.night import Light
from detector.smoothing import CameraSmoother
from detector.types import Box, Detection, EventUpdate
from streams.decode import StreamError, open_stream, read_clip, stream_fps
from streams.frame import Frame

REQUIRED_COLUMNS = ("file", "label", "ignition_s", "seconds_per_frame_real")

# A clip whose frames stand for at least this many times their playback interval is a
# time-lapse (or a sequence of stills): it is never looped, because repeating it would replay
# hours of scene change as if it happened again. Ordinary video (one real frame per played frame)
# is looped up to --min-clip-seconds, as if the camera kept watching the scene.
TIMELAPSE_SPEEDUP = 2.0


class ClipsCsvError(Exception):
    """The clips table cannot be used at all (unreadable, or a required column is missing)."""


@dataclass(frozen=True, slots=True)
class ClipRow:
    """One valid row of CLIPS.csv. ``line`` is the 1-based line where the row starts."""

    file: str
    path: Path
    label: Label
    ignition_s: float | None
    seconds_per_frame_real: float
    line: int


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that was skipped, and why."""

    line: int
    file: str
    message: str


@dataclass(frozen=True, slots=True)
class ClipsTable:
    rows: tuple[ClipRow, ...]
    problems: tuple[RowProblem, ...]


def _number(text: str, column: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{column} {text!r} must be {'> 0' if positive else '>= 0'}")
    return value


def _parse_row(fields: dict[str, str], base: Path, line: int) -> ClipRow:
    """One row from its column -> text mapping; ValueError says what is wrong."""
    file = fields["file"].strip()
    if not file:
        raise ValueError("file is empty")
    try:
        label = Label(fields["label"].strip())
    except ValueError:
        allowed = ", ".join(x.value for x in Label)
        raise ValueError(f"label {fields['label']!r} is not one of {allowed}") from None
    text = fields["ignition_s"].strip()
    ignition = _number(text, "ignition_s", positive=False) if text else None
    if label.onset_known and ignition is None:
        raise ValueError(f"label {label} needs ignition_s (use smoke-unlabelled-onset if unknown)")
    if not label.onset_known and ignition is not None:
        raise ValueError(f"label {label} must have an empty ignition_s")
    spf = _number(fields["seconds_per_frame_real"].strip(), "seconds_per_frame_real", positive=True)
    return ClipRow(file, base / file, label, ignition, spf, line)


def read_clips_csv(path: Path) -> ClipsTable:
    """Parse CLIPS.csv; valid rows in file order, bad rows as problems with their line numbers.

    Raises:
        ClipsCsvError: the file cannot be read or lacks a required column.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClipsCsvError(f"{path}: cannot read: {exc}") from exc
    reader = csv.reader(text.splitlines(keepends=True))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ClipsCsvError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    rows: list[ClipRow] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    end = reader.line_num
    for record in reader:
        line, end = end + 1, reader.line_num  # a quoted field may span several lines
        if not any(cell.strip() for cell in record):
            continue
        fields = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)}
        try:
            row = _parse_row(fields, path.parent, line)
            if row.file in seen:
                raise ValueError(f"{row.file} is listed twice")
        except ValueError as exc:
            problems.append(RowProblem(line, fields["file"].strip(), str(exc)))
            continue
        seen.add(row.file)
        rows.append(row)
    return ClipsTable(tuple(rows), tuple(problems))


@dataclass(frozen=True, slots=True)
class ClipPlan:
    """How a clip is played: its file frame rate, frames per pass, and whether it loops."""

    row: ClipRow
    fps: float
    pass_frames: int
    timelapse: bool
    played_frames: int  # frame positions played, all passes together

    @property
    def spf(self) -> float:
        return self.row.seconds_per_frame_real

    @property
    def looped(self) -> bool:
        return self.played_frames > self.pass_frames

    @property
    def real_s(self) -> float:
        """Real seconds the clip is watched for (all passes)."""
        return self.played_frames * self.spf

    @property
    def pass_real_s(self) -> float:
        return self.pass_frames * self.spf

    @property
    def ignition_real_s(self) -> float | None:
        """``ignition_s`` of clip time as real seconds: its frame position x seconds per frame."""
        ignition = self.row.ignition_s
        return None if ignition is None else ignition * self.fps * self.spf

    @property
    def truth(self) -> ClipTruth:
        return ClipTruth(self.row.label, self.ignition_real_s)


def plan_clip(row: ClipRow, min_clip_seconds: float) -> ClipPlan:
    """Read the clip's frame rate and frame count (container header, else a packet count).

    Raises:
        StreamError: the file is missing, unreadable or has no frame rate.
    """
    with open_stream(str(row.path)) as container:
        stream = container.streams.video[0]
        fps = stream_fps(stream)
        if not fps:
            raise StreamError(str(row.path), "frame rate unknown (use a container such as MP4)")
        frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
    if frames <= 0:
        raise StreamError(str(row.path), "no frames")
    timelapse = row.seconds_per_frame_real >= TIMELAPSE_SPEEDUP / fps
    # Same rule as read_clip: a short clip is replayed until min_seconds of real time.
    wanted = math.ceil(min_clip_seconds / row.seconds_per_frame_real - 1e-9)
    played = frames if timelapse else max(frames, wanted)
    return ClipPlan(row, fps, frames, timelapse, played)


@dataclass(frozen=True, slots=True)
class PlaySettings:
    """Sampling and smoothing of a benchmark run; ``batch`` frames are scored per model call."""

    interval_s: float
    min_clip_seconds: float
    smoothing: SmoothingConfig
    batch: int = 8


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    cls: str
    transition: str  # opened | updated | closed
    score: float  # smoothed score at the transition


@dataclass(frozen=True, slots=True, eq=False)
class Inputs:
    """Every network input of a frame (tiled models): boxes, scores ``[N, C]``, fixed tiles."""

    boxes: tuple[Box, ...]
    scores: np.ndarray
    tiles: int

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Inputs):
            return NotImplemented
        same = self.boxes == other.boxes and self.tiles == other.tiles
        return same and np.array_equal(self.scores, other.scores)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One analysed frame. Times are real seconds; ``pass_t_s`` is the time within its pass.

    ``inputs`` (tiled models) lets the smoothing be replayed per region without the model.
    """

    index: int
    t_s: float
    pass_t_s: float
    scores: dict[str, float]
    smoothed: dict[str, float]
    transitions: tuple[TransitionRecord, ...]
    label: bool | None
    inputs: Inputs | None = None

    def replay(self, smoother: CameraSmoother) -> list[EventUpdate]:
        """Feed this frame to ``smoother`` as the benchmark did (per region where known)."""
        if self.inputs is None:
            return smoother.update_scores(self.t_s, self.scores)
        i = self.inputs
        return smoother.observe(self.t_s, i.boxes, i.scores, i.tiles)


@dataclass(frozen=True, slots=True)
class StageSeconds:
    """Seconds spent per stage over a clip (wall clock; the only non-deterministic output)."""

    decode: float = 0.0
    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0
    smoothing: float = 0.0

    def __add__(self, other: StageSeconds) -> StageSeconds:
        return StageSeconds(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def total(self) -> float:
        return sum(self.as_dict().values())


@dataclass(frozen=True, slots=True)
class ClipRun:
    plan: ClipPlan
    frames: tuple[FrameRecord, ...]
    times: StageSeconds

    def opens(self) -> list[EventOpen]:
        """Events opened during the clip, in time order."""
        return [
            EventOpen(t.cls, f.t_s)
            for f in self.frames
            for t in f.transitions
            if t.transition == "opened"
        ]

    def frame_scores(self) -> list[FrameScore]:
        return [FrameScore(f.scores, f.label) for f in self.frames]

    def outcome(self) -> ClipOutcome:
        """The clip's event metrics (detected, time to detection, false events)."""
        return clip_outcome(self.plan.truth, self.opens(), self.frame_scores(), self.plan.real_s)


def _timed_chunks(frames: Iterator[Frame], size: int, clock: list[float]) -> Iterator[list[Frame]]:
    """Group frames into lists of ``size``, adding the seconds spent decoding to ``clock[0]``."""
    while True:
        start = time.perf_counter()
        chunk = [f for _, f in zip(range(size), frames, strict=False)]
        clock[0] += time.perf_counter() - start
        if not chunk:
            return
        yield chunk


def _record(
    plan: ClipPlan, det: Detection, smoothed: dict[str, float], updates: list[EventUpdate]
) -> FrameRecord:
    pass_t = (det.frame.index % plan.pass_frames) * plan.spf
    return FrameRecord(
        index=det.frame.index,
        t_s=det.ts,
        pass_t_s=pass_t,
        scores={c: float(s) for c, s in det.scores.items()},
        smoothed=smoothed,
        transitions=tuple(TransitionRecord(u.cls, u.transition.value, u.score) for u in updates),
        label=frame_label(plan.truth, pass_t),
        inputs=None
        if det.input_scores is None
        else Inputs(det.boxes, det.input_scores.astype(np.float32), det.tiles),
    )


def play_clip(model: OnnxModel, plan: ClipPlan, settings: PlaySettings) -> ClipRun:
    """Play one clip through read_clip -> model (in batches) -> smoothing, frame by frame in order.

    Batching only groups the model calls: each detection is smoothed in frame order exactly as
    if it had been scored alone. The camera id is the clip's file name.

    Raises:
        StreamError: the clip cannot be read (frames already scored are discarded).
    """
    row = plan.row
    smoother = CameraSmoother(
        row.file,
        model.classes,
        model.thresholds(),
        settings.smoothing,
        night=model.night_rule(Light()),  # a clip has no position: its images tell
    )
    source = read_clip(
        row.path,
        camera_id=row.file,
        interval_s=settings.interval_s,
        seconds_per_frame=plan.spf,
        min_seconds=0.0 if plan.timelapse else settings.min_clip_seconds,
    )
    decode = [0.0]
    times = StageSeconds()
    records: list[FrameRecord] = []
    for chunk in _timed_chunks(source, settings.batch, decode):
        detections, stage = model.score(chunk)
        start = time.perf_counter()
        steps = []
        for det in detections:
            updates = smoother.update(det)
            steps.append((det, {c: smoother.smoothed(c) for c in model.classes}, updates))
        smoothing = time.perf_counter() - start
        records.extend(_record(plan, *step) for step in steps)
        times += StageSeconds(0.0, stage.preprocess, stage.inference, stage.postprocess, smoothing)
    return ClipRun(plan, tuple(records), times + StageSeconds(decode=decode[0]))
