"""Bus counters of a node (worker or API replica), in the registry that node serves.

Names start ``emberwatch_bus_``: leases taken, renewed, lost and let go of, messages published
and retried, deliveries seen again (redeliveries), duplicates skipped, transitions held back
until their episode's opening was recorded, and the bus lag (how old a transition was when it
was recorded, or how many wait to be published).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "emberwatch_bus_"
# From a few ms (the recorder keeping up) to an hour (it was down and catches up).
_LAG_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0, 3600.0)


class BusCounters:
    """The counters of one node; registered in ``registry`` (each app owns its own)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(PREFIX + name, doc, registry=registry)

        self.disconnects = counter("disconnects", "Connections to the bus lost.")
        self.reconnects = counter("reconnects", "Connections to the bus re-established.")
        self.leases_acquired = counter("leases_acquired", "Camera leases taken.")
        self.leases_renewed = counter("leases_renewed", "Camera lease renewals.")
        self.leases_lost = counter("leases_lost", "Leases that ran out or were taken over.")
        self.leases_released = counter("leases_released", "Leases let go of (a rebalance).")
        self.published = counter("published", "Transitions accepted by the events stream.")
        self.publish_retries = counter("publish_retries", "Publishes tried again.")
        self.recorded = counter("recorded", "Transitions recorded in the database.")
        self.redeliveries = counter("redeliveries", "Messages delivered more than once.")
        self.duplicates = counter("duplicates", "Messages recorded before, skipped.")
        self.held_back = counter(
            "held_back", "Transitions that came before their episode's opening, held back."
        )
        self.held = Gauge(PREFIX + "cameras_held", "Cameras this node holds.", registry=registry)
        self.pending = Gauge(
            PREFIX + "pending", "Transitions waiting to be published.", registry=registry
        )
        self.lag = Histogram(
            PREFIX + "lag_seconds",
            "From a transition's publication to its commit in the database.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
