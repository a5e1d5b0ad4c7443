"""What a node of the cluster needs to know: where the bus is, who it is, lease timing."""

from __future__ import annotations

import socket

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Names on the bus, shared by workers and API replicas.
LEASES = "ember-leases"  # camera id -> the worker that holds it (time to live: the lease)
WORKERS = "ember-workers"  # worker name -> its capacity (time to live: its heartbeat)
ROLES = "ember-roles"  # "recorder" -> the API replica that records (time to live)
CAMERAS = "ember-cameras"  # camera id -> its configuration (JSON), written by the API
MUTES = "ember-mutes"  # camera id -> its muted regions (JSON), written by the API
STATUS = "ember-status"  # camera id -> its stream and analysis state, written by its holder
EVENTS_STREAM = "EMBER_EVENTS"
EVENTS_SUBJECT = "ember.events"  # ember.events.<camera id>
SNAPSHOTS = "ember-snapshots"  # object store: one JPEG per transition that carries a frame
RECORDER = "emberwatch-recorder"  # the API's durable consumer of the events stream
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ClusterSettings(BaseModel):
    """One node's view of the cluster (a worker or an API replica)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bus: str = Field(description="NATS server URL, nats://HOST:PORT (several: comma-separated).")
    name: str = Field(
        default_factory=lambda: socket.gethostname().split(".")[0] or "node",
        pattern=_NAME,
        description="This node's name, unique in the cluster (default: the host name).",
    )
    capacity: float = Field(
        1.0, gt=0, le=1000, description="Relative share of cameras: a GPU worker declares more."
    )
    lease_ttl_s: float = Field(
        10.0,
        ge=0.5,
        le=600,
        description="A lease not renewed for this long expires and its camera moves; with the "
        "renewal period and a stream open it bounds a hand-over (10 s: well within 30 s).",
    )
    renew_s: float | None = Field(
        None, gt=0, description="How often leases are renewed and the plan re-read (ttl / 5)."
    )
    duplicate_window_s: float = Field(
        600.0, ge=1, description="The events stream drops a message id seen this recently."
    )

    @field_validator("bus")
    @classmethod
    def _scheme(cls, value: str) -> str:
        for url in value.split(","):
            if not url.strip().startswith(("nats://", "tls://")):
                raise ValueError("must be nats://HOST:PORT (or tls://), comma-separated")
        return value

    @model_validator(mode="after")
    def _renew_within_ttl(self) -> ClusterSettings:
        if self.renew_s is not None and self.renew_s * 2 > self.lease_ttl_s:
            raise ValueError("renew_s must be at most half of lease_ttl_s")
        return self

    @property
    def tick_s(self) -> float:
        """The renewal period: five chances to renew before a lease runs out."""
        return self.renew_s if self.renew_s is not None else self.lease_ttl_s / 5

    @property
    def servers(self) -> list[str]:
        return [url.strip() for url in self.bus.split(",")]
