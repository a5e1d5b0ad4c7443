"""Judge throughput steps and summarise a ramp: pure functions over the workers' measurements.

A step *sustains* its N streams when every camera was analysed at least once and never went
longer than ``interval_s + gop_s`` without an analysis (analysis happens on keyframes, so one
GOP of slack), p95 latency from frame decode to score is at most ``MAX_P95_S``, and decoding kept
pace with the streams (at least ``MIN_PACE`` of the frames it should have decoded: a decoder
that falls behind lets the socket buffer grow, and its frames get older and older; checked for
cameras that decode every frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from benchmarks.throughput_worker import StepMeasure

MAX_P95_S = 2.0
MIN_PACE = 0.9
SYSTEMS = ("emberwatch", "naive")
JSON_NAMES = {"emberwatch": "emberwatch", "naive": "baseline"}


@dataclass(frozen=True, slots=True)
class StepResult:
    """One system at one N. Times in seconds, memory in MiB, CPU in cores (CPU s / wall s)."""

    system: str
    streams: int
    window_s: float
    cores: float
    rss_mb: float
    analysed_per_s: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    max_gap_s: float
    min_analyses: int
    pace: float
    sustained: bool
    reason: str = ""
    server_cores: float | None = None
    warmup_s: float = 0.0

    @property
    def cores_per_stream(self) -> float:
        return self.cores / self.streams


def _max_gap(times: Sequence[float], window_s: float) -> float:
    points = [0.0, *sorted(times), window_s]
    return max(b - a for a, b in pairwise(points))


def _pace(m: StepMeasure, fps: float) -> float:
    """Lowest share, over cameras decoding every frame, of the frames decoded to those sent.

    Cameras in keyframes-only mode decode only the keyframes they analyse, so their lag shows
    in the gaps and latencies instead.
    """
    shares = [
        decoded / (m.window_s * fps)
        for cam, decoded in m.decoded.items()
        if not m.keyframes_only.get(cam) and m.window_s > 0
    ]
    return min(shares, default=1.0)


def evaluate(
    m: StepMeasure, *, interval_s: float, gop_s: float, fps: float, server_cores: float | None
) -> StepResult:
    """Turn one worker's measurement into a judged step."""
    cams = list(m.decoded) or [f"cam{i:03d}" for i in range(m.streams)]
    counts = [len(m.analyses.get(c, [])) for c in cams]
    gap = max((_max_gap(m.analyses.get(c, []), m.window_s) for c in cams), default=m.window_s)
    lat = np.asarray(m.latencies_s, dtype=np.float64)
    p50 = float(np.percentile(lat, 50)) if lat.size else None
    p95 = float(np.percentile(lat, 95)) if lat.size else None
    pace = _pace(m, fps)
    reasons = []
    if min(counts, default=0) < 1:
        reasons.append(f"{sum(c == 0 for c in counts)} camera(s) never analysed")
    elif gap > interval_s + gop_s:
        reasons.append(f"a camera waited {gap:.1f} s between analyses")
    if p95 is not None and p95 > MAX_P95_S:
        reasons.append(f"p95 latency {p95:.2f} s")
    if pace < MIN_PACE:
        reasons.append(f"decoding fell behind ({pace:.0%} of frames)")
    return StepResult(
        system=m.system,
        streams=m.streams,
        window_s=m.window_s,
        cores=m.cpu_s / m.window_s,
        rss_mb=m.rss_mb,
        analysed_per_s=sum(counts) / m.window_s,
        latency_p50_s=p50,
        latency_p95_s=p95,
        max_gap_s=gap,
        min_analyses=min(counts, default=0),
        pace=pace,
        sustained=not reasons,
        reason="; ".join(reasons),
        server_cores=server_cores,
        warmup_s=m.warmup_s,
    )


def failed_step(system: str, streams: int, reason: str) -> StepResult:
    """A step whose worker could not run or report."""
    return StepResult(system, streams, 0.0, 0.0, 0.0, 0.0, None, None, 0.0, 0, 0.0, False, reason)


