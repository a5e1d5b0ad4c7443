"""A held camera's state as its worker publishes it, and as the API shows it.

Workers write one entry per camera they hold on every renewal, in a bucket with the lease time
to live: a camera whose worker died has no status until its next holder writes one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from service.pipeline_types import CameraView
from streams.config import CameraConfig
from streams.state import SourceStats, StreamState


class CameraStatus(BaseModel):
    """What ``/api/cameras`` shows of a camera analysed on a worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holder: str
    since: float  # epoch seconds when its holder took the lease
    state: StreamState
    url: str  # redacted
    decoded: int = 0
    sampled: int = 0
    dropped: int = 0
    reconnects: int = 0
    last_frame_ts: float | None = None
    last_error: str | None = None
    analysed: int = 0
    lag_s: float | None = None
    scores: dict[str, float] = {}
    behind: bool = False
    analysis_age_s: float | None = None
    thresholds: dict[str, float] = {}
    model: str | None = None

    @classmethod
    def of(cls, view: CameraView, holder: str, since: float) -> CameraStatus:
        stats = view.stats
        return cls(
            holder=holder,
            since=since,
            state=stats.state,
            url=stats.url,
            decoded=stats.decoded,
            sampled=stats.sampled,
            dropped=stats.dropped,
            reconnects=stats.reconnects,
            last_frame_ts=stats.last_frame_ts,
            last_error=stats.last_error,
            analysed=view.analysed,
            lag_s=view.lag_s,
            scores=dict(view.scores),
            behind=view.behind,
            analysis_age_s=view.analysis_age_s,
            thresholds=dict(view.thresholds),
            model=view.model,
        )

    def view(self, config: CameraConfig) -> CameraView:
        stats = SourceStats(
            config.id,
            self.state,
            self.url,
            decoded=self.decoded,
            sampled=self.sampled,
            dropped=self.dropped,
            reconnects=self.reconnects,
            last_frame_ts=self.last_frame_ts,
            last_error=self.last_error,
        )
        return CameraView(
            config,
            stats,
            analysed=self.analysed,
            lag_s=self.lag_s,
            scores=self.scores,
            behind=self.behind,
            analysis_age_s=self.analysis_age_s,
            thresholds=self.thresholds,
            model=self.model,
        )
