"""PNG plots of a clip benchmark: score timelines per clip and a side-by-side model comparison.

matplotlib is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.clips import ClipRun
from benchmarks.report import events_of

Json = dict[str, Any]


CLASS_COLOURS = {"smoke": "#7a6a58", "flame": "#e4572e"}
PLOT_DPI = 80


@dataclass(frozen=True, slots=True)
class ModelRun:
    """One model's run of one clip, for plotting."""

    model: str
    run: ClipRun
    thresholds: Mapping[str, float]


def _timeline_axis(ax: Any, item: ModelRun, minutes: bool) -> None:
    run, plan = item.run, item.run.plan
    scale = 60.0 if minutes else 1.0
    t = [f.t_s / scale for f in run.frames]
    for i, cls in enumerate(run.frames[0].scores if run.frames else ()):
        colour = CLASS_COLOURS.get(cls, f"C{i}")
        ax.plot(
            t,
            [f.scores[cls] for f in run.frames],
            color=colour,
            lw=0.8,
            alpha=0.45,
            label=f"{cls} raw",
        )
        ax.plot(
            t, [f.smoothed[cls] for f in run.frames], color=colour, lw=2.0, label=f"{cls} smoothed"
        )
        ax.axhline(item.thresholds.get(cls, 0.5), color=colour, lw=0.8, ls=":")
    end = plan.real_s / scale
    for event in events_of(run):
        closed = event["closed_s"] / scale if event["closed_s"] is not None else end
        ax.axvspan(
            event["opened_s"] / scale,
            closed,
            color=CLASS_COLOURS.get(event["cls"], "C2"),
            alpha=0.18,
            lw=0,
        )
    if plan.ignition_real_s is not None:
        ax.axvline(plan.ignition_real_s / scale, color="red", ls="--", lw=1.2, label="ignition")
    if plan.looped:
        for k in range(1, plan.played_frames // plan.pass_frames + 1):
            ax.axvline(k * plan.pass_real_s / scale, color="0.6", lw=0.6, ls="-.")
    ax.set_xlim(0, end)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("score")
    ax.set_title(f"{plan.row.file} ({plan.row.label.value}) · {item.model}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)


def plot_timeline(path: Path, items: Sequence[ModelRun]) -> None:
    """Raw and smoothed score per class over real time, one panel per model.

    Dashed red: ignition; dotted: class thresholds; shaded: event spans; dash-dot: loop passes.
    """
    from matplotlib.figure import Figure

    minutes = max(i.run.plan.real_s for i in items) > 600
    fig = Figure(figsize=(10, 0.6 + 2.4 * len(items)), layout="constrained")
    axes = fig.subplots(len(items), 1, sharex=True, squeeze=False)[:, 0]
    for ax, item in zip(axes, items, strict=True):
        _timeline_axis(ax, item, minutes)
    axes[-1].set_xlabel("real time (min)" if minutes else "real time (s)")
    fig.savefig(path, dpi=PLOT_DPI, metadata={"Software": None})


def plot_compare(path: Path, results: Json) -> None:
    """Side-by-side bars of the main aggregate metrics of every model."""
    from matplotlib.figure import Figure

    models = results["models"]
    names = [m["model"] for m in models]
    panels = [
        ("event recall", "recall", 1.0),
        ("TTD median (min)", "ttd_median_s", 1 / 60),
        ("false events / camera-hour", "false_events_per_camera_hour", 1.0),
        ("frame F1", "frame_f1", 1.0),
    ]
    fig = Figure(figsize=(3 * len(panels), 3.2), layout="constrained")
    for ax, (title, key, factor) in zip(fig.subplots(1, len(panels)), panels, strict=True):
        values = [m["aggregate"][key] for m in models]
        scaled = [None if v is None else v * factor for v in values]
        bars = ax.bar(names, [v or 0.0 for v in scaled], color=[f"C{i}" for i in range(len(names))])
        ax.bar_label(bars, ["n/a" if v is None else f"{v:.2f}" for v in scaled], fontsize=7)
        top = max((v for v in scaled if v is not None), default=0.0)
        ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.savefig(path, dpi=PLOT_DPI, metadata={"Software": None})
