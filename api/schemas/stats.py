"""Operator statistics per camera: events per day, share dismissed, time to decision."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class DayCount(BaseModel):
    day: date
    events: int


class CameraStats(BaseModel):
    camera_id: str
    camera_name: str
    events: int = Field(description="Events that started in the window.")
    events_per_day: float = Field(description="events / days of the window.")
    per_day: list[DayCount] = Field(description="One entry per day of the window, oldest first.")
    confirmed: int
    dismissed: int
    open: int = Field(description="Not decided yet.")
    dismissed_share: float | None = Field(
        description="dismissed / (confirmed + dismissed); null before any decision."
    )
    median_decision_s: float | None = Field(
        description="Median seconds from the event being stored to the operator's decision."
    )


class StatsOut(BaseModel):
    since: datetime
    until: datetime
    days: int
    utc_offset_min: int = Field(description="Day boundaries are local midnight at this offset.")
    cameras: list[CameraStats]
    total: CameraStats = Field(description="All cameras together (camera_id '*').")