def _best(steps: Sequence[StepResult]) -> StepResult | None:
    """The step at the largest sustained N; failing that, the smallest N measured."""
    ok = [s for s in steps if s.sustained]
    if ok:
        return max(ok, key=lambda s: s.streams)
    measured = [s for s in steps if s.window_s > 0]
    return min(measured, key=lambda s: s.streams) if measured else None


def system_summary(steps: Sequence[StepResult]) -> dict[str, Any]:
    """The required keys for one system, taken at its largest sustained N."""
    best = _best(steps)
    ok = [s for s in steps if s.sustained]
    return {
        "max_streams": max((s.streams for s in ok), default=0),
        "cores_per_100_streams": None if best is None else 100 * best.cores_per_stream,
        "latency_p95_s": None if best is None else best.latency_p95_s,
        "latency_p50_s": None if best is None else best.latency_p50_s,
        "rss_mb_per_stream": None if best is None else best.rss_mb / best.streams,
        "rss_mb": None if best is None else best.rss_mb,
        "analysed_per_s": None if best is None else best.analysed_per_s,
        "measured_at_streams": None if best is None else best.streams,
        "rss_mb_marginal_per_stream": _marginal_rss(steps),
        "steps": [asdict(s) | {"cores_per_stream": s.cores_per_stream} for s in steps],
    }


def _marginal_rss(steps: Sequence[StepResult]) -> float | None:
    """Memory one more stream costs: RSS slope between the smallest and largest N measured.

    RSS per stream at small N is dominated by fixed costs (model, onnxruntime's arena); this
    says what each stream adds.
    """
    measured = sorted((s for s in steps if s.window_s > 0), key=lambda s: s.streams)
    if len(measured) < 2 or measured[-1].streams == measured[0].streams:
        return None
    lo, hi = measured[0], measured[-1]
    return (hi.rss_mb - lo.rss_mb) / (hi.streams - lo.streams)


def ratio_cores_per_stream(steps: Sequence[StepResult]) -> tuple[float | None, int | None]:
    """Baseline cores per stream / Emberwatch cores per stream, at the same N.

    Taken at the largest N both sustained; failing that, the smallest N both measured.
    """
    by = {
        sys: {s.streams: s for s in steps if s.system == sys and s.window_s > 0} for sys in SYSTEMS
    }
    common = sorted(set(by["emberwatch"]) & set(by["naive"]))
    both_ok = [n for n in common if by["emberwatch"][n].sustained and by["naive"][n].sustained]
    n = both_ok[-1] if both_ok else (common[0] if common else None)
    if n is None:
        return None, None
    ember = by["emberwatch"][n].cores_per_stream
    return (by["naive"][n].cores_per_stream / ember if ember > 0 else None), n


def summarize(steps: Sequence[StepResult], settings: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` document."""
    ratio, at = ratio_cores_per_stream(steps)
    doc: dict[str, Any] = {
        JSON_NAMES[sys]: system_summary([s for s in steps if s.system == sys]) for sys in SYSTEMS
    }
    server = [s.server_cores / s.streams for s in steps if s.server_cores is not None]
    doc |= {
        "ratio_cores_per_stream": ratio,
        "ratio_at_streams": at,
        "rtsp_server_cores_per_stream": float(np.median(server)) if server else None,
        "settings": settings,
    }
    return doc


def summary_text(doc: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lines = []
    for key in ("emberwatch", "baseline"):
        s = doc[key]
        cores = s["cores_per_100_streams"]
        if cores is None:
            lines.append(f"{key:>10}: no step measured")
            continue
        lines.append(
            f"{key:>10}: max {s['max_streams']} streams; {cores:.2f} cores per 100 streams, "
            f"p95 {s['latency_p95_s'] or 0:.2f} s, {s['rss_mb_per_stream']:.1f} MiB per stream "
            f"(at N={s['measured_at_streams']})"
        )
    ratio = doc["ratio_cores_per_stream"]
    if ratio is not None:
        lines.append(f"baseline / emberwatch CPU per stream: {ratio:.1f}x")
    return "\n".join(lines)
