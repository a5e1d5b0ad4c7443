"""Metrics of the service's own machinery: supervised threads and the recorder's backlog.

Read at scrape time from the :class:`streams.supervise.Supervisor` and the recorder's queue.
Alert on ``emberwatch_threads_stalled > 0``, on a rising ``emberwatch_thread_errors_total``
and on ``emberwatch_recorder_dropped_total`` rising (the recorder cannot keep up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.record_queue import Backlog
from streams.supervise import Supervisor

PREFIX = "emberwatch_"


class RuntimeCollector(Collector):
    """Thread errors and heartbeats, and the recorder's queue; nothing until :meth:`watch`."""

    def __init__(self) -> None:
        self._watched: tuple[Supervisor, Callable[[], Backlog]] | None = None

    def watch(self, supervisor: Supervisor, backlog: Callable[[], Backlog]) -> None:
        """Read these from now on (each start of the app brings its own)."""
        self._watched = (supervisor, backlog)

    def collect(self) -> Iterator[Metric]:
        if self._watched is None:
            return
        supervisor, backlog = self._watched
        yield from self._threads(supervisor)
        yield from self._recorder(backlog())

    @staticmethod
    def _threads(supervisor: Supervisor) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            PREFIX + "thread_errors",
            "Exceptions caught at a supervised thread's loop, per kind of thread (decoder, "
            "scorer, recorder, alert_sender); the thread carried on.",
            labels=["thread"],
        )
        for kind, count in sorted(supervisor.errors().items()):
            errors.add_metric([kind], count)
        yield errors
        age = GaugeMetricFamily(
            PREFIX + "thread_heartbeat_age_seconds",
            "Seconds since the supervised thread's last heartbeat.",
            labels=["thread", "kind"],
        )
        statuses = supervisor.statuses()
        for status in statuses:
            age.add_metric([status.name, status.kind], status.age_s)
        yield age
        yield GaugeMetricFamily(
            PREFIX + "threads_stalled",
            "Supervised threads without a heartbeat for too long.",
            value=float(sum(status.stalled for status in statuses)),
        )

    @staticmethod
    def _recorder(backlog: Backlog) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            PREFIX + "recorder_queue_depth",
            "Event transitions waiting for the recorder.",
            value=float(backlog.depth),
        )
        yield GaugeMetricFamily(
            PREFIX + "recorder_queue_capacity",
            "Transitions the recorder's queue holds before plain score points are dropped.",
            value=float(backlog.capacity),
        )
        yield GaugeMetricFamily(
            PREFIX + "recorder_oldest_age_seconds",
            "How long the oldest waiting transition has waited (0 when none waits).",
            value=backlog.oldest_age_s or 0.0,
        )
        yield CounterMetricFamily(
            PREFIX + "recorder_dropped",
            "Plain score points (updates without a new peak) dropped because the recorder was "
            "behind; opened, closed and peak transitions are never dropped.",
            value=backlog.dropped,
        )
