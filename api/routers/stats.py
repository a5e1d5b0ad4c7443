"""Operator statistics per camera: events per day, share dismissed, time to decision.

Computed from the events table on request (and at each Prometheus scrape by
:class:`OperatorStatsCollector`); events are few, so reading a window's rows and taking medians
in Python is cheap and portable (SQLite has no median). "Time to decision" runs from the moment
the event was stored (``created_at``: when operators could first see it) to ``decided_at``.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from api.auth import AUTH_RESPONSES, RequireViewer
from api.deps import PipelineDep, StoreDep
from api.schemas.common import responses
from api.schemas.stats import CameraStats, DayCount, StatsOut
from service.metrics import PREFIX
from store.db import EventRow, EventStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/stats", tags=["statistics"], responses=AUTH_RESPONSES)

#: Window of the statistics exported in /metrics (days).
METRICS_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the statistics need of one event. Times are epoch seconds."""

    camera_id: str
    camera_name: str
    status: EventStatus
    started_at: float
    created_at: float
    decided_at: float | None


def read_facts(engine: Engine, since: float) -> list[EventFacts]:
    """Events that started at or after ``since`` (epoch s)."""
    query = select(
        EventRow.camera_id,
        EventRow.camera_name,
        EventRow.status,
        EventRow.started_at,
        EventRow.created_at,
        EventRow.decided_at,
    ).where(EventRow.started_at >= since)
    with engine.connect() as conn:
        return [EventFacts(*row) for row in conn.execute(query).all()]


