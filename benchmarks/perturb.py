"""Stability under small changes: the same clips re-encoded and with a gain change.

A decision that flips when a clip is re-encoded at a lower quality, or when the camera's gain
moves by a tenth, sits on a threshold by chance. ``bench clips --perturb`` plays every clip also
as each :data:`PERTURBATIONS` copy and compares the events each copy opens with the events of the
original run:

- an event of the original with an event of the same class in the copy within one analysis step
  (the larger of the analysis interval and the clip's seconds per frame) is **stable**;
- one whose nearest same-class event in the copy is further away has **moved**;
- one with no same-class event left in the copy has **vanished**; an event of the copy left over
  after matching has **appeared**.

The **flip rate** is (moved + vanished + appeared) over the original's events, summed over every
clip and copy (with no original event it is the number of appeared events, or 0).

Two x264 encodes of the same frames are not always byte-identical, so a copy is made once and
kept, named by its clip's content and the perturbation (:func:`copy_path`): every model of a
run plays the same copies, and so does a later run given the same folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from benchmarks.clips import ClipPlan, ClipRun, PlaySettings, play_clip
from benchmarks.metrics import ClipOutcome, EventOpen
from benchmarks.report import table
from detector.model import OnnxModel

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Perturbation:
    """A copy of a clip: x264 at ``crf`` (lower is better quality), pixel values times ``gain``."""

    name: str
    crf: int
    gain: float = 1.0


#: The copies ``--perturb`` plays. The gain copies are encoded near-losslessly (crf 12) so that
#: they change the gain and nothing else.
PERTURBATIONS = (
    Perturbation("crf28", 28),
    Perturbation("gain+10%", 12, 1.1),
    Perturbation("gain-10%", 12, 0.9),
)


@dataclass(frozen=True, slots=True)
class Flips:
    """Events of an original run against those of a perturbed copy."""

    events: int = 0  # events of the original
    stable: int = 0
    moved: int = 0
    vanished: int = 0
    appeared: int = 0

    @property
    def flips(self) -> int:
        return self.moved + self.vanished + self.appeared

    def __add__(self, other: Flips) -> Flips:
        return Flips(
            self.events + other.events,
            self.stable + other.stable,
            self.moved + other.moved,
            self.vanished + other.vanished,
            self.appeared + other.appeared,
        )

    @property
    def rate(self) -> float:
        """Flips per original event (the flips themselves when there was none)."""
        return self.flips / self.events if self.events else float(self.flips)


def compare(base: Sequence[EventOpen], other: Sequence[EventOpen], step_s: float) -> Flips:
    """Match each original event to the nearest unmatched same-class event of the copy."""
    left = list(other)
    stable = moved = vanished = 0
    for event in base:
        same = [o for o in left if o.cls == event.cls]
        if not same:
            vanished += 1
            continue
        nearest = min(same, key=lambda o: abs(o.ts - event.ts))
        left.remove(nearest)
        if abs(nearest.ts - event.ts) <= step_s + 1e-9:
            stable += 1
        else:
            moved += 1
    return Flips(len(base), stable, moved, vanished, len(left))


def write_copy(src: Path, dst: Path, perturbation: Perturbation) -> Path:
    """Re-encode ``src`` as H.264 at the perturbation's quality and gain, same size and rate.

    Raises:
        av.FFmpegError: the clip cannot be read or the copy cannot be written.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(src)) as reader, av.open(str(dst), "w") as writer:
        stream = reader.streams.video[0]
        rate = stream.average_rate or stream.base_rate or 25
        out = writer.add_stream("libx264", rate=rate)
        out.width, out.height = stream.codec_context.width, stream.codec_context.height
        out.width -= out.width % 2  # 4:2:0 needs even sizes
        out.height -= out.height % 2
        out.pix_fmt = "yuv420p"
        out.options = {"crf": str(perturbation.crf), "preset": "veryfast"}
        for frame in reader.decode(stream):
            image = frame.to_ndarray(format="rgb24")[: out.height, : out.width]
            if perturbation.gain != 1.0:
                image = np.clip(image * perturbation.gain, 0, 255).astype(np.uint8)
            writer.mux(out.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        writer.mux(out.encode(None))
    return dst


def verdict_changed(base: ClipOutcome, other: ClipOutcome, step_s: float) -> bool:
    """True when a copy changes what the clip's row says: found or not, the time to detection
    by more than one step, or the number of false events."""
    if base.detected != other.detected or base.false_events != other.false_events:
        return True
    if base.ttd_s is None or other.ttd_s is None:
        return False
    return abs(base.ttd_s - other.ttd_s) > step_s + 1e-9


class Played(Protocol):
    """What the flip count needs of a played clip (a :class:`ClipRun`)."""

    def opens(self) -> list[EventOpen]: ...

    def outcome(self) -> ClipOutcome: ...


def flip_entry(
    base: Sequence[Played], copies: Mapping[str, Sequence[Played]], steps: Sequence[float]
) -> Json:
    """results.json ``perturb`` entry: flips and changed verdicts per copy and in total."""
    rows: list[Json] = []
    total, changed_total = Flips(), 0
    for name, runs in copies.items():
        pairs = list(zip(base, runs, steps, strict=True))
        flips = sum((compare(b.opens(), o.opens(), s) for b, o, s in pairs), Flips())
        changed = sum(verdict_changed(b.outcome(), o.outcome(), s) for b, o, s in pairs)
        total, changed_total = total + flips, changed_total + changed
        rows.append(_row(name, flips, changed, len(pairs)))
    return {"copies": rows, "total": _row("all", total, changed_total, len(base) * len(copies))}


def _row(name: str, flips: Flips, changed: int, clips: int) -> Json:
    return {
        "copy": name,
        **asdict(flips),
        "flip_rate": round(flips.rate, 6),
        "clips": clips,
        "verdicts_changed": changed,
    }


def perturb_lines(m: Json) -> list[str]:
    """summary.md section of one model's flip counts (none without ``--perturb``)."""
    entry = m.get("perturb")
    if not entry:
        return []
    keys = ("events", "stable", "moved", "vanished", "appeared")
    rows = [
        [
            r["copy"],
            *(str(r[k]) for k in keys),
            f"{100 * r['flip_rate']:.1f} %",
            f"{r['verdicts_changed']}/{r['clips']}",
        ]
        for r in [*entry["copies"], entry["total"]]
    ]
    return [
        "",
        f"## Stability: `{m['model']}` on re-encoded and re-gained copies",
        "",
        "Events of the original run against each copy's (same class, within one analysis step);",
        "a clip's verdict changed when it was found or missed, its time to detection moved by",
        "more than one step, or its false events changed.",
        "",
        *table(["copy", *keys, "flip rate", "clip verdicts changed"], rows),
    ]


def copy_path(src: Path, perturbation: Perturbation, folder: Path) -> Path:
    """Where the copy of ``src`` is kept under ``folder``: named by the clip's content and the
    perturbation's quality and gain."""
    with src.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    digest.update(f"crf={perturbation.crf} gain={perturbation.gain}".encode())
    name = f"{src.stem}-{digest.hexdigest()[:12]}.mp4"
    return folder / perturbation.name.replace("%", "pct") / name


def copy_plan(plan: ClipPlan, perturbation: Perturbation, folder: Path) -> ClipPlan:
    """The plan of a clip's perturbed copy: the one kept under ``folder``, written first when
    there is none (whole or not at all)."""
    row = plan.row
    dst = copy_path(row.path, perturbation, folder)
    if not dst.is_file():
        part = dst.with_name(f".{dst.stem}.part.mp4")
        write_copy(row.path, part, perturbation)
        os.replace(part, dst)
    return replace(plan, row=replace(row, path=dst))


def perturb_model(
    model: OnnxModel, runs: Sequence[ClipRun], settings: PlaySettings, folder: Path
) -> Json:
    """Play every copy of each clip of ``runs`` (kept under ``folder``) and compare its events
    with the original's."""
    copies: dict[str, list[ClipRun]] = {}
    for p in PERTURBATIONS:
        plans = [copy_plan(r.plan, p, folder) for r in runs]
        copies[p.name] = [play_clip(model, plan, settings) for plan in plans]
    steps = [max(settings.interval_s, r.plan.spf) for r in runs]
    return flip_entry(runs, copies, steps)
