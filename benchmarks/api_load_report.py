"""The figures of ``emberwatch bench api``: per-endpoint rate and latency, analysis rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """Answers of one endpoint during the load phase. Latencies in milliseconds."""

    path: str
    requests: int  # answered with 200
    errors: int  # any other status, or no answer
    per_second: float
    p50_ms: float | None  # None without a single answer
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class StreamStats:
    """The live event streams: one per viewer, held open for the whole load phase."""

    connected: int
    errors: int
    messages: int  # ``event:`` messages received over all streams
    connect: EndpointStats  # time to the response headers


@dataclass(frozen=True, slots=True)
class LoadReport:
    viewers: int
    cameras: int
    seconds: float
    endpoints: tuple[EndpointStats, ...]
    stream: StreamStats
    idle_analysis_fps: float
    load_analysis_fps: float

    @property
    def analysis_ratio(self) -> float | None:
        """Analysis rate under load as a fraction of idle (1.0: unchanged)."""
        if self.idle_analysis_fps <= 0:
            return None
        return self.load_analysis_fps / self.idle_analysis_fps

    @property
    def total_per_second(self) -> float:
        return sum(e.per_second for e in self.endpoints)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            **asdict(self),
            "analysis_ratio": self.analysis_ratio,
            "total_per_second": self.total_per_second,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def endpoint_stats(
    path: str, seconds: Sequence[float], errors: int, wall_s: float
) -> EndpointStats:
    """Summarise latencies given in seconds over a phase of ``wall_s`` seconds."""
    p50, p99 = percentile(seconds, 0.50), percentile(seconds, 0.99)
    return EndpointStats(
        path=path,
        requests=len(seconds),
        errors=errors,
        per_second=len(seconds) / wall_s if wall_s > 0 else 0.0,
        p50_ms=None if p50 is None else p50 * 1000,
        p99_ms=None if p99 is None else p99 * 1000,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(report: LoadReport) -> str:
    """A Markdown table of the report, and the analysis rate under load against idle."""
    rows = [
        f"{report.viewers} viewers, {report.cameras} cameras, {report.seconds:.0f} s idle "
        f"then {report.seconds:.0f} s under load",
        "",
        "| endpoint | requests | errors | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in report.endpoints:
        rows.append(
            f"| `GET {e.path}` | {e.requests} | {e.errors} | {e.per_second:.1f} "
            f"| {_ms(e.p50_ms)} | {_ms(e.p99_ms)} |"
        )
    rows.append(f"| all | | | {report.total_per_second:.1f} | | |")
    s = report.stream
    rows.append(
        f"| `GET {s.connect.path}` (open) | {s.connected} | {s.errors} | "
        f"{s.messages} messages | {_ms(s.connect.p50_ms)} | {_ms(s.connect.p99_ms)} |"
    )
    ratio = report.analysis_ratio
    rows += [
        "",
        f"Analysis rate: {report.idle_analysis_fps:.2f} frames/s idle, "
        f"{report.load_analysis_fps:.2f} under load"
        + ("" if ratio is None else f" ({ratio * 100:.0f} % of idle)"),
    ]
    return "\n".join(rows)
