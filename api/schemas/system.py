"""Health: what ``/healthz`` answers, with the reasons for a degraded service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HealthReasonOut(BaseModel):
    code: Literal[
        "storage_failing",
        "storage_low",
        "thread_stalled",
        "thread_failing",
        "recorder_backlog",
        "cameras_failing",
    ] = Field(description="What is wrong, for monitoring rules and the console.")
    detail: str = Field(description="Which thread, how many cameras or transitions (English).")


class RecorderOut(BaseModel):
    depth: int = Field(description="Event transitions waiting to be stored.")
    capacity: int = Field(description="Transitions queued before plain score points give way.")
    dropped: int = Field(description="Plain score points dropped so far (never an event's "
                         "opening, closing or peak).")  # fmt: skip
    oldest_age_s: float | None = Field(description="How long the oldest waiting one waited.")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "error"] = Field(
        description='"degraded" (HTTP 200): the service runs, but something in `reasons` is '
        'wrong; "error" (HTTP 503): the database is unreachable.'
    )
    reasons: list[HealthReasonOut] = Field(
        default_factory=list, description="Why the service is degraded; empty when ok."
    )
    recorder: RecorderOut | None = Field(
        None, description="The backlog of event transitions waiting to be stored."
    )
    database: str = Field(description='"ok", or what is wrong with it.')
    cameras: dict[str, int] = Field(description="Number of cameras in each stream state.")
    storage: Literal["ok", "low", "failing"] = Field(
        "ok",
        description='Event and snapshot writes: "failing" since a write failed (disk full, '
        'read-only...) until one succeeds again, "low" under 5 % free space (at most 100 MiB).',
    )
    free_bytes: int | None = Field(
        None, description="Free space left for the database and snapshots (the least of both)."
    )