def _days(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


@dataclass(frozen=True, slots=True)
class Verdicts:
    """Operators' decisions on a set of events."""

    confirmed: int
    dismissed: int
    open: int
    dismissed_share: float | None  # dismissed / decided; None before any decision
    median_decision_s: float | None


def verdicts(items: Iterable[EventFacts]) -> Verdicts:
    status: Counter[EventStatus] = Counter()
    waits = []
    for f in items:
        status[f.status] += 1
        if f.decided_at is not None and f.status != EventStatus.OPEN:
            waits.append(max(0.0, f.decided_at - f.created_at))
    confirmed, dismissed = status[EventStatus.CONFIRMED], status[EventStatus.DISMISSED]
    decided = confirmed + dismissed
    return Verdicts(
        confirmed=confirmed,
        dismissed=dismissed,
        open=status[EventStatus.OPEN],
        dismissed_share=dismissed / decided if decided else None,
        median_decision_s=statistics.median(waits) if waits else None,
    )


def camera_stats(
    camera_id: str, name: str, facts: Iterable[EventFacts], day_list: list[date], offset_s: float
) -> CameraStats:
    """Statistics of one camera's ``facts`` over the days of ``day_list``."""
    items = list(facts)
    per_day = Counter(datetime.fromtimestamp(f.started_at + offset_s, tz=UTC).date() for f in items)
    v = verdicts(items)
    return CameraStats(
        camera_id=camera_id,
        camera_name=name,
        events=len(items),
        events_per_day=len(items) / max(1, len(day_list)),
        per_day=[DayCount(day=d, events=per_day.get(d, 0)) for d in day_list],
        confirmed=v.confirmed,
        dismissed=v.dismissed,
        open=v.open,
        dismissed_share=v.dismissed_share,
        median_decision_s=v.median_decision_s,
    )


def compute_stats(
    facts: list[EventFacts], names: dict[str, str], now: float, days: int, offset_min: int = 0
) -> StatsOut:
    """Per-camera and total statistics of the ``days`` local days ending today.

    ``names``: camera id -> display name of the configured cameras (listed even without events).
    """
    offset_s = offset_min * 60.0
    today = datetime.fromtimestamp(now + offset_s, tz=UTC).date()
    day_list = _days(today - timedelta(days=days - 1), days)
    since = datetime(day_list[0].year, day_list[0].month, day_list[0].day, tzinfo=UTC).timestamp()
    since -= offset_s
    by_camera: dict[str, list[EventFacts]] = defaultdict(list)
    all_names = dict(names)
    inside = [f for f in facts if f.started_at >= since]
    for f in inside:
        by_camera[f.camera_id].append(f)
        all_names.setdefault(f.camera_id, f.camera_name)
    cameras = [
        camera_stats(cid, all_names[cid], by_camera.get(cid, []), day_list, offset_s)
        for cid in sorted(all_names)
    ]
    return StatsOut(
        since=datetime.fromtimestamp(since, tz=UTC),
        until=datetime.fromtimestamp(now, tz=UTC),
        days=days,
        utc_offset_min=offset_min,
        cameras=cameras,
        total=camera_stats("*", "all cameras", inside, day_list, offset_s),
    )


@router.get("", summary="Operator statistics per camera", responses=responses({}))
def get_stats(
    _user: RequireViewer,
    store: StoreDep,
    pipeline: PipelineDep,
    days: Annotated[int, Query(ge=1, le=366, description="Days in the window.")] = 14,
    utc_offset_min: Annotated[
        int, Query(ge=-840, le=840, description="Local time offset for day boundaries.")
    ] = 0,
) -> StatsOut:
    now = time.time()
    since = now - (days + 1) * 86400.0
    names = {v.config.id: v.config.display_name for v in pipeline.cameras()}
    return compute_stats(read_facts(store.engine, since), names, now, days, utc_offset_min)


class OperatorStatsCollector(Collector):
    """Exports the last :data:`METRICS_WINDOW_DAYS` days' statistics at each scrape."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._engine: Engine | None = None
        self._clock = clock

    def attach(self, engine: Engine) -> None:
        """Read from ``engine`` from now on (the app's lifespan opens it after registration)."""
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        if self._engine is None:
            return
        # The camera and batch metrics stay scrapeable while the database is unreachable.
        try:
            facts = read_facts(self._engine, self._clock() - METRICS_WINDOW_DAYS * 86400.0)
            totals = self._all_time(self._engine)
        except SQLAlchemyError as exc:
            log.warning("operator statistics skipped in /metrics: %s", type(exc).__name__)
            return
        yield from self._window(facts)
        yield from totals

    def _window(self, facts: list[EventFacts]) -> Iterator[Metric]:
        days = METRICS_WINDOW_DAYS
        grouped: dict[str, list[EventFacts]] = defaultdict(list)
        for f in facts:
            grouped[f.camera_id].append(f)
        per_day = GaugeMetricFamily(
            PREFIX + "operator_events_per_day",
            f"Events per day over the last {days} days.",
            labels=["camera"],
        )
        share = GaugeMetricFamily(
            PREFIX + "operator_dismissed_ratio",
            f"Share of decided events dismissed as false alarms, last {days} days.",
            labels=["camera"],
        )
        median = GaugeMetricFamily(
            PREFIX + "operator_decision_median_seconds",
            f"Median seconds from an event being stored to its decision, last {days} days.",
            labels=["camera"],
        )
        for cid, items in sorted(grouped.items()):
            v = verdicts(items)
            per_day.add_metric([cid], len(items) / days)
            if v.dismissed_share is not None:
                share.add_metric([cid], v.dismissed_share)
            if v.median_decision_s is not None:
                median.add_metric([cid], v.median_decision_s)
        yield per_day
        yield share
        yield median

    @staticmethod
    def _all_time(engine: Engine) -> list[Metric]:
        decisions = CounterMetricFamily(
            PREFIX + "operator_decisions",
            "Events confirmed or dismissed by operators, all time.",
            labels=["camera", "decision"],
        )
        undecided = GaugeMetricFamily(
            PREFIX + "operator_events_undecided",
            "Events waiting for an operator's decision.",
            labels=["camera"],
        )
        query = select(EventRow.camera_id, EventRow.status, func.count()).group_by(
            EventRow.camera_id, EventRow.status
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        for cid, status, count in rows:
            if status == EventStatus.OPEN:
                undecided.add_metric([cid], count)
            else:
                decisions.add_metric([cid, EventStatus(status).value], count)
        return [decisions, undecided]
